// Real-MPI test of collective checkpoints, run by CTest under mpiexec (2 and 3 ranks).
// Every stored value is a known function of its name and index, so a reader checks exactly.
// Usage: mpi_checkpoint_test all DIR     save / reload / pointer / refusal / checksum /
//                                        failed write / retention checks in DIR
//        mpi_checkpoint_test save DIR    save one checkpoint (step 7) in DIR
//        mpi_checkpoint_test load DIR    load DIR's latest on any rank count, check every row
//                                        and every dataset's crc32 against zlib's
//        mpi_checkpoint_test killed DIR  save step 7, then die (SIGKILL on the last rank)
//                                        while writing step 8
#include <hdf5.h>
#include <zlib.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
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
        destination.slice(0, range.begin, range.end)
            .copy_(from[i].second.slice(0, range.begin, range.end));
      }
    }
  };
  fill(truth.model, t.model);
  fill(truth.momentum, t.momentum);
  fill(truth.state, t.state);
  return t;
}

pic::CheckpointState state_for_step(int64_t step, const std::string& config) {
  pic::CheckpointState state;
  state.step = step;
  state.epoch = step / 3;
  state.images_seen = step * 48 + 5;
  state.seed = 0x9E3779B97F4A7C15ull;
  state.lr_scale = 1.0 / (1 << step);  // exact in binary: must come back bit for bit
  state.config_json = config;
  return state;
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

// Expects `body` to throw CheckpointDamaged with a message containing every one of `parts`.
template <typename Body>
void expect_damaged(Body body, std::initializer_list<std::string> parts, const std::string& what) {
  try {
    body();
  } catch (const pic::CheckpointDamaged& e) {
    for (const auto& part : parts) {
      expect(std::string(e.what()).find(part) != std::string::npos,
             what + ": message '" + e.what() + "' lacks '" + part + "'");
    }
    return;
  } catch (const std::exception& e) {
    throw std::runtime_error("check failed: " + what + " threw another error: " + e.what());
  }
  throw std::runtime_error("check failed: " + what + " did not throw");
}

// Serial, on one rank: a plain HDF5 handle of a checkpoint, for tests that damage files.
struct RawFile {
  hid_t id;
  explicit RawFile(const fs::path& path, unsigned flags = H5F_ACC_RDWR)
      : id(H5Fopen(path.c_str(), flags, H5P_DEFAULT)) {
    expect(id >= 0, "open " + path.string());
  }
  ~RawFile() { H5Fclose(id); }
};

// XORs 0xFF into `count` bytes in the middle of dataset `name`'s data, behind HDF5's back.
void flip_bytes_in_dataset(const fs::path& path, const std::string& name, int64_t count) {
  haddr_t offset = HADDR_UNDEF;
  hsize_t size = 0;
  {
    RawFile file(path, H5F_ACC_RDONLY);
    const hid_t dataset = H5Dopen2(file.id, name.c_str(), H5P_DEFAULT);
    expect(dataset >= 0, "open " + name);
    offset = H5Dget_offset(dataset);
    size = H5Dget_storage_size(dataset);
    H5Dclose(dataset);
  }
  expect(offset != HADDR_UNDEF && size >= static_cast<hsize_t>(count), "offset of " + name);
  std::fstream stream(path, std::ios::in | std::ios::out | std::ios::binary);
  const auto middle = static_cast<std::streamoff>(offset + size / 2);
  for (int64_t i = 0; i < count; ++i) {
    char byte = 0;
    stream.seekg(middle + i);
    stream.get(byte);
    stream.seekp(middle + i);
    stream.put(static_cast<char>(byte ^ 0xFF));
  }
  expect(static_cast<bool>(stream), "flip bytes of " + name + " in " + path.string());
}

void delete_attribute(hid_t object, const char* name) {
  expect(H5Adelete(object, name) >= 0, std::string("delete attribute ") + name);
}

// What format_version 1 wrote: no checksums, no images_seen, no lr_scale.
void make_version_1(const fs::path& path, const pic::CheckpointTensors& like) {
  RawFile file(path);
  const int64_t one = 1;
  const hid_t version = H5Aopen(file.id, "format_version", H5P_DEFAULT);
  expect(version >= 0 && H5Awrite(version, H5T_NATIVE_INT64, &one) >= 0, "format_version 1");
  H5Aclose(version);
  delete_attribute(file.id, "images_seen");
  delete_attribute(file.id, "lr_scale");
  delete_attribute(file.id, "state_crc32");
  auto strip = [&](const pic::NamedTensors& group, const std::string& prefix) {
    for (const auto& [name, tensor] : group) {
      const hid_t dataset = H5Dopen2(file.id, (prefix + name).c_str(), H5P_DEFAULT);
      expect(dataset >= 0, "open " + prefix + name);
      delete_attribute(dataset, "crc32");
      H5Dclose(dataset);
    }
  };
  strip(like.model, "model/");
  strip(like.momentum, "optimizer/momentum/");
  strip(like.state, "state/");
}

// Every dataset's crc32 attribute is zlib's CRC-32 of the values it must hold, whatever the
// number of ranks that wrote it (serial; any rank).
void check_crc_attributes(const std::string& path, const pic::CheckpointTensors& truth) {
  RawFile file(path, H5F_ACC_RDONLY);
  auto check = [&](const pic::NamedTensors& group, const std::string& prefix) {
    for (const auto& [name, tensor] : group) {
      const hid_t dataset = H5Dopen2(file.id, (prefix + name).c_str(), H5P_DEFAULT);
      uint32_t stored = 0;
      const hid_t attribute = H5Aopen(dataset, "crc32", H5P_DEFAULT);
      expect(attribute >= 0 && H5Aread(attribute, H5T_NATIVE_UINT32, &stored) >= 0,
             "crc32 attribute of " + prefix + name);
      H5Aclose(attribute);
      H5Dclose(dataset);
      const torch::Tensor values = tensor.contiguous();
      const uLong want = crc32(0L, static_cast<const Bytef*>(values.data_ptr()),
                               static_cast<uInt>(values.numel() * values.element_size()));
      expect(stored == want, "crc32 of " + prefix + name + " in " + path);
    }
  };
  check(truth.model, "model/");
  check(truth.momentum, "optimizer/momentum/");
  check(truth.state, "state/");
}

// Damaged data in the middle of a dataset, an instance-level one and a replicated one: the
// collective and the serial readers name the file and the dataset; the candidates for a
// resume still list the damaged file first (checksums are the loader's to verify).
void check_damaged_files(pic::Communicator& comm, const std::string& good, const fs::path& dir) {
  if (comm.is_root()) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    fs::copy_file(good, dir / "ckpt_00000005.h5");
    fs::copy_file(good, dir / "ckpt_00000006.h5");
    flip_bytes_in_dataset(dir / "ckpt_00000005.h5", "model/sim_matrix", 3);
    flip_bytes_in_dataset(dir / "ckpt_00000006.h5", "model/encoder.conv1.weight", 1);
    set_pointer(dir.string(), "ckpt_00000006.h5");
  }
  comm.barrier();
  const auto truth = expected_tensors(comm.world_size());
  const pic::ShardRange range = my_range(kRows, comm.rank(), comm.world_size());
  const pic::ShardedRows rows{kRows, range};
  const std::string five = (dir / "ckpt_00000005.h5").string();
  const std::string six = (dir / "ckpt_00000006.h5").string();
  for (auto mode : {pic::InstanceRows::kMine, pic::InstanceRows::kAll}) {
    auto t = blank_like(truth, mode == pic::InstanceRows::kMine ? range.size() : kRows, 0);
    expect_damaged([&] { pic::load_checkpoint(five, comm, t, rows, mode); },
                   {five, "is damaged", "/model/sim_matrix (crc32 in the file 0x"},
                   "loading a file with damaged classifier rows");
  }
  auto t = blank_like(truth, range.size(), 0);
  expect_damaged([&] { pic::load_checkpoint(six, comm, t, rows, pic::InstanceRows::kMine); },
                 {six, "/model/encoder.conv1.weight"}, "loading a file with a damaged weight");
  if (comm.is_root()) {
    expect_damaged([&] { pic::read_checkpoint_tensors(six, "model/encoder."); },
                   {six, "/model/encoder.conv1.weight"}, "serial read of a damaged weight");
    // The other datasets of the damaged file still read.
    pic::read_checkpoint_tensors(six, "optimizer/momentum/");
    const auto candidates = pic::list_checkpoint_candidates(dir.string());
    expect(candidates.paths == std::vector<std::string>{six, five} && candidates.note.empty(),
           "candidates: the pointer's file, then the others by step");
  }
  comm.barrier();
}

