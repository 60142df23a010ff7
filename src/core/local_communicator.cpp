#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/communicator.h"

namespace pic {

int64_t Communicator::all_reduce_sum(int64_t value) {
  auto t = torch::tensor({value}, torch::kInt64);
  all_reduce_sum(t);
  return t.item<int64_t>();
}

int64_t Communicator::all_reduce_min(int64_t value) {
  auto t = torch::tensor({value}, torch::kInt64);
  all_reduce_min(t);
  return t.item<int64_t>();
}

int64_t Communicator::all_reduce_max(int64_t value) {
  auto t = torch::tensor({value}, torch::kInt64);
  all_reduce_max(t);
  return t.item<int64_t>();
}

double Communicator::all_reduce_sum(double value) {
  auto t = torch::tensor({value}, torch::kFloat64);
  all_reduce_sum(t);
  return t.item<double>();
}

std::vector<int64_t> Communicator::all_gather(int64_t value) {
  const torch::Tensor all = all_gather_rows(torch::tensor({value}, torch::kInt64)).contiguous();
  return {all.data_ptr<int64_t>(), all.data_ptr<int64_t>() + all.numel()};
}

namespace {

class CompletedCollective final : public PendingCollective {
 public:
  bool test() override { return true; }
  void wait() override {}
};

}  // namespace

std::unique_ptr<PendingCollective> Communicator::start_all_reduce_sum(torch::Tensor& tensor) {
  all_reduce_sum(tensor);
  return std::make_unique<CompletedCollective>();
}

namespace {

// A world of one: every collective leaves its input as it is.
class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  int local_rank() const override { return 0; }
  void all_reduce_sum(torch::Tensor&) override {}
  void all_reduce_max(torch::Tensor&) override {}
  void all_reduce_min(torch::Tensor&) override {}
  torch::Tensor all_gather_rows(const torch::Tensor& tensor) override { return tensor.clone(); }
  torch::Tensor reduce_scatter_rows(const torch::Tensor& tensor,
                                    const std::vector<int64_t>& rows_per_rank) override {
    if (rows_per_rank.size() != 1 || tensor.dim() < 1 || tensor.size(0) != rows_per_rank[0]) {
      throw std::invalid_argument("reduce_scatter_rows: a world of one needs one block of " +
                                  std::to_string(tensor.dim() < 1 ? 0 : tensor.size(0)) + " rows");
    }
    return tensor.clone();
  }
  void broadcast(torch::Tensor&, int) override {}
  void barrier() override {}
  [[noreturn]] void abort(const std::string& message, int exit_code) override {
    std::fprintf(stderr, "pic: error: %s\n", message.c_str());
    std::fflush(stderr);
    std::exit(exit_code);
  }
};

}  // namespace

std::unique_ptr<Communicator> make_local_communicator() {
  return std::make_unique<LocalCommunicator>();
}

}  // namespace pic
