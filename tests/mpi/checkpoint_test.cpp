// Real-MPI test of collective checkpoints, run by CTest under mpiexec (2 and 3 ranks).
// Every stored value is a known function of its name and index, so a reader checks exactly.
// Usage: mpi_checkpoint_test all DIR    save / reload / pointer / refusal checks in DIR
//        mpi_checkpoint_test save DIR   save one checkpoint (step 7) in DIR
//        mpi_checkpoint_test load DIR   load DIR's latest on any rank count, check every row
#include <hdf5.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "comm/mpi_communicator.h"
#include "train/checkpoint.h"

namespace fs = std::filesystem;

namespace {

constexpr int64_t kRows = 10;  // N, not divisible by 3
constexpr int64_t kDim = 5;    // D

void expect(bool condition, const std::string& what) {
  if (!condition) throw std::runtime_error("check failed: " + what);
}

void expect_equal(const torch::Tensor& found, const torch::Tensor& want, const std::string& what) {
  expect(found.sizes() == want.sizes() && found.scalar_type() == want.scalar_type() &&
             torch::equal(found, want),
         what + " differs: found " + torch::str(found) + " want " + torch::str(want));
}

pic::ShardRange my_range(int64_t n, int rank, int world) {
  // The first n % world ranks get one more row (10 on 3 ranks: 4, 3, 3).
  const int64_t base = n / world, extra = n % world;
  pic::ShardRange range;
  range.begin = rank * base + std::min<int64_t>(rank, extra);
  range.end = range.begin + base + (rank < extra ? 1 : 0);
  return range;
}

// The values a correct checkpoint holds: distinct per tensor and per element.
pic::CheckpointTensors expected_tensors(int world) {
  pic::CheckpointTensors t;
  auto ramp = [](std::vector<int64_t> shape, double offset) {
    int64_t numel = 1;
    for (int64_t s : shape) numel *= s;
    return (torch::arange(numel, torch::kFloat32) + offset).view(shape);
  };
  t.model = {{"encoder.conv1.weight", ramp({4, 3, 3, 3}, 0.5)},
             {"encoder.bn1.running_mean", ramp({4}, 200.25)},
             {"encoder.bn1.num_batches_tracked", torch::tensor(int64_t{123})},
             {"head.fc.weight", ramp({3, 4}, -50.0).to(torch::kFloat64)},
             // row i, column j holds 100 i + j: one value per row and column.
             {"sim_matrix", ramp({kRows, kDim}, 0.0) + ramp({kRows, 1}, 0.0) * 95}};
  for (const auto& [name, tensor] : t.model) {
    if (tensor.is_floating_point()) t.momentum.emplace_back(name, tensor * -0.125);
  }
  t.state = {{"sampler_position", torch::arange(world, torch::kInt64) * 1000 + 7},
             {"labels", torch::arange(6, torch::kUInt8)},
             {"counters", torch::arange(3, torch::kInt32) - 1}};
  t.instance_level = {"sim_matrix"};
  return t;
}

// Same names, shapes and dtypes, filled with `fill` (instance-level: `rows` rows).
pic::CheckpointTensors blank_like(const pic::CheckpointTensors& like, int64_t rows, double fill) {
  pic::CheckpointTensors t;
  auto blank = [&](const pic::NamedTensors& from, pic::NamedTensors& into) {
    for (const auto& [name, tensor] : from) {
      auto shape = tensor.sizes().vec();
      if (like.instance_level.count(name)) shape[0] = rows;
      into.emplace_back(name, torch::full(shape, fill, tensor.options()));
    }
  };
  blank(like.model, t.model);
  blank(like.momentum, t.momentum);
  blank(like.state, t.state);
  t.instance_level = like.instance_level;
  return t;
}

void expect_all_equal(const pic::NamedTensors& found, const pic::NamedTensors& want,
                      const std::string& what) {
  expect(found.size() == want.size(), what + ": count");
  for (size_t i = 0; i < found.size(); ++i) {
    expect_equal(found[i].second, want[i].second, what + " " + want[i].first);
  }
}

// What this rank saves: the true values only in ITS rows of the replicated classifier and
// -1 elsewhere, which proves that each rank writes only its own rows.
pic::CheckpointTensors tensors_to_save(const pic::CheckpointTensors& truth,
                                       const pic::ShardRange& range) {
  pic::CheckpointTensors t = blank_like(truth, kRows, 0.0);
  auto fill = [&](const pic::NamedTensors& from, pic::NamedTensors& into) {
    for (size_t i = 0; i < from.size(); ++i) {
      torch::Tensor destination = into[i].second;
      destination.copy_(from[i].second);
      if (truth.instance_level.count(from[i].first)) {
        destination.fill_(-1);
        destination.slice(0, range.begin, range.end).copy_(
            from[i].second.slice(0, range.begin, range.end));
      }
    }
  };
  fill(truth.model, t.model);
  fill(truth.momentum, t.momentum);
  fill(truth.state, t.state);
  return t;
}

pic::CheckpointState state_for_step(int64_t step, const std::string& config) {
  return pic::CheckpointState{step, step / 3, 0x9E3779B97F4A7C15ull, config};
}

// Loads `path` both ways and checks every value; returns the state read.
pic::LoadedCheckpoint check_load(const std::string& path, pic::Communicator& comm,
                                 int saved_world) {
  const pic::ShardRange range = my_range(kRows, comm.rank(), comm.world_size());
  const pic::ShardedRows rows{kRows, range};
  const pic::CheckpointTensors truth = expected_tensors(saved_world);

  // All rows into the replicated copy.
  pic::CheckpointTensors all = blank_like(truth, kRows, 42.0);
  const auto loaded = pic::load_checkpoint(path, comm, all, rows, pic::InstanceRows::kAll);
  expect_all_equal(all.model, truth.model, "model (all rows)");
  expect_all_equal(all.momentum, truth.momentum, "momentum (all rows)");
  expect_all_equal(all.state, truth.state, "state");

  // Only this rank's rows.
  pic::CheckpointTensors mine = blank_like(truth, range.size(), 42.0);
  pic::load_checkpoint(path, comm, mine, rows, pic::InstanceRows::kMine);
  for (size_t i = 0; i < truth.model.size(); ++i) {
    auto want = truth.model[i].second;
    if (truth.instance_level.count(truth.model[i].first)) {
      want = want.slice(0, range.begin, range.end);
    }
    expect_equal(mine.model[i].second, want, "model (my rows) " + truth.model[i].first);
  }
  expect(loaded.saved_world_size == saved_world, "world_size attribute");
  return loaded;
}

std::string save(const std::string& dir, pic::Communicator& comm, int64_t step,
                 const std::string& config) {
  const pic::ShardRange range = my_range(kRows, comm.rank(), comm.world_size());
  const auto truth = expected_tensors(comm.world_size());
  return pic::save_checkpoint(dir, comm, tensors_to_save(truth, range),
                              pic::ShardedRows{kRows, range}, state_for_step(step, config));
}

// Expects `body` to throw on this rank with a message containing every one of `parts`.
template <typename Body>
void expect_error(Body body, std::initializer_list<std::string> parts, const std::string& what) {
  try {
    body();
  } catch (const std::exception& e) {
    for (const auto& part : parts) {
      expect(std::string(e.what()).find(part) != std::string::npos,
             what + ": message '" + e.what() + "' lacks '" + part + "'");
    }
    return;
  }
  throw std::runtime_error("check failed: " + what + " did not throw");
}

void set_pointer(const std::string& dir, const std::string& name) {
  std::ofstream(fs::path(dir) / "latest", std::ios::trunc) << name << '\n';
}

int run_all(pic::Communicator& comm, const std::string& dir) {
  auto& mpi = dynamic_cast<pic::MpiCommunicator&>(comm);
  if (comm.is_root()) fs::remove_all(dir);
  comm.barrier();

  // 1. Round trip, default transfer size, with a config larger than 64 KiB.
  std::string config = "{\"arch\": \"resnet18\", \"pad\": \"" + std::string(70000, 'x') + "\"}";
  const std::string first = save(dir, comm, 1, config);
  expect(fs::path(first).filename() == "ckpt_00000001.h5", "file name " + first);
  auto loaded = check_load(first, comm, comm.world_size());
  expect(loaded.state.step == 1 && loaded.state.epoch == 0 &&
             loaded.state.seed == 0x9E3779B97F4A7C15ull && loaded.state.config_json == config,
         "state attributes");

  // 2. Transfers split into 24-byte calls (every tensor needs several collective calls).
  pic::set_checkpoint_transfer_limit(24);
  const std::string second = save(dir, comm, 2, "{}");
  check_load(second, comm, comm.world_size());
  pic::set_checkpoint_transfer_limit(int64_t{1} << 30);

  // 3. The pointer names the newest; no temporaries remain.
  auto latest = pic::find_latest_checkpoint(dir);
  expect(latest && latest->path == second && latest->note.empty(), "latest is step 2");
  for (const auto& item : fs::directory_iterator(dir)) {
    expect(item.path().filename().string()[0] != '.', "leftover " + item.path().string());
  }

  // 4. A truncated step 3 and a step 4 without `complete`: both refused, step 2 used.
  // Every rank has finished looking at step 3's directory before rank 0 changes it.
  comm.barrier();
  if (comm.is_root()) {
    const auto size = fs::file_size(second);
    fs::copy_file(second, fs::path(dir) / "ckpt_00000003.h5");
    fs::resize_file(fs::path(dir) / "ckpt_00000003.h5", size / 2);
    fs::copy_file(second, fs::path(dir) / "ckpt_00000004.h5");
    const hid_t file = H5Fopen((fs::path(dir) / "ckpt_00000004.h5").c_str(), H5F_ACC_RDWR,
                               H5P_DEFAULT);
    expect(file >= 0 && H5Adelete(file, "complete") >= 0 && H5Fclose(file) >= 0,
           "delete the complete attribute");
    set_pointer(dir, "ckpt_00000004.h5");
  }
  comm.barrier();
  latest = pic::find_latest_checkpoint(dir);
  expect(latest && latest->path == second, "fallback to step 2, got " +
                                               (latest ? latest->path : std::string("none")));
  expect(latest->note.find("ckpt_00000004.h5") != std::string::npos &&
             latest->note.find("incomplete") != std::string::npos &&
             latest->note.find("skipped") != std::string::npos &&
             latest->note.find("ckpt_00000003.h5") != std::string::npos,
         "fallback note names both refused files: " + latest->note);
  if (comm.is_root()) std::printf("fallback note: %s\n", latest->note.c_str());
  const auto truth = expected_tensors(comm.world_size());
  const pic::ShardedRows rows{kRows, my_range(kRows, comm.rank(), comm.world_size())};
  expect_error(
      [&] {
        auto t = blank_like(truth, kRows, 0);
        pic::load_checkpoint(dir + "/ckpt_00000004.h5", comm, t, rows, pic::InstanceRows::kAll);
      },
      {"ckpt_00000004.h5", "incomplete"}, "loading a file without complete=1");
  expect_error(
      [&] {
        auto t = blank_like(truth, kRows, 0);
        pic::load_checkpoint(dir + "/ckpt_00000003.h5", comm, t, rows, pic::InstanceRows::kAll);
      },
      {"ckpt_00000003.h5"}, "loading a truncated file");
  // A pointer to a file that does not exist also falls back.
  if (comm.is_root()) set_pointer(dir, "ckpt_00000099.h5");
  comm.barrier();
  latest = pic::find_latest_checkpoint(dir);
  expect(latest && latest->path == second && latest->note.find("no such file") != std::string::npos,
         "fallback from a dangling pointer");

  // 5. A model that does not match: every offending name is listed.
  auto wrong = blank_like(truth, kRows, 0);
  wrong.model[0].second = torch::zeros({4, 3, 5, 5});      // mis-shaped
  wrong.model[1].first = "encoder.bn1.running_var";        // missing (and running_mean extra)
  wrong.momentum[1].second = torch::zeros({4}, torch::kFloat64);  // mis-typed
  expect_error(
      [&] { pic::load_checkpoint(second, comm, wrong, rows, pic::InstanceRows::kAll); },
      {"missing: model/encoder.bn1.running_var", "model/encoder.conv1.weight (file [4, 3, 3, 3]",
       "optimizer/momentum/encoder.bn1.running_mean (file dtype Float", "not in the model: "
       "model/encoder.bn1.running_mean"},
      "loading into a mismatched model");

  // 6. Serial reader for linear evaluation: only the encoder, plain open, no collectives.
  if (comm.is_root()) {
    const auto encoder = pic::read_checkpoint_tensors(second, "model/encoder.");
    pic::NamedTensors want(truth.model.begin(), truth.model.begin() + 3);
    std::sort(want.begin(), want.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    expect_all_equal(encoder, want, "read_checkpoint_tensors");
    pic::NamedTensors target = {{"encoder.conv1.weight", torch::zeros({4, 3, 3, 3})},
                                {"encoder.bn1.running_mean", torch::zeros({4})}};
    pic::copy_tensors_by_name(encoder, target, second);
    expect_equal(target[0].second, truth.model[0].second, "copy_tensors_by_name");
    target.emplace_back("encoder.fc.weight", torch::zeros({1}));
    expect_error([&] { pic::copy_tensors_by_name(encoder, target, second); },
                 {"missing: encoder.fc.weight"}, "copy_tensors_by_name missing");
    expect_error([&] { pic::read_checkpoint_tensors(dir + "/ckpt_00000004.h5", "model/"); },
                 {"incomplete"}, "serial read of an incomplete file");
  }

  mpi.barrier();
  if (comm.is_root()) std::printf("OK: %d ranks\n", comm.world_size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s all|save|load DIR\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1], dir = argv[2];
  return pic::run_mpi_main(argc, argv, [&](pic::Communicator& comm) {
    if (mode == "all") return run_all(comm, dir);
    if (mode == "save") {
      if (comm.is_root()) fs::remove_all(dir);
      comm.barrier();
      save(dir, comm, 7, "{\"saved_by\": " + std::to_string(comm.world_size()) + "}");
      if (comm.is_root()) std::printf("saved with %d ranks\n", comm.world_size());
      return 0;
    }
    // load: whatever world size wrote it (its sampler_position has world_size entries).
    const auto latest = pic::find_latest_checkpoint(dir);
    expect(latest.has_value() && latest->note.empty(), "a latest checkpoint in " + dir);
    const int saved_world = [&] {
      const auto state = pic::read_checkpoint_tensors(latest->path, "state/sampler_position");
      return static_cast<int>(state.at(0).second.size(0));
    }();
    const auto loaded = check_load(latest->path, comm, saved_world);
    expect(loaded.state.step == 7, "step 7");
    if (comm.is_root()) {
      std::printf("OK: saved with %d ranks, loaded with %d ranks\n", saved_world,
                  comm.world_size());
    }
    return 0;
  });
}