// A save that fails midway (here: an exception on every rank after three datasets) leaves
// the previous checkpoint and `latest` as they were; the next save succeeds.
void check_failed_write(pic::Communicator& comm, const fs::path& dir) {
  if (comm.is_root()) fs::remove_all(dir);
  comm.barrier();
  const std::string first = save(dir.string(), comm, 1, "{}");
  int written = 0;
  pic::set_checkpoint_write_observer([&](const std::string&) {
    if (++written == 3) throw std::runtime_error("disk full (simulated)");
  });
  expect_error([&] { save(dir.string(), comm, 2, "{}"); }, {"disk full"}, "a failing save");
  pic::set_checkpoint_write_observer(nullptr);
  comm.barrier();
  expect(fs::exists(dir / ".ckpt_00000002.h5.tmp") && !fs::exists(dir / "ckpt_00000002.h5"),
         "the failed save left only its temporary");
  auto latest = pic::find_latest_checkpoint(dir.string());
  expect(latest && latest->path == first && latest->note.empty(), "latest still names step 1");
  check_load(first, comm, comm.world_size());
  const std::string second = save(dir.string(), comm, 2, "{}");
  latest = pic::find_latest_checkpoint(dir.string());
  expect(latest && latest->path == second, "the next save publishes step 2");
  check_load(second, comm, comm.world_size());
}

