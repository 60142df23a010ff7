#pragma once
// The one communication interface of pic (DESIGN.md decision 4).
//
// The numerical core talks to other ranks only through this class. Backends:
//   LocalCommunicator (this folder)  one process, every collective is the identity;
//   MpiCommunicator   (src/comm)     CPU tensors and control values over MPI;
//   NcclCommunicator  (later issue)  CUDA tensors, its unique id broadcast over MPI.
// Every call is collective: all ranks call it in the same order with tensors of the same
// shape and dtype (all_gather_rows: same trailing shape, any row count).
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace pic {

// A collective started by Communicator::start_all_reduce_sum and not yet known to be done.
// Its tensor must stay untouched until wait() returns.
class PendingCollective {
 public:
  virtual ~PendingCollective() = default;
  // Lets the collective advance (MPI progresses a non-blocking collective only inside MPI
  // calls); true once it is complete. Cheap: call it whenever the caller has a moment.
  virtual bool test() = 0;
  // Blocks until it is complete.
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // Rank within the node (from an MPI shared-memory split), to pick a GPU.
  virtual int local_rank() const = 0;

  // In place, over all ranks. The tensor must be contiguous.
  virtual void all_reduce_sum(torch::Tensor& tensor) = 0;
  virtual void all_reduce_max(torch::Tensor& tensor) = 0;
  virtual void all_reduce_min(torch::Tensor& tensor) = 0;
  // Concatenation along dim 0 in rank order; ranks may contribute different row counts.
  virtual torch::Tensor all_gather_rows(const torch::Tensor& tensor) = 0;
  // The sum over ranks of `tensor` [sum(rows_per_rank), ...] (same shape on every rank), of
  // which this rank receives only its block: rows [offset_r, offset_r + rows_per_rank[r]),
  // blocks in rank order. The inverse of all_gather_rows for gradients.
  virtual torch::Tensor reduce_scatter_rows(const torch::Tensor& tensor,
                                            const std::vector<int64_t>& rows_per_rank) = 0;
  // Starts an in-place sum over all ranks and returns at once where the backend can; the
  // result is in `tensor` after wait(). Started collectives form their own sequence, apart
  // from the blocking calls: every rank must start them in the same order. The default
  // runs all_reduce_sum before returning (a pending collective that is already complete).
  virtual std::unique_ptr<PendingCollective> start_all_reduce_sum(torch::Tensor& tensor);
  // In place, from `root` to every rank.
  virtual void broadcast(torch::Tensor& tensor, int root) = 0;
  virtual void barrier() = 0;

  // Takes the whole job down with `message`, printed with this rank's number.
  [[noreturn]] virtual void abort(const std::string& message, int exit_code = 1) = 0;

  // Convenience for control values (step counts, flags, metrics).
  int64_t all_reduce_sum(int64_t value);
  int64_t all_reduce_min(int64_t value);
  int64_t all_reduce_max(int64_t value);
  double all_reduce_sum(double value);
  // Every rank's `value`, in rank order (e.g. each rank's batch rows).
  std::vector<int64_t> all_gather(int64_t value);
  bool is_root() const { return rank() == 0; }
};

std::unique_ptr<Communicator> make_local_communicator();

}  // namespace pic
