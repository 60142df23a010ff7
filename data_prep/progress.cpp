#include "progress.h"

#include <cstdio>

namespace pic::prep {

ProgressMeter::ProgressMeter(int64_t total, double interval_seconds, std::ostream& out)
    : total_(total),
      interval_seconds_(interval_seconds),
      out_(out),
      start_(Clock::now()),
      last_line_(start_) {}

double ProgressMeter::elapsed_seconds() const {
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

void ProgressMeter::update(int64_t done) {
  const Clock::time_point now = Clock::now();
  if (std::chrono::duration<double>(now - last_line_).count() < interval_seconds_) return;
  last_line_ = now;
  const double elapsed = elapsed_seconds();
  const double rate = elapsed > 0 ? done / elapsed : 0.0;
  const double eta = rate > 0 ? (total_ - done) / rate : 0.0;
  char line[160];
  std::snprintf(line, sizeof line,
                "pic-prep: %lld/%lld images (%.1f%%), %.0f images/s, elapsed %.0f s, ETA %.0f s",
                static_cast<long long>(done), static_cast<long long>(total_),
                total_ > 0 ? 100.0 * done / total_ : 100.0, rate, elapsed, eta);
  out_ << line << std::endl;
}

}  // namespace pic::prep