// --keep-last: the N highest steps stay, and the file `latest` names, whatever its step.
void check_retention(pic::Communicator& comm, const fs::path& dir) {
  if (comm.is_root()) fs::remove_all(dir);
  comm.barrier();
  for (int64_t step : {1, 3, 4, 6, 9}) save(dir.string(), comm, step, "{}");
  if (comm.is_root()) {
    auto names = [&] {
      std::set<std::string> found;
      for (const auto& item : fs::directory_iterator(dir)) {
        found.insert(item.path().filename().string());
      }
      return found;
    };
    expect(pic::remove_old_checkpoints(dir.string(), 0).empty(), "keep-last 0 keeps all");
    set_pointer(dir.string(), "ckpt_00000003.h5");  // as after a resume from step 3
    const auto removed = pic::remove_old_checkpoints(dir.string(), 2);
    expect(removed.size() == 2, "two files removed");
    expect(names() == std::set<std::string>{"ckpt_00000003.h5", "ckpt_00000006.h5",
                                            "ckpt_00000009.h5", "latest"},
           "kept: the two newest and the one latest names");
    set_pointer(dir.string(), "ckpt_00000009.h5");
    pic::remove_old_checkpoints(dir.string(), 1);
    expect(names() == std::set<std::string>{"ckpt_00000009.h5", "latest"}, "keep-last 1");
  }
  comm.barrier();
}

