// Encoder + PIC head + SGD against the original (resnet18_mlp.h5) and against the
// reimplementation in tests/testdata/make_parity_file.py (resnet50d_small.h5: Bottleneck,
// `_d` stem and shortcuts, small stem, linear head, two large crops and odd feature maps).
// The comparison itself is run_pic_parity, the same code pic-parity runs.
#include <torch/torch.h>

#include <hdf5.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "data/pic_parity_check.h"

namespace {

void require_parity(const std::string& file, size_t num_params, size_t num_buffers) {
  torch::set_num_threads(1);
  const pic::ParityReport report = pic::run_pic_parity(std::string(PIC_TESTDATA_DIR) + "/" + file);
  std::ostringstream table;
  report.print(table);
  INFO(table.str());
  // eval_features, train_logits, train_labels, loss, loss_after_one_step, every gradient,
  // every parameter and buffer after two steps.
  CHECK(report.checks().size() == 5 + num_params + num_params + num_buffers);
  CHECK(report.num_failed() == 0);
  for (const char* name : {"eval_features", "train_logits", "train_labels", "loss",
                           "loss_after_one_step", "grad/sim_matrix", "after_two_steps/sim_matrix",
                           "after_two_steps/encoder.bn1.num_batches_tracked",
                           "after_two_steps/encoder.layer4.1.bn2.running_var"}) {
    const pic::TensorCheck* check = report.find(name);
    REQUIRE(check != nullptr);
    CHECK(check->passed);
  }
  WARN(file << ": worst normwise relative error " << report.worst_rel_error() << " (grad "
            << report.worst_rel_error("grad/") << ", after two steps "
            << report.worst_rel_error("after_two_steps/") << ")");
}

}  // namespace

TEST_CASE("resnet18 + MLP head + PIC + two SGD steps match the original", "[parity]") {
  require_parity("resnet18_mlp.h5", 68, 63);
}

TEST_CASE("resnet50_d, small stem, linear head matches the Python reimplementation", "[parity]") {
  require_parity("resnet50d_small.h5", 168, 165);
}

TEST_CASE("the parity check fails on a file whose numbers do not fit the model", "[parity]") {
  torch::set_num_threads(1);
  // A copy of resnet50d_small.h5 with another temperature: logits, loss, gradients and the
  // updated parameters must then all disagree.
  const std::string copy = "/tmp/pic_parity_tampered_" + std::to_string(::getpid()) + ".h5";
  {
    std::ifstream in(std::string(PIC_TESTDATA_DIR) + "/resnet50d_small.h5", std::ios::binary);
    std::ofstream out(copy, std::ios::binary);
    out << in.rdbuf();
  }
  {
    hid_t file = H5Fopen(copy.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(file >= 0);
    hid_t attribute = H5Aopen(file, "temperature", H5P_DEFAULT);
    const double temperature = 0.3;
    CHECK(H5Awrite(attribute, H5T_NATIVE_DOUBLE, &temperature) >= 0);
    H5Aclose(attribute);
    H5Fclose(file);
  }
  const pic::ParityReport report = pic::run_pic_parity(copy);
  std::remove(copy.c_str());
  CHECK(!report.passed());
  CHECK(report.find("eval_features")->passed);  // the encoder alone does not see it
  CHECK(!report.find("train_logits")->passed);
  CHECK(!report.find("loss")->passed);
  CHECK(!report.find("grad/encoder.fc.weight")->passed);
  CHECK(report.find("train_labels")->passed);

  // A file of another schema is an error that names what is missing.
  CHECK_THROWS_WITH(pic::run_pic_parity(std::string(PIC_TESTDATA_DIR) + "/heads.h5"),
                    Catch::Contains("arch") && Catch::Contains("heads.h5"));
}
