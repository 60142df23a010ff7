// GradientBuckets under a real mpiexec (1, 2 and 3 ranks): gradients averaged bucket by
// bucket during backward must equal a plain backward pass followed by a sum over ranks, for
// a ResNet whose synchronised BatchNorm issues its own blocking collectives in the middle of
// backward, and with one parameter that only rank 0 uses (so ranks see gradients arrive in
// different orders and numbers).
#include <cstdio>
#include <stdexcept>
#include <string>

#include "comm/mpi_communicator.h"
#include "core/batch_norm.h"
#include "core/gradient_buckets.h"
#include "core/resnet.h"
#include "tensor_checks.h"

namespace {

using pic::test::expect_close;

void expect(bool condition, const std::string& what) {
  if (!condition) throw std::runtime_error("check failed: " + what);
}

pic::ResNet tiny_resnet(pic::Communicator& comm) {
  pic::ResNetConfig config;
  config.arch = "resnet18";
  config.width = 0.125;
  config.small_stem = true;
  config.feature_dim = 8;
  torch::manual_seed(31);
  pic::ResNet net(config);
  pic::synchronise_batch_norm(*net, &comm);
  net->train();
  return net;
}

// The encoder's parameters plus `extra`, which only rank 0's loss uses.
pic::NamedTensors parameters_of(pic::ResNet& net, const torch::Tensor& extra) {
  pic::NamedTensors named;
  for (const auto& item : net->named_parameters()) named.emplace_back(item.key(), item.value());
  named.emplace_back("extra", extra);
  return named;
}

torch::Tensor loss_of(pic::ResNet& net, const torch::Tensor& extra, const torch::Tensor& images,
                      int rank) {
  torch::Tensor loss = net->forward(images).pow(2).sum();
  if (rank == 0) loss = loss + (extra * extra).sum();
  return loss;
}

// Three SGD steps of the same model twice: plain backward + explicit per-tensor sums, and
// GradientBuckets; the averaged gradients must agree at every step.
void check_steps(pic::Communicator& comm, const pic::GradientBucketOptions& options,
                 bool expect_all_started_in_backward) {
  const int W = comm.world_size(), r = comm.rank();
  pic::ResNet ref = tiny_resnet(comm);
  pic::ResNet net = tiny_resnet(comm);
  torch::Tensor ref_extra = torch::linspace(-1, 1, 300).requires_grad_(true);
  torch::Tensor extra = ref_extra.detach().clone().requires_grad_(true);
  pic::NamedTensors ref_params = parameters_of(ref, ref_extra);
  pic::NamedTensors params = parameters_of(net, extra);
  pic::GradientBuckets buckets(params, comm, options);
  const std::string where = "bucket " + std::to_string(options.bucket_bytes) + " B" +
                            (options.overlap ? "" : " (after backward)");
  expect(buckets.num_buckets() >= (options.bucket_bytes < 4096 ? 10 : 1),
         where + ": " + std::to_string(buckets.num_buckets()) + " buckets");

  const void* first_grad_memory = params.front().second.grad().data_ptr();
  for (int step = 0; step < 3; ++step) {
    torch::manual_seed(100 * step + r);  // every rank its own images
    const torch::Tensor images = torch::randn({3, 3, 8, 8});

    for (auto& [name, p] : ref_params) {
      if (p.grad().defined()) p.mutable_grad().zero_();
    }
    loss_of(ref, ref_extra, images, r).backward();
    buckets.zero_grad();
    loss_of(net, extra, images, r).backward();
    const int64_t started = buckets.buckets_started_during_backward();
    buckets.finish();

    const std::string at = where + ", step " + std::to_string(step);
    // Rank 0 gets its last gradient, "extra" (bucket 0), during backward; the others never
    // do, so nothing can start before finish() there: the agreed order holds them back.
    if (!options.overlap) {
      expect(started == 0, at + ": no bucket may start during backward without overlap");
    } else if (expect_all_started_in_backward) {
      expect(started == (r == 0 ? buckets.num_buckets() : 0),
             at + ": " + std::to_string(started) + " of " +
                 std::to_string(buckets.num_buckets()) + " buckets started during backward");
    }
    for (size_t k = 0; k < params.size(); ++k) {
      torch::Tensor want = ref_params[k].second.grad().defined()
                               ? ref_params[k].second.grad().clone()
                               : torch::zeros_like(ref_params[k].second);
      comm.all_reduce_sum(want);
      want.div_(W);
      expect_close(params[k].second.grad(), want, 1e-6, at + ", gradient of " + params[k].first);
    }
    expect(params.front().second.grad().data_ptr() == first_grad_memory,
           at + ": gradients must stay views into their bucket");

    // The same update on both, from the checked gradients: the models stay identical, so
    // each step compares one reduction, not rounding (MPI may add 3 ranks' values in another
    // order for another message size) compounded over steps.
    torch::NoGradGuard no_grad;
    for (size_t k = 0; k < params.size(); ++k) {
      params[k].second.sub_(params[k].second.grad(), 0.1);
      ref_params[k].second.sub_(params[k].second.grad(), 0.1);
    }
  }
}

void check_when_everyone_uses_everything(pic::Communicator& comm) {
  pic::ResNet net = tiny_resnet(comm);
  pic::NamedTensors params;
  for (const auto& item : net->named_parameters()) params.emplace_back(item.key(), item.value());
  pic::GradientBucketOptions options;
  options.bucket_bytes = 2048;
  pic::GradientBuckets buckets(params, comm, options);
  torch::manual_seed(7 + comm.rank());
  buckets.zero_grad();
  net->forward(torch::randn({2, 3, 8, 8})).sum().backward();
  const int64_t started = buckets.buckets_started_during_backward();
  buckets.finish();
  // The last gradient of the pass completes the last bucket: all start during backward.
  expect(started == buckets.num_buckets(),
         std::to_string(started) + " of " + std::to_string(buckets.num_buckets()) +
             " buckets started during backward when every rank uses every parameter");
}

int run_checks(pic::Communicator& comm) {
  torch::set_num_threads(1);
  for (int64_t bytes : {int64_t{2048}, int64_t{64} << 10, int64_t{25} << 20}) {
    pic::GradientBucketOptions options;
    options.bucket_bytes = bytes;
    check_steps(comm, options, true);
  }
  pic::GradientBucketOptions after_backward;
  after_backward.bucket_bytes = 4096;
  after_backward.overlap = false;
  check_steps(comm, after_backward, false);
  check_when_everyone_uses_everything(comm);
  comm.barrier();
  if (comm.is_root()) std::printf("OK: %d ranks\n", comm.world_size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return pic::run_mpi_main(argc, argv, run_checks); }