// lr_scale and images_seen come back; a file without lr_scale loads as 1; a format_version 1
// file (no checksums, no images_seen) still loads, unverified.
void check_optional_state(pic::Communicator& comm, const std::string& good, const fs::path& dir) {
  if (comm.is_root()) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    fs::copy_file(good, dir / "no_lr_scale.h5");
    RawFile file(dir / "no_lr_scale.h5");
    delete_attribute(file.id, "lr_scale");  // as written before either existed
    delete_attribute(file.id, "state_crc32");
    fs::copy_file(good, dir / "version_1.h5");
    make_version_1(dir / "version_1.h5", expected_tensors(comm.world_size()));
  }
  comm.barrier();
  auto loaded = check_load((dir / "no_lr_scale.h5").string(), comm, comm.world_size());
  expect(loaded.state.lr_scale == 1.0 && loaded.format_version == 2, "missing lr_scale -> 1");
  loaded = check_load((dir / "version_1.h5").string(), comm, comm.world_size());
  expect(loaded.format_version == 1 && loaded.state.images_seen == -1 &&
             loaded.state.lr_scale == 1.0 && loaded.state.step == 2,
         "a format_version 1 file loads, without images_seen");
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
  expect(loaded.state.step == 1 && loaded.state.epoch == 0 && loaded.state.images_seen == 53 &&
             loaded.state.seed == 0x9E3779B97F4A7C15ull && loaded.state.lr_scale == 0.5 &&
             loaded.state.config_json == config && loaded.format_version == 2,
         "state attributes");
  if (comm.is_root()) check_crc_attributes(first, expected_tensors(comm.world_size()));

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
    const hid_t file =
        H5Fopen((fs::path(dir) / "ckpt_00000004.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    expect(file >= 0 && H5Adelete(file, "complete") >= 0 && H5Fclose(file) >= 0,
           "delete the complete attribute");
    set_pointer(dir, "ckpt_00000004.h5");
  }
  comm.barrier();
  latest = pic::find_latest_checkpoint(dir);
  expect(latest && latest->path == second,
         "fallback to step 2, got " + (latest ? latest->path : std::string("none")));
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

  // 4b. One bit of the root attribute `step` flipped in a copy of step 2 named step 5: the
  // state checksum refuses it, serially and collectively, and the fallback skips it.
  comm.barrier();
  if (comm.is_root()) {
    const fs::path flipped = fs::path(dir) / "ckpt_00000005.h5";
    fs::copy_file(second, flipped);
    const hid_t file = H5Fopen(flipped.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hid_t attribute = file >= 0 ? H5Aopen(file, "step", H5P_DEFAULT) : -1;
    const int64_t step = 2 ^ 16;
    expect(attribute >= 0 && H5Awrite(attribute, H5T_NATIVE_INT64, &step) >= 0 &&
               H5Aclose(attribute) >= 0 && H5Fclose(file) >= 0,
           "flip a bit of the step attribute");
    set_pointer(dir, "ckpt_00000005.h5");
  }
  comm.barrier();
  expect(pic::checkpoint_incomplete_reason(dir + "/ckpt_00000005.h5")
                 .find("damaged root attributes") != std::string::npos,
         "the serial check refuses a flipped step");
  latest = pic::find_latest_checkpoint(dir);
  expect(latest && latest->path == second &&
             latest->note.find("damaged root attributes") != std::string::npos,
         "fallback past a flipped step: " + (latest ? latest->note : std::string("none")));
  expect_error(
      [&] {
        auto t = blank_like(truth, kRows, 0);
        pic::load_checkpoint(dir + "/ckpt_00000005.h5", comm, t, rows, pic::InstanceRows::kAll);
      },
      {"ckpt_00000005.h5", "damaged root attributes"}, "loading a file with a flipped step");
  if (comm.is_root()) fs::remove(fs::path(dir) / "ckpt_00000005.h5");
  comm.barrier();

  // 5. A model that does not match: every offending name is listed.
  auto wrong = blank_like(truth, kRows, 0);
  wrong.model[0].second = torch::zeros({4, 3, 5, 5});  // mis-shaped
  wrong.model[1].first = "encoder.bn1.running_var";    // missing (and running_mean extra)
  wrong.momentum[1].second = torch::zeros({4}, torch::kFloat64);  // mis-typed
  expect_error(
      [&] { pic::load_checkpoint(second, comm, wrong, rows, pic::InstanceRows::kAll); },
      {"missing: model/encoder.bn1.running_var", "model/encoder.conv1.weight (file [4, 3, 3, 3]",
       "optimizer/momentum/encoder.bn1.running_mean (file dtype Float",
       "not in the model: "
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

  // 7. Checksums, failed writes, retention, optional attributes, in folders of their own.
  check_damaged_files(comm, second, fs::path(dir) / "damaged");
  check_failed_write(comm, fs::path(dir) / "failed_write");
  check_retention(comm, fs::path(dir) / "retention");
  check_optional_state(comm, second, fs::path(dir) / "optional");

  mpi.barrier();
  if (comm.is_root()) std::printf("OK: %d ranks\n", comm.world_size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s all|save|load|killed DIR\n", argv[0]);
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
    if (mode == "killed") {
      if (comm.is_root()) fs::remove_all(dir);
      comm.barrier();
      save(dir, comm, 7, "{}");
      // The last rank dies for good after three datasets of step 8: a node lost mid-write.
      int written = 0;
      pic::set_checkpoint_write_observer([&](const std::string&) {
        if (++written == 3 && comm.rank() == comm.world_size() - 1) std::raise(SIGKILL);
      });
      save(dir, comm, 8, "{}");
      std::printf("FAIL: the writer of step 8 was not killed\n");
      return 1;
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
    // The checksums of the instance-level rows written by `saved_world` ranks are the CRC-32
    // of the same bytes as on any other rank count.
    if (comm.is_root()) check_crc_attributes(latest->path, expected_tensors(saved_world));
    if (comm.is_root()) {
      std::printf("OK: saved with %d ranks, loaded with %d ranks\n", saved_world,
                  comm.world_size());
    }
    return 0;
  });
}
