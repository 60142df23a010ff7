#pragma once
// Progress lines for long conversions: done/total, rate and ETA, at most one line every
// `interval_seconds`, whole lines only (no '\r', which garbles Slurm logs).
#include <chrono>
#include <cstdint>
#include <ostream>

namespace pic::prep {

class ProgressMeter {
 public:
  ProgressMeter(int64_t total, double interval_seconds, std::ostream& out);
  // Prints a line when the interval has passed since the last one.
  void update(int64_t done);
  double elapsed_seconds() const;

 private:
  using Clock = std::chrono::steady_clock;
  int64_t total_;
  double interval_seconds_;
  std::ostream& out_;
  Clock::time_point start_;
  Clock::time_point last_line_;
};

}  // namespace pic::prep
