// Real-MPI test of MpiCommunicator, run by CTest under mpiexec with 2 and 3 ranks.
// Every value is a known function of (rank, index), so each result is checked exactly.
// Usage: mpi_communicator_test            all checks; prints "OK" on rank 0
//        mpi_communicator_test throw R    rank R throws while the others wait in a barrier:
//                                         the job must abort with R's message (never hang)
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "comm/mpi_communicator.h"

namespace {

void expect(bool condition, const std::string& what) {
  if (!condition) throw std::runtime_error("check failed: " + what);
}

void expect_equal(const torch::Tensor& found, const torch::Tensor& want, const std::string& what) {
  expect(found.sizes() == want.sizes() && found.scalar_type() == want.scalar_type() &&
             torch::equal(found, want),
         what + ": found " + torch::str(found.flatten().slice(0, 0, 12)) + " want " +
             torch::str(want.flatten().slice(0, 0, 12)));
}

// Every reduction over the dtypes the backend supports. x_r[i] = (i % 7) + 3 r (+ 1 for
// uint8 to stay small), so sum = W (i % 7) + 3 W (W-1)/2, max = rank W-1's, min = rank 0's.
void check_reductions(pic::MpiCommunicator& comm) {
  const int64_t W = comm.world_size(), r = comm.rank(), n = 11;
  for (auto dtype : {torch::kFloat32, torch::kFloat64, torch::kInt32, torch::kInt64,
                     torch::kUInt8}) {
    const auto base = torch::arange(n, torch::kInt64).remainder(7);
    auto make = [&](int64_t rank) { return (base + 3 * rank).to(dtype); };
    auto sum = make(r), max = make(r), min = make(r);
    comm.all_reduce_sum(sum);
    comm.all_reduce_max(max);
    comm.all_reduce_min(min);
    const std::string name = c10::toString(dtype);
    expect_equal(sum, (base * W + 3 * W * (W - 1) / 2).to(dtype), "sum " + name);
    expect_equal(max, make(W - 1), "max " + name);
    expect_equal(min, make(0), "min " + name);
  }
  // Control-value helpers.
  expect(comm.all_reduce_sum(int64_t{r + 1}) == W * (W + 1) / 2, "int64 sum");
  expect(comm.all_reduce_max(int64_t{r}) == W - 1, "int64 max");
  expect(comm.all_reduce_min(int64_t{r + 5}) == 5, "int64 min");
  expect(comm.all_reduce_sum(0.5 * static_cast<double>(r)) == 0.25 * W * (W - 1), "double sum");
}

// Rank r contributes r + 1 rows of [*, 2, 3] (uneven), row k of rank r holds 1000 r + k.
void check_gather(pic::MpiCommunicator& comm) {
  const int64_t W = comm.world_size(), r = comm.rank();
  auto rows_of = [](int64_t rank) {
    const int64_t rows = rank + 1;
    return (torch::arange(rows, torch::kFloat64) + 1000.0 * rank)
        .view({rows, 1, 1})
        .expand({rows, 2, 3})
        .contiguous();
  };
  const auto gathered = comm.all_gather_rows(rows_of(r));
  std::vector<torch::Tensor> parts;
  for (int64_t k = 0; k < W; ++k) parts.push_back(rows_of(k));
  expect_equal(gathered, torch::cat(parts), "all_gather_rows uneven");

  // A rank with no rows at all.
  const auto some = r == 1 ? torch::empty({0, 4}, torch::kInt32)
                           : torch::full({2, 4}, static_cast<int>(r), torch::kInt32);
  const auto got = comm.all_gather_rows(some);
  std::vector<torch::Tensor> expected_parts;
  for (int64_t k = 0; k < W; ++k) {
    if (k != 1) expected_parts.push_back(torch::full({2, 4}, static_cast<int>(k), torch::kInt32));
  }
  expect_equal(got, torch::cat(expected_parts), "all_gather_rows with an empty rank");
}

// Rank r holds [total, 3] with value (r + 1) * (row + 1); block k has k + 1 rows (rank 1's
// block is empty when `empty_block_1`). Each rank must receive the sum over ranks of its own
// block only: (W (W + 1) / 2) * (row + 1).
void check_reduce_scatter(pic::MpiCommunicator& comm, bool empty_block_1) {
  const int64_t W = comm.world_size(), r = comm.rank();
  std::vector<int64_t> blocks;
  for (int64_t k = 0; k < W; ++k) blocks.push_back(empty_block_1 && k == 1 ? 0 : k + 1);
  int64_t total = 0, offset = 0;
  for (int64_t k = 0; k < W; ++k) {
    if (k < r) offset += blocks[static_cast<size_t>(k)];
    total += blocks[static_cast<size_t>(k)];
  }
  const auto row_values = (torch::arange(total, torch::kFloat32) + 1).view({total, 1});
  const auto mine = comm.reduce_scatter_rows(
      (row_values * static_cast<float>(r + 1)).expand({total, 3}).contiguous(), blocks);
  const auto want = (row_values.narrow(0, offset, blocks[static_cast<size_t>(r)]) *
                     static_cast<float>(W * (W + 1) / 2))
                        .expand({blocks[static_cast<size_t>(r)], 3});
  expect_equal(mine, want.contiguous(),
               std::string("reduce_scatter_rows") + (empty_block_1 ? " with an empty block" : ""));
}

void check_broadcast(pic::MpiCommunicator& comm) {
  for (int root = 0; root < comm.world_size(); ++root) {
    auto t = comm.rank() == root ? torch::arange(13, torch::kInt64) * (root + 2)
                                 : torch::zeros({13}, torch::kInt64);
    comm.broadcast(t, root);
    expect_equal(t, torch::arange(13, torch::kInt64) * (root + 2),
                 "broadcast from " + std::to_string(root));
  }
}

void check_errors(pic::MpiCommunicator& comm) {
  // Unsupported dtype and a mismatched trailing shape are errors on every rank, not hangs.
  bool threw = false;
  try {
    auto t = torch::zeros({2}, torch::kFloat16);
    comm.all_reduce_sum(t);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  expect(threw, "float16 all_reduce must throw");
  threw = false;
  try {
    comm.all_gather_rows(torch::zeros({1, comm.rank() == 0 ? 2 : 3}));
  } catch (const std::invalid_argument& e) {
    threw = std::string(e.what()).find("trailing shape") != std::string::npos;
  }
  expect(threw, "mismatched trailing shape must throw on every rank");
  // throw_if_any_rank_failed: every rank gets the lowest failing rank's text.
  threw = false;
  try {
    pic::throw_if_any_rank_failed(comm.mpi_comm(), comm.rank() >= 1 ? "disk full" : "");
  } catch (const std::runtime_error& e) {
    threw = std::string(e.what()) == "rank 1: disk full";
  }
  expect(threw, "throw_if_any_rank_failed");
}

int run_checks(pic::Communicator& base) {
  auto& comm = dynamic_cast<pic::MpiCommunicator&>(base);
  expect(comm.local_rank() == comm.rank(), "one node here: local rank == rank");
  // Default chunking, then 3 elements per MPI call to exercise the split paths.
  for (int64_t chunk : {int64_t{1} << 30, int64_t{3}}) {
    comm.set_max_elements_per_call(chunk);
    check_reductions(comm);
    check_gather(comm);
    check_reduce_scatter(comm, false);
    check_reduce_scatter(comm, true);
    check_broadcast(comm);
  }
  check_errors(comm);
  comm.barrier();
  if (comm.is_root()) std::printf("OK: %d ranks\n", comm.world_size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "throw") == 0) {
    const int failing = std::atoi(argv[2]);
    return pic::run_mpi_main(argc, argv, [failing](pic::Communicator& comm) {
      if (comm.rank() == failing) {
        throw std::runtime_error("deliberate failure on rank " + std::to_string(failing));
      }
      comm.barrier();  // the others would wait here forever without the abort
      return 0;
    });
  }
  return pic::run_mpi_main(argc, argv, run_checks);
}
