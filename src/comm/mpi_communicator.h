#pragma once
// The MPI backend of pic::Communicator: CPU tensors and control values (DESIGN.md decision 4).
//
// Supported dtypes: float32, float64, int32, int64, uint8; tensors must live on the CPU and
// be contiguous. MPI counts are `int`, so every transfer is split into calls of at most
// max_elements_per_call() elements (2^30 by default; tests lower it to exercise the split).
// Errors from MPI itself are returned (MPI_ERRORS_RETURN on our duplicated communicator) and
// turned into std::runtime_error naming the call and the rank.
//
// A failing rank must never leave the others waiting in a collective: run_mpi_main catches
// any exception on any rank, prints it with the rank number and calls MPI_Abort, which takes
// the whole job down. MpiSession, throw_if_any_rank_failed and abort_mpi_job live in the
// torch-free mpi_job.h.
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <string>

#include "comm/mpi_job.h"
#include "core/communicator.h"

namespace pic {

class MpiCommunicator final : public Communicator {
 public:
  // Duplicates `comm` so that pic's messages never mix with anyone else's.
  explicit MpiCommunicator(MPI_Comm comm = MPI_COMM_WORLD);
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int world_size() const override { return world_size_; }
  int local_rank() const override { return local_rank_; }

  void all_reduce_sum(torch::Tensor& tensor) override;
  void all_reduce_max(torch::Tensor& tensor) override;
  void all_reduce_min(torch::Tensor& tensor) override;
  torch::Tensor all_gather_rows(const torch::Tensor& tensor) override;
  torch::Tensor reduce_scatter_rows(const torch::Tensor& tensor,
                                    const std::vector<int64_t>& rows_per_rank) override;
  // MPI_Iallreduce on a second duplicate of the communicator, so that started collectives
  // never interleave with the blocking ones (SyncBN's, the head's) issued meanwhile.
  std::unique_ptr<PendingCollective> start_all_reduce_sum(torch::Tensor& tensor) override;
  void broadcast(torch::Tensor& tensor, int root) override;
  void barrier() override;
  [[noreturn]] void abort(const std::string& message, int exit_code = 1) override;

  using Communicator::all_reduce_max;
  using Communicator::all_reduce_min;
  using Communicator::all_reduce_sum;

  // The (duplicated) communicator, for MPI-IO / parallel HDF5.
  MPI_Comm mpi_comm() const { return comm_; }

  // Largest element count passed to one MPI call; must be in [1, 2^30]. For tests.
  void set_max_elements_per_call(int64_t max_elements);
  int64_t max_elements_per_call() const { return max_elements_per_call_; }

 private:
  void all_reduce(torch::Tensor& tensor, MPI_Op op, const char* what);

  MPI_Comm comm_ = MPI_COMM_NULL;
  MPI_Comm started_comm_ = MPI_COMM_NULL;  // the started (non-blocking) collectives' sequence
  int rank_ = 0;
  int world_size_ = 1;
  int local_rank_ = 0;
  int64_t max_elements_per_call_ = int64_t{1} << 30;
};

// The MPI communicator behind `comm`, or a std::invalid_argument naming `what` when `comm`
// is not an MpiCommunicator.
MPI_Comm mpi_comm_of(Communicator& comm, const std::string& what);

// The main() of an MPI program: starts MPI, builds the communicator, runs `body` and returns
// its exit code. An exception escaping `body` on any rank aborts the whole job with that
// rank's message.
int run_mpi_main(int argc, char** argv, std::function<int(Communicator&)> body);

}  // namespace pic
