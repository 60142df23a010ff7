#include "comm/mpi_communicator.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

namespace pic {
namespace {

MPI_Datatype mpi_type_of(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32: return MPI_FLOAT;
    case torch::kFloat64: return MPI_DOUBLE;
    case torch::kInt32: return MPI_INT32_T;
    case torch::kInt64: return MPI_INT64_T;
    case torch::kUInt8: return MPI_UINT8_T;
    default:
      throw std::invalid_argument(std::string("MpiCommunicator: unsupported dtype ") +
                                  c10::toString(type) +
                                  " (expected float32, float64, int32, int64 or uint8)");
  }
}

void check_cpu_contiguous(const torch::Tensor& tensor, const char* what, int rank) {
  if (!tensor.defined() || !tensor.device().is_cpu() || !tensor.is_contiguous()) {
    throw std::invalid_argument("rank " + std::to_string(rank) + ": MpiCommunicator::" + what +
                                " needs a defined, contiguous CPU tensor");
  }
}

// Every rank has the same `descriptor` of the all_gather_rows input, bar the row count.
constexpr int kMaxGatherDims = 8;
using GatherDescriptor = std::array<int64_t, 2 + kMaxGatherDims>;  // rows, dtype, ndim, dims 1..

GatherDescriptor describe_rows(const torch::Tensor& tensor, int rank) {
  if (tensor.dim() < 1 || tensor.dim() > kMaxGatherDims) {
    throw std::invalid_argument("rank " + std::to_string(rank) +
                                ": all_gather_rows needs a tensor with 1 to 8 dims, got " +
                                std::to_string(tensor.dim()));
  }
  GatherDescriptor d{};
  d[0] = tensor.size(0);
  d[1] = static_cast<int64_t>(tensor.scalar_type());
  d[2] = tensor.dim();
  for (int64_t i = 1; i < tensor.dim(); ++i) d[2 + i] = tensor.size(i);
  return d;
}

// One MPI_Iallreduce per chunk of at most max_elements_per_call elements.
class MpiPendingCollective final : public PendingCollective {
 public:
  MpiPendingCollective(torch::Tensor tensor, std::vector<MPI_Request> requests, int rank)
      : tensor_(std::move(tensor)), requests_(std::move(requests)), rank_(rank) {}

  ~MpiPendingCollective() override {
    if (complete_) return;
    // Abandoned during an error: MPI forbids freeing or cancelling a collective's request,
    // and waiting could hang on ranks that never start it. The job is about to be aborted
    // (run_mpi_main), so keep the buffer alive for MPI rather than free memory it may write.
    new torch::Tensor(std::move(tensor_));  // NOLINT: deliberate leak, see above
  }
  MpiPendingCollective(const MpiPendingCollective&) = delete;
  MpiPendingCollective& operator=(const MpiPendingCollective&) = delete;

  bool test() override {
    if (complete_) return true;
    int done = 0;
    check_mpi(MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &done,
                          MPI_STATUSES_IGNORE),
              "MPI_Testall", rank_);
    complete_ = done != 0;
    return complete_;
  }

  void wait() override {
    if (complete_) return;
    check_mpi(MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(),
                          MPI_STATUSES_IGNORE),
              "MPI_Waitall", rank_);
    complete_ = true;
  }

 private:
  torch::Tensor tensor_;  // holds the buffer while MPI works on it
  std::vector<MPI_Request> requests_;
  int rank_;
  bool complete_ = false;
};

}  // namespace

// ---------------------------------------------------------------------------------------
MpiCommunicator::MpiCommunicator(MPI_Comm comm) {
  check_mpi(MPI_Comm_dup(comm, &comm_), "MPI_Comm_dup", 0);
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  check_mpi(MPI_Comm_dup(comm_, &started_comm_), "MPI_Comm_dup", 0);
  MPI_Comm_set_errhandler(started_comm_, MPI_ERRORS_RETURN);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &world_size_);

  // Local rank: our position among the ranks that share this node's memory.
  MPI_Comm node = MPI_COMM_NULL;
  check_mpi(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node),
            "MPI_Comm_split_type", rank_);
  MPI_Comm_rank(node, &local_rank_);
  MPI_Comm_free(&node);
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  if (started_comm_ != MPI_COMM_NULL) MPI_Comm_free(&started_comm_);
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void MpiCommunicator::set_max_elements_per_call(int64_t max_elements) {
  if (max_elements < 1 || max_elements > (int64_t{1} << 30)) {
    throw std::invalid_argument("max_elements_per_call must be in [1, 2^30], got " +
                                std::to_string(max_elements));
  }
  max_elements_per_call_ = max_elements;
}

