// GradientBuckets in a world of one: how parameters are cut into buckets, gradients living in
// the buckets across steps, the same values as a plain backward pass, and the misuse it
// refuses. The averaging over ranks is tested under mpiexec (tests/mpi/gradient_buckets_test).
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/gradient_buckets.h"

namespace {

// Parameters a (4 floats), b (100), c (3), d (2 000), registered in that order.
pic::NamedTensors four_parameters() {
  torch::manual_seed(5);
  return {{"a", torch::randn({4}).requires_grad_(true)},
          {"b", torch::randn({10, 10}).requires_grad_(true)},
          {"c", torch::randn({3}).requires_grad_(true)},
          {"d", torch::randn({2000}).requires_grad_(true)}};
}

torch::Tensor loss_of(const pic::NamedTensors& p) {
  return p[0].second.pow(2).sum() + p[1].second.sin().sum() * p[2].second.sum() +
         p[3].second.pow(3).mean();
}

}  // namespace

TEST_CASE("GradientBuckets cuts parameters into buckets in reverse registration order",
          "[gradient_buckets]") {
  const auto local = pic::make_local_communicator();
  const pic::NamedTensors params = four_parameters();
  pic::GradientBucketOptions options;
  options.bucket_bytes = 420;  // c + b = 412 bytes fit, a does not join them; d is alone
  pic::GradientBuckets buckets(params, *local, options);
  REQUIRE(buckets.num_buckets() == 3);
  CHECK(buckets.bucket_parameter_names(0) == std::vector<std::string>{"d"});
  CHECK(buckets.bucket_bytes(0) == 8000);  // larger than the bucket size: a bucket of its own
  CHECK(buckets.bucket_parameter_names(1) == std::vector<std::string>{"c", "b"});
  CHECK(buckets.bucket_parameter_names(2) == std::vector<std::string>{"a"});

  options.bucket_bytes = int64_t{25} << 20;
  pic::GradientBuckets one(four_parameters(), *local, options);
  CHECK(one.num_buckets() == 1);
}

TEST_CASE("GradientBuckets gives a plain backward pass's gradients, in place, step after step",
          "[gradient_buckets]") {
  const auto local = pic::make_local_communicator();
  pic::NamedTensors ref = four_parameters();
  const pic::NamedTensors params = four_parameters();
  pic::GradientBucketOptions options;
  options.bucket_bytes = 420;
  pic::GradientBuckets buckets(params, *local, options);
  std::vector<const void*> homes;
  for (const auto& [name, p] : params) homes.push_back(p.grad().data_ptr());

  for (int step = 0; step < 3; ++step) {
    for (auto& [name, p] : ref) {
      if (p.grad().defined()) p.mutable_grad().zero_();
    }
    loss_of(ref).backward();
    buckets.zero_grad();
    loss_of(params).backward();
    CHECK(buckets.buckets_started_during_backward() == 3);
    buckets.finish();
    for (size_t k = 0; k < params.size(); ++k) {
      INFO("step " << step << ", parameter " << params[k].first);
      CHECK(torch::equal(params[k].second.grad(), ref[k].second.grad()));
      CHECK(params[k].second.grad().data_ptr() == homes[k]);
    }
  }
}

TEST_CASE("GradientBuckets leaves a parameter without gradient at zero and starts late",
          "[gradient_buckets]") {
  const auto local = pic::make_local_communicator();
  const pic::NamedTensors params = four_parameters();
  pic::GradientBucketOptions options;
  options.bucket_bytes = 420;
  pic::GradientBuckets buckets(params, *local, options);
  buckets.zero_grad();
  // d (bucket 0) gets no gradient: the agreed order holds every bucket back until finish().
  (params[0].second.pow(2).sum() + params[1].second.sum() * params[2].second.sum()).backward();
  CHECK(buckets.buckets_started_during_backward() == 0);
  buckets.finish();
  CHECK(torch::equal(params[3].second.grad(), torch::zeros({2000})));
  CHECK(torch::equal(params[0].second.grad(), 2 * params[0].second.detach()));
}

TEST_CASE("GradientBuckets without overlap starts nothing during backward", "[gradient_buckets]") {
  const auto local = pic::make_local_communicator();
  const pic::NamedTensors params = four_parameters();
  pic::GradientBucketOptions options;
  options.bucket_bytes = 420;
  options.overlap = false;
  pic::GradientBuckets buckets(params, *local, options);
  buckets.zero_grad();
  loss_of(params).backward();
  CHECK(buckets.buckets_started_during_backward() == 0);
  buckets.finish();
  CHECK(torch::equal(params[0].second.grad(), 2 * params[0].second.detach()));
}

TEST_CASE("GradientBuckets refuses misuse", "[gradient_buckets]") {
  const auto local = pic::make_local_communicator();
  pic::GradientBucketOptions options;
  options.bucket_bytes = 0;
  CHECK_THROWS_WITH(pic::GradientBuckets(four_parameters(), *local, options),
                    Catch::Contains("bucket size must be positive"));
  CHECK_THROWS_WITH(pic::GradientBuckets({{"w", torch::zeros({3}, torch::kFloat64)
                                                    .requires_grad_(true)}},
                                         *local),
                    Catch::Contains("'w' must be a contiguous float32 leaf"));

  const pic::NamedTensors params = four_parameters();
  pic::GradientBuckets buckets(params, *local);
  CHECK_THROWS_WITH(buckets.finish(), Catch::Contains("finish() without zero_grad()"));
  buckets.zero_grad();
  CHECK_THROWS_WITH(buckets.zero_grad(), Catch::Contains("zero_grad() again"));
  loss_of(params).backward();
  // A second backward pass in the same step would add to gradients already being reduced.
  CHECK_THROWS_WITH(loss_of(params).backward(), Catch::Contains("accumulated twice"));
  buckets.finish();
}
