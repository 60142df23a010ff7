// Every rank reads its shard with read_dataset_shard (MPI-IO) and checks it against its own
// serial read of the whole file: exactly rows shard_range(N, r, world), nothing else, and the
// shards of all ranks tile [0, N). Prints "OK: <world> ranks" on rank 0; exits 1 on failure.
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "data/dataset_format.h"
#include "data/dataset_reader.h"
#include "data/hdf5_attributes.h"

namespace {

int failures = 0;

void expect(bool ok, int rank, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "rank %d: FAILED: %s\n", rank, what.c_str());
    ++failures;
  }
}

// The whole file through the serial HDF5 driver (no MPI-IO involved).
template <typename T>
std::vector<T> read_whole(const std::string& path, const char* name) {
  pic::H5Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, "open " + path);
  int64_t n = pic::h5_dataset_length(file.get(), name, path);
  std::vector<T> values(static_cast<size_t>(n));
  pic::H5Id dset(H5Dopen2(file.get(), name, H5P_DEFAULT), H5Dclose, std::string("open ") + name);
  H5Dread(dset.get(), pic::h5_native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  return values;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, world = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  if (argc != 2) {
    if (rank == 0) std::fprintf(stderr, "usage: mpi_dataset_shards_test DATASET.h5\n");
    MPI_Finalize();
    return 2;
  }
  const std::string path = argv[1];

  try {
    pic::DatasetShard shard = pic::read_dataset_shard(path, MPI_COMM_WORLD);
    // Small transfers: the splitting path must give the same shard.
    pic::DatasetShard pieces = pic::read_dataset_shard(path, MPI_COMM_WORLD, 4093);

    const auto images = read_whole<uint8_t>(path, pic::dataset_format::kImages);
    const auto offsets = read_whole<uint64_t>(path, pic::dataset_format::kOffsets);
    const auto labels = read_whole<int32_t>(path, pic::dataset_format::kLabels);
    const int64_t n = static_cast<int64_t>(labels.size());
    expect(shard.info.num_images == n && n == 10000, rank, "N == 10000");

    // This rank's rows: N / world, one more on the first N % world ranks.
    const int64_t expected_size = n / world + (rank < n % world ? 1 : 0);
    expect(shard.size() == expected_size, rank,
           "shard size " + std::to_string(shard.size()) + " == " + std::to_string(expected_size));
    const int64_t b = shard.range.begin, e = shard.range.end;
    expect(shard.labels == std::vector<int32_t>(labels.begin() + b, labels.begin() + e), rank,
           "labels are rows [begin, end)");
    expect(std::equal(shard.bytes.begin(), shard.bytes.end(), images.begin() + offsets[b],
                      images.begin() + offsets[e]),
           rank, "bytes are exactly the rows' bytes, nothing more");
    bool offsets_ok = shard.offsets.size() == static_cast<size_t>(expected_size + 1);
    for (int64_t i = 0; offsets_ok && i <= shard.size(); ++i) {
      offsets_ok = shard.offsets[i] == offsets[b + i] - offsets[b];
    }
    expect(offsets_ok, rank, "offsets are the rows' offsets, relative to the shard");
    expect(pieces.bytes == shard.bytes && pieces.offsets == shard.offsets &&
               pieces.labels == shard.labels,
           rank, "reading in 4093-byte transfers gives the same shard");

    // The shards of all ranks tile [0, N) in rank order.
    int64_t mine[2] = {b, e};
    std::vector<int64_t> all(2 * world);
    MPI_Allgather(mine, 2, MPI_INT64_T, all.data(), 2, MPI_INT64_T, MPI_COMM_WORLD);
    for (int r = 0; r < world; ++r) {
      expect(all[2 * r] == (r == 0 ? 0 : all[2 * r - 1]), rank, "shards are contiguous");
    }
    expect(all[2 * world - 1] == n, rank, "shards end at N");
    if (rank == 0) {
      std::printf("shards:");
      for (int r = 0; r < world; ++r)
        std::printf(" %lld", (long long)(all[2 * r + 1] - all[2 * r]));
      std::printf("\n");
    }
  } catch (const std::exception& ex) {
    expect(false, rank, ex.what());
  }

  int any = 0;
  MPI_Allreduce(&failures, &any, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0 && any == 0) std::printf("OK: %d ranks\n", world);
  MPI_Finalize();
  return any == 0 ? 0 : 1;
}