void MpiCommunicator::all_reduce(torch::Tensor& tensor, MPI_Op op, const char* what) {
  check_cpu_contiguous(tensor, what, rank_);
  const MPI_Datatype type = mpi_type_of(tensor.scalar_type());
  auto* bytes = static_cast<char*>(tensor.data_ptr());
  const int64_t element_size = tensor.element_size();

  // Chunks of at most max_elements_per_call_ elements; every rank has the same numel.
  for (int64_t done = 0; done < tensor.numel(); done += max_elements_per_call_) {
    const int count = static_cast<int>(std::min(max_elements_per_call_, tensor.numel() - done));
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, bytes + done * element_size, count, type, op, comm_),
              "MPI_Allreduce", rank_);
  }
}

std::unique_ptr<PendingCollective> MpiCommunicator::start_all_reduce_sum(torch::Tensor& tensor) {
  check_cpu_contiguous(tensor, "start_all_reduce_sum", rank_);
  const MPI_Datatype type = mpi_type_of(tensor.scalar_type());
  auto* bytes = static_cast<char*>(tensor.data_ptr());
  const int64_t element_size = tensor.element_size();
  std::vector<MPI_Request> requests;
  for (int64_t done = 0; done < tensor.numel(); done += max_elements_per_call_) {
    const int count = static_cast<int>(std::min(max_elements_per_call_, tensor.numel() - done));
    requests.emplace_back();
    check_mpi(MPI_Iallreduce(MPI_IN_PLACE, bytes + done * element_size, count, type, MPI_SUM,
                             started_comm_, &requests.back()),
              "MPI_Iallreduce", rank_);
  }
  return std::make_unique<MpiPendingCollective>(tensor, std::move(requests), rank_);
}

void MpiCommunicator::all_reduce_sum(torch::Tensor& tensor) {
  all_reduce(tensor, MPI_SUM, "all_reduce_sum");
}
void MpiCommunicator::all_reduce_max(torch::Tensor& tensor) {
  all_reduce(tensor, MPI_MAX, "all_reduce_max");
}
void MpiCommunicator::all_reduce_min(torch::Tensor& tensor) {
  all_reduce(tensor, MPI_MIN, "all_reduce_min");
}

torch::Tensor MpiCommunicator::all_gather_rows(const torch::Tensor& input) {
  check_cpu_contiguous(input, "all_gather_rows", rank_);
  const MPI_Datatype type = mpi_type_of(input.scalar_type());

  // 1. Every rank's row count, and a check that dtype and trailing shape agree.
  const GatherDescriptor mine = describe_rows(input, rank_);
  std::vector<GatherDescriptor> all(static_cast<size_t>(world_size_));
  check_mpi(MPI_Allgather(mine.data(), static_cast<int>(mine.size()), MPI_INT64_T, all.data(),
                          static_cast<int>(mine.size()), MPI_INT64_T, comm_),
            "MPI_Allgather", rank_);
  std::vector<int64_t> rows(all.size());
  int64_t total_rows = 0;
  for (size_t r = 0; r < all.size(); ++r) {
    if (!std::equal(all[r].begin() + 1, all[r].end(), all[0].begin() + 1)) {
      throw std::invalid_argument("all_gather_rows: rank " + std::to_string(r) +
                                  " passed a tensor whose dtype or trailing shape differs from "
                                  "rank 0's (every rank must agree on all dims but the first)");
    }
    rows[r] = all[r][0];
    total_rows += rows[r];
  }

  // 2. The output [sum of rows, ...] in rank order.
  std::vector<int64_t> out_shape = input.sizes().vec();
  out_shape[0] = total_rows;
  torch::Tensor out = torch::empty(out_shape, input.options());
  int64_t row_elems = 1;
  for (int64_t i = 1; i < input.dim(); ++i) row_elems *= input.size(i);
  const int64_t total_elems = total_rows * row_elems;
  if (total_elems == 0) return out;

  // 3a. Small enough for int counts: one MPI_Allgatherv.
  if (total_elems <= max_elements_per_call_) {
    std::vector<int> counts(all.size()), displs(all.size());
    int64_t offset = 0;
    for (size_t r = 0; r < all.size(); ++r) {
      counts[r] = static_cast<int>(rows[r] * row_elems);
      displs[r] = static_cast<int>(offset);
      offset += rows[r] * row_elems;
    }
    check_mpi(MPI_Allgatherv(input.data_ptr(), counts[static_cast<size_t>(rank_)], type,
                             out.data_ptr(), counts.data(), displs.data(), type, comm_),
              "MPI_Allgatherv", rank_);
    return out;
  }

  // 3b. Larger: each rank's block is broadcast from its owner in chunks that fit an int.
  // (Rare: only huge feature gathers; displacements would overflow Allgatherv's int.)
  auto* out_bytes = static_cast<char*>(out.data_ptr());
  const int64_t element_size = out.element_size();
  int64_t offset = 0;
  for (int r = 0; r < world_size_; ++r) {
    const int64_t block = rows[static_cast<size_t>(r)] * row_elems;
    if (r == rank_ && block > 0) {
      std::memcpy(out_bytes + offset * element_size, input.data_ptr(),
                  static_cast<size_t>(block * element_size));
    }
    for (int64_t done = 0; done < block; done += max_elements_per_call_) {
      const int count = static_cast<int>(std::min(max_elements_per_call_, block - done));
      check_mpi(MPI_Bcast(out_bytes + (offset + done) * element_size, count, type, r, comm_),
                "MPI_Bcast", rank_);
    }
    offset += block;
  }
  return out;
}

