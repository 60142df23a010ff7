// ReferenceFile: datasets, attributes and errors that name the file and the object.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include "data/parity_check.h"
#include "data/reference_file.h"

TEST_CASE("ReferenceFile reads datasets, attributes and group listings", "[reference_file]") {
  const std::string path = std::string(PIC_TESTDATA_DIR) + "/resnet18_mlp.h5";
  const pic::ReferenceFile file(path);
  CHECK(file.read_string_attribute("/", "arch") == "resnet18");
  CHECK(file.read_double_attribute("/", "width") == 0.25);
  CHECK(file.read_int_attribute("/", "num_instances") == 16);
  CHECK(file.has_attribute("/", "loss"));
  CHECK(!file.has_attribute("/", "small_stem"));
  CHECK(file.exists("grad/sim_matrix"));
  CHECK(!file.exists("grad/no_such"));
  CHECK(!file.exists("no_group/no_such"));
  CHECK(file.list("/") == std::vector<std::string>{"after_two_steps", "eval_features", "grad",
                                                   "init", "train_labels", "train_logits", "x",
                                                   "x_small", "y_idx"});
  CHECK(file.list("grad").size() == 68);

  const torch::Tensor x = file.read_tensor("x");
  CHECK(x.scalar_type() == torch::kFloat);
  CHECK(x.sizes() == torch::IntArrayRef({4, 1, 3, 64, 64}));
  const torch::Tensor ids = file.read_tensor("y_idx");
  CHECK(ids.scalar_type() == torch::kLong);
  CHECK(torch::equal(ids, torch::tensor({0, 3, 6, 9}, torch::kLong)));
  CHECK(file.read_tensor("after_two_steps/encoder.bn1.num_batches_tracked").item<int64_t>() == 6);
}

TEST_CASE("ReferenceFile errors name the file and the object", "[reference_file]") {
  CHECK_THROWS_WITH(pic::ReferenceFile("/nonexistent/ref.h5"),
                    Catch::Contains("/nonexistent/ref.h5"));
  const pic::ReferenceFile file(std::string(PIC_TESTDATA_DIR) + "/heads.h5");
  CHECK_THROWS_WITH(file.read_tensor("pic/nothing"),
                    Catch::Contains("pic/nothing") && Catch::Contains("heads.h5"));
  CHECK_THROWS_WITH(file.read_double_attribute("pic", "nothing"), Catch::Contains("nothing"));
  CHECK_THROWS_AS(file.read_string_attribute("pic", "temperature"), std::runtime_error);
}

TEST_CASE("compare_tensors: normwise relative error, exact integers, shape mismatches",
          "[reference_file]") {
  auto c = pic::compare_tensors("a", torch::tensor({1.0f, 2.0f}), torch::tensor({1.0f, 4.0f}), 0.6);
  CHECK(c.max_abs_error == 2.0);
  CHECK(c.rel_error == 0.5);
  CHECK(c.passed);
  CHECK(!pic::compare_tensors("a", torch::tensor({1.0f}), torch::tensor({1.1f}), 1e-5).passed);
  auto i = pic::compare_tensors("i", torch::tensor({1, 2}, torch::kLong),
                                torch::tensor({1, 3}, torch::kLong), 1.0);
  CHECK(i.exact);
  CHECK(!i.passed);
  auto s = pic::compare_tensors("s", torch::zeros({2, 3}), torch::zeros({3, 2}), 1.0);
  CHECK(!s.passed);
  CHECK_THAT(s.problem, Catch::Contains("[2, 3]"));
  CHECK(!pic::compare_tensors("n", torch::tensor({NAN}), torch::tensor({1.0f}), 1.0).passed);
}
