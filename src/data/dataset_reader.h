#pragma once
// Reads the pic dataset file (docs/dataset-format.md, constants in data/dataset_format.h).
//
// read_dataset_info() opens the file serially (any process, no MPI needed) and validates the
// format name, version and the lengths of every dataset. read_dataset_shard() is collective:
// rank r of comm reads only its contiguous block shard_range(N, r, world) of images, offsets
// and labels, through MPI-IO, in transfers below 1 GiB (HDF5 1.10.8's MPI-IO driver fails on
// single transfers of 2 GiB or more). Any problem on any rank makes every rank throw.
#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/sampler.h"

namespace pic {

struct DatasetInfo {
  std::string path;
  int64_t num_images = 0;                // N
  int64_t num_classes = 0;               // C
  std::vector<std::string> class_names;  // [C]
  uint64_t shuffle_seed = 0;
  int format_version = 0;
  std::string source_kind;  // "idx", "folder" or "zip"
};

// Throws std::runtime_error naming the file when it is missing, not HDF5, not a pic dataset,
// of another format version, or inconsistent (dataset lengths vs num_images / num_classes).
DatasetInfo read_dataset_info(const std::string& path);

// std::allocator whose value-initialisation leaves bytes as they are: a shard's buffer is
// written by HDF5 right after it is sized, and zero-filling hundreds of MB first cost about
// a third of the read (bench/run_read_bench.sh).
template <typename T>
struct UninitialisedAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitialisedAllocator<U>;
  };
  UninitialisedAllocator() = default;
  template <typename U>
  UninitialisedAllocator(const UninitialisedAllocator<U>& /*other*/) noexcept {}
  template <typename U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;  // default-initialised: no zero fill for bytes
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
using ByteBuffer = std::vector<uint8_t, UninitialisedAllocator<uint8_t>>;

// One rank's contiguous block of images, in dataset order.
struct DatasetShard {
  DatasetInfo info;
  ShardRange range;               // global indices [range.begin, range.end)
  ByteBuffer bytes;               // encoded images of the shard, concatenated
  std::vector<uint64_t> offsets;  // [range.size() + 1], offsets[0] == 0, into bytes
  std::vector<int32_t> labels;    // [range.size()]

  int64_t size() const { return range.size(); }
  // Encoded bytes (JPEG or PNG) of the shard's image `local` in [0, size()).
  const uint8_t* image_data(int64_t local) const { return bytes.data() + offsets[local]; }
  size_t image_size(int64_t local) const {
    return static_cast<size_t>(offsets[local + 1] - offsets[local]);
  }
};

// Largest single MPI-IO transfer read_dataset_shard issues by default (1 GiB - 1 MiB).
inline constexpr uint64_t kDefaultMaxTransferBytes = (uint64_t{1} << 30) - (uint64_t{1} << 20);

// Collective over comm. Validates the file (as read_dataset_info), that the shard's offsets
// are increasing and within /images, and that its labels are in [0, C).
DatasetShard read_dataset_shard(const std::string& path, MPI_Comm comm);
// Same, with the transfer size bounded by max_transfer_bytes (tests use small values).
DatasetShard read_dataset_shard(const std::string& path, MPI_Comm comm,
                                uint64_t max_transfer_bytes);

}  // namespace pic