torch::Tensor MpiCommunicator::reduce_scatter_rows(const torch::Tensor& input,
                                                   const std::vector<int64_t>& rows_per_rank) {
  check_cpu_contiguous(input, "reduce_scatter_rows", rank_);
  const MPI_Datatype type = mpi_type_of(input.scalar_type());
  int64_t total_rows = 0;
  for (int64_t rows : rows_per_rank) total_rows += rows;
  if (static_cast<int>(rows_per_rank.size()) != world_size_ || input.dim() < 1 ||
      input.size(0) != total_rows) {
    throw std::invalid_argument(
        "rank " + std::to_string(rank_) + ": reduce_scatter_rows needs one row count per rank (" +
        std::to_string(world_size_) + ") adding up to the tensor's rows, got " +
        std::to_string(rows_per_rank.size()) + " counts adding up to " +
        std::to_string(total_rows) + " for " + c10::str(input.sizes()));
  }
  const int64_t row_elems = total_rows == 0 ? 0 : input.numel() / total_rows;
  std::vector<int64_t> out_shape = input.sizes().vec();
  out_shape[0] = rows_per_rank[static_cast<size_t>(rank_)];

  // Too large for MPI's int counts (never for a batch of features): sum everywhere, keep ours.
  if (input.numel() > max_elements_per_call_) {
    torch::Tensor sum = input.clone();
    all_reduce(sum, MPI_SUM, "reduce_scatter_rows");
    int64_t offset = 0;
    for (int r = 0; r < rank_; ++r) offset += rows_per_rank[static_cast<size_t>(r)];
    return sum.narrow(0, offset, out_shape[0]).clone();
  }
  std::vector<int> counts(rows_per_rank.size());
  for (size_t r = 0; r < counts.size(); ++r) {
    counts[r] = static_cast<int>(rows_per_rank[r] * row_elems);
  }
  torch::Tensor out = torch::empty(out_shape, input.options());
  check_mpi(MPI_Reduce_scatter(input.data_ptr(), out.data_ptr(), counts.data(), type, MPI_SUM,
                               comm_),
            "MPI_Reduce_scatter", rank_);
  return out;
}

void MpiCommunicator::broadcast(torch::Tensor& tensor, int root) {
  check_cpu_contiguous(tensor, "broadcast", rank_);
  if (root < 0 || root >= world_size_) {
    throw std::invalid_argument("broadcast: root " + std::to_string(root) +
                                " is outside the world of " + std::to_string(world_size_));
  }
  const MPI_Datatype type = mpi_type_of(tensor.scalar_type());
  auto* bytes = static_cast<char*>(tensor.data_ptr());
  const int64_t element_size = tensor.element_size();
  for (int64_t done = 0; done < tensor.numel(); done += max_elements_per_call_) {
    const int count = static_cast<int>(std::min(max_elements_per_call_, tensor.numel() - done));
    check_mpi(MPI_Bcast(bytes + done * element_size, count, type, root, comm_), "MPI_Bcast",
              rank_);
  }
}

void MpiCommunicator::barrier() { check_mpi(MPI_Barrier(comm_), "MPI_Barrier", rank_); }

void MpiCommunicator::abort(const std::string& message, int exit_code) {
  abort_mpi_job(message, exit_code);
}

// ---------------------------------------------------------------------------------------
MPI_Comm mpi_comm_of(Communicator& comm, const std::string& what) {
  auto* mpi = dynamic_cast<MpiCommunicator*>(&comm);
  if (mpi == nullptr) {
    throw std::invalid_argument(what + " needs the MPI communicator (pic::MpiCommunicator); "
                                "start the program through run_mpi_main");
  }
  return mpi->mpi_comm();
}

int run_mpi_main(int argc, char** argv, std::function<int(Communicator&)> body) {
  return run_mpi_program(argc, argv, [&](MPI_Comm world) {
    MpiCommunicator comm(world);
    return body(comm);
  });
}

}  // namespace pic
