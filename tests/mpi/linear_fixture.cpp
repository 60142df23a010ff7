// Builds the inputs of the pic-linear MPI tests in one folder:
//   data   OUT  train.h5 (first TRAIN images of Fashion-MNIST's train split) and val.h5 (first
//               VAL images of its test split), converted by the real pic-prep
//   ckpt   OUT  ckpt/ : a pic checkpoint (written by save_checkpoint, MPI) of a randomly
//               initialised small ResNet-18 with the configuration pic-pretrain stores;
//               ckpt_missing/ : the same without encoder.layer2.0.conv1.weight;
//               ckpt_misshaped/ : encoder.fc.weight with one row too many
// Usage: linear_fixture OUT TRAIN VAL   (as a singleton: pic-prep cannot start inside mpiexec)
#include <filesystem>
#include <iostream>

#include "comm/mpi_communicator.h"
#include "core/resnet.h"
#include "data/prep_test_support.h"
#include "train/checkpoint.h"
#include "train/json_object.h"

namespace {

void convert(const std::string& split, uint32_t count, const std::string& output) {
  pic::test::TempDir tmp;
  auto subset = pic::test::make_idx_subset(tmp, split, count);
  std::ofstream names(tmp / "classes.txt");
  for (const char* name : pic::test::kFashionClassNames) names << name << "\n";
  names.close();
  auto run =
      pic::test::run_prep("--input-format idx --input " + subset.images_path + " --labels " +
                              subset.labels_path + " --class-names " + (tmp / "classes.txt") +
                              " --output " + output + " --overwrite --seed 5",
                          tmp);
  if (run.exit_code != 0) throw std::runtime_error("pic-prep failed:\n" + run.output);
}

void write_checkpoint(const std::string& dir, const pic::NamedTensors& model,
                      pic::Communicator& comm) {
  pic::JsonObject config;
  config.add("model", "PIC")
      .add("arch", "resnet18")
      .add("width", 0.125)
      .add("small_stem", true)
      .add("mlp_head", false)
      .add("feature_dim", int64_t{16})
      .add("image_size", int64_t{28});
  pic::CheckpointTensors tensors;
  tensors.model = model;
  pic::CheckpointState state;
  state.step = 1;
  state.config_json = config.dump();
  pic::save_checkpoint(dir, comm, tensors, pic::ShardedRows{1, pic::ShardRange{0, 1}}, state);
}

}  // namespace

int main(int argc, char** argv) {
  return pic::run_mpi_main(argc, argv, [&](pic::Communicator& comm) {
    if (argc != 4) throw std::invalid_argument("usage: linear_fixture OUT TRAIN VAL");
    const std::filesystem::path out = argv[1];
    std::filesystem::create_directories(out);
    convert("train", static_cast<uint32_t>(std::stoul(argv[2])), (out / "train.h5").string());
    convert("t10k", static_cast<uint32_t>(std::stoul(argv[3])), (out / "val.h5").string());

    pic::ResNetConfig config;
    config.arch = "resnet18";
    config.width = 0.125;
    config.small_stem = true;
    config.feature_dim = 16;
    torch::manual_seed(123);
    pic::ResNet encoder(config);
    pic::NamedTensors full, missing, misshaped;
    auto add = [&](const std::string& name, const torch::Tensor& t) {
      full.emplace_back("encoder." + name, t);
      if (name != "layer2.0.conv1.weight") missing.emplace_back("encoder." + name, t);
      misshaped.emplace_back("encoder." + name,
                             name == "fc.weight" ? torch::zeros({t.size(0) + 1, t.size(1)}) : t);
    };
    for (const auto& p : encoder->named_parameters()) add(p.key(), p.value());
    for (const auto& b : encoder->named_buffers()) add(b.key(), b.value());
    write_checkpoint((out / "ckpt").string(), full, comm);
    write_checkpoint((out / "ckpt_missing").string(), missing, comm);
    write_checkpoint((out / "ckpt_misshaped").string(), misshaped, comm);
    std::cout << "linear_fixture: wrote " << out << std::endl;
    return 0;
  });
}
