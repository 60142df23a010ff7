#include "train/fault_injection.h"

#include <cstdlib>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

namespace pic {
namespace {

// Adds the steps of one "RANK:STEP[,STEP...]" entry to `steps` when RANK is `rank`; throws
// std::invalid_argument when the entry is malformed (checked on every rank).
void parse_entry(const std::string& entry, int rank, std::set<int64_t>& steps,
                 const std::string& whole) {
  const auto fail = [&] {
    throw std::invalid_argument("PIC_TEST_NONFINITE_AT='" + whole +
                                "': expected RANK:STEP[,STEP...][;RANK:STEP...] with steps "
                                "counted from 1");
  };
  const size_t colon = entry.find(':');
  if (colon == std::string::npos) fail();
  int target_rank = -1;
  std::set<int64_t> parsed;
  try {
    size_t used = 0;
    target_rank = std::stoi(entry.substr(0, colon), &used);
    if (used != colon || target_rank < 0) fail();
    std::stringstream list(entry.substr(colon + 1));
    std::string item;
    while (std::getline(list, item, ',')) {
      const long long step = std::stoll(item, &used);
      if (used != item.size() || step < 1) fail();
      parsed.insert(step - 1);
    }
  } catch (const std::invalid_argument&) {
    fail();
  } catch (const std::out_of_range&) {
    fail();
  }
  if (parsed.empty()) fail();
  if (target_rank == rank) steps.insert(parsed.begin(), parsed.end());
}

}  // namespace

FaultInjection FaultInjection::from_environment(int rank) {
  FaultInjection injection;
  const char* value = std::getenv("PIC_TEST_NONFINITE_AT");
  if (value == nullptr || *value == '\0') return injection;
  std::stringstream entries(value);
  std::string entry;
  while (std::getline(entries, entry, ';')) parse_entry(entry, rank, injection.pending_, value);
  return injection;
}

bool FaultInjection::poison(int64_t step, CropBatch& batch) {
  if (pending_.erase(step) == 0) return false;
  for (torch::Tensor& group : batch.groups) {
    group = torch::full_like(group, std::numeric_limits<float>::quiet_NaN());
  }
  return true;
}

}  // namespace pic
