#include "train/rank_strings.h"

#include <unistd.h>

#include <cstdio>

namespace pic {

std::string broadcast_string(Communicator& comm, const std::string& text, int root) {
  torch::Tensor length = torch::tensor({static_cast<int64_t>(text.size())}, torch::kInt64);
  comm.broadcast(length, root);
  torch::Tensor bytes = torch::zeros({length.item<int64_t>()}, torch::kUInt8);
  if (comm.rank() == root) std::copy(text.begin(), text.end(), bytes.data_ptr<uint8_t>());
  comm.broadcast(bytes, root);
  const auto* data = reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>());
  return std::string(data, data + bytes.numel());
}

std::vector<std::string> all_gather_strings(Communicator& comm, const std::string& text) {
  // Fixed-width rows: every rank pads to the longest text.
  const int64_t width = comm.all_reduce_max(static_cast<int64_t>(text.size())) + 1;
  torch::Tensor row = torch::zeros({1, width}, torch::kUInt8);
  std::copy(text.begin(), text.end(), row.data_ptr<uint8_t>());
  torch::Tensor rows = comm.all_gather_rows(row).contiguous();
  std::vector<std::string> texts;
  for (int64_t r = 0; r < rows.size(0); ++r) {
    const auto* data = reinterpret_cast<const char*>(rows[r].data_ptr<uint8_t>());
    texts.emplace_back(data);
  }
  return texts;
}

std::string placement_table(Communicator& comm, int torch_threads, int loader_threads) {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  char line[512];
  std::snprintf(line, sizeof line,
                "  rank %4d  local %3d  host %-24s  pid %-8d  torch threads %d  "
                "loader threads %d",
                comm.rank(), comm.local_rank(), host, static_cast<int>(getpid()), torch_threads,
                loader_threads);
  std::string table;
  for (const auto& text : all_gather_strings(comm, line)) table += text + "\n";
  return table;
}

}  // namespace pic
