// How fast a rank reads its shard of a dataset file (read_dataset_shard: the /images bytes
// of its range in one contiguous hyperslab read, plus offsets and labels), under mpirun.
// Rank 0 prints the bytes of all shards, the slowest rank's seconds and the aggregate rate.
// bench/run_read_bench.sh puts it next to a plain sequential read of the same file.
//
// Usage: mpirun -n W pic-bench-read FILE.h5
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <exception>

#include "data/dataset_reader.h"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, world = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  if (argc != 2) {
    if (rank == 0) std::fprintf(stderr, "usage: mpirun -n W %s FILE.h5\n", argv[0]);
    MPI_Finalize();
    return 2;
  }
  int status = 0;
  try {
    MPI_Barrier(MPI_COMM_WORLD);
    const auto start = std::chrono::steady_clock::now();
    const pic::DatasetShard shard = pic::read_dataset_shard(argv[1], MPI_COMM_WORLD);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double bytes = static_cast<double>(shard.bytes.size());
    MPI_Allreduce(MPI_IN_PLACE, &seconds, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &bytes, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) {
      std::printf("shard_read ranks %d bytes %.0f seconds %.3f MB_per_s %.1f\n", world, bytes,
                  seconds, bytes / seconds / 1e6);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pic-bench-read: rank %d: %s\n", rank, e.what());
    status = 1;
  }
  MPI_Finalize();
  return status;
}
