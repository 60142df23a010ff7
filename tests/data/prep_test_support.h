#pragma once
// Shared by the pic-prep tests: a temporary directory, running the real pic-prep executable
// (PIC_PREP_EXE, defined by tests/mpi/dataset_shards.cmake), small IDX subsets of the real
// Fashion-MNIST files, and MPI started once for read_dataset_shard on MPI_COMM_SELF.
#include <mpi.h>
#include <sys/wait.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace pic::test {

inline const std::string kFashionDir = "/usr/share/datasets/fashion-mnist";

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "pic-prep-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct PrepRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs pic-prep with `args` (already shell-quoted where needed).
inline PrepRun run_prep(const std::string& args, const TempDir& dir) {
  const std::string log = dir / "prep.log";
  const std::string command = std::string(PIC_PREP_EXE) + " " + args + " >" + log + " 2>&1";
  int status = std::system(command.c_str());
  PrepRun run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  run.output = text.str();
  return run;
}

inline std::vector<uint8_t> gunzip_file(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw std::runtime_error(path + ": cannot open");
  std::vector<uint8_t> data, chunk(1 << 20);
  for (int got; (got = gzread(file, chunk.data(), static_cast<unsigned>(chunk.size()))) > 0;) {
    data.insert(data.end(), chunk.begin(), chunk.begin() + got);
  }
  gzclose(file);
  return data;
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& data) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

inline void write_gzip(const std::string& path, const std::vector<uint8_t>& data) {
  gzFile file = gzopen(path.c_str(), "wb");
  gzwrite(file, data.data(), static_cast<unsigned>(data.size()));
  gzclose(file);
}

// The first `count` images and labels of a Fashion-MNIST split, as valid IDX files with the
// count rewritten: images raw (uncompressed), labels gzipped, so both readings are covered.
struct IdxSubset {
  std::string images_path, labels_path;
  std::vector<uint8_t> pixels;  // [count, 28, 28]
  std::vector<uint8_t> labels;  // [count]
};

inline IdxSubset make_idx_subset(const TempDir& dir, const std::string& split, uint32_t count) {
  std::vector<uint8_t> images = gunzip_file(kFashionDir + "/" + split + "-images-idx3-ubyte.gz");
  std::vector<uint8_t> labels = gunzip_file(kFashionDir + "/" + split + "-labels-idx1-ubyte.gz");
  const uint8_t n[4] = {uint8_t(count >> 24), uint8_t(count >> 16), uint8_t(count >> 8),
                        uint8_t(count)};
  images.resize(16 + size_t{count} * 784);
  labels.resize(8 + count);
  std::copy(n, n + 4, images.begin() + 4);
  std::copy(n, n + 4, labels.begin() + 4);
  IdxSubset subset;
  subset.images_path = dir / "images.idx";
  subset.labels_path = dir / "labels.idx.gz";
  write_bytes(subset.images_path, images);
  write_gzip(subset.labels_path, labels);
  subset.pixels.assign(images.begin() + 16, images.end());
  subset.labels.assign(labels.begin() + 8, labels.end());
  return subset;
}

inline const char* kFashionClassNames[] = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                           "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                           "Bag",         "Ankle boot"};

// MPI for read_dataset_shard on MPI_COMM_SELF (a singleton MPI run, no mpiexec needed).
inline void ensure_mpi() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    MPI_Init(nullptr, nullptr);
    std::atexit([] {
      int finalized = 0;
      MPI_Finalized(&finalized);
      if (!finalized) MPI_Finalize();
    });
  }
}

}  // namespace pic::test
