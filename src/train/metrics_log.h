#pragma once
// What rank 0 reports about training: one fixed-field line per logged step for people (no
// carriage returns, they garble Slurm logs) and the same numbers as one JSON object per
// line in OUTPUT_DIR/metrics.jsonl for programs, flushed at once. After a resume the file
// is appended to; if a run died after logging steps past its last checkpoint, the resumed
// run logs those steps again, and a reader keeps the last line of each step.
#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>

namespace pic {

struct StepMetrics {
  int64_t step = 0;         // optimizer steps done (1-based: the step just finished)
  int64_t total_steps = 0;  // of the whole schedule
  int64_t epoch = 0;        // 1-based (window) epoch of that step
  double lr = 0;
  double loss = 0;                // this step, mean over ranks
  double loss_avg = 0;            // mean over the steps of this process's run
  double images_per_second = 0;   // all ranks, over the last logging interval
  double data_wait_fraction = 0;  // rank 0's time waiting for batches / interval time
  double seconds_per_step = 0;    // over the last logging interval
  // Rank 0's split of a step over the interval, seconds per step: forward + backward, the
  // gradient all-reduce not hidden behind backward, the optimizer update. The rest of
  // seconds_per_step is waiting for data, logging and checkpoints.
  double compute_seconds = 0;
  double sync_seconds = 0;
  double optimizer_seconds = 0;
  double eta_seconds = 0;  // to the end of this run (--max-steps or the schedule)
  int64_t skipped_steps = 0;  // steps skipped for a non-finite loss or gradient, this process
  double lr_scale = 1.0;      // factor on the schedule's lr after non-finite reloads
};

// "epoch 3  step 1200/9000  lr 0.0300000  loss 7.9812 (8.1022)  img/s 812.3  wait 3.1%  ETA
// 1:02:11"
std::string format_step_line(const StepMetrics& metrics);
// {"step": 1200, "total_steps": 9000, "epoch": 3, "lr": ..., "loss": %.9g, ...}
std::string step_metrics_json(const StepMetrics& metrics);
// h:mm:ss
std::string format_duration(double seconds);

class MetricsFile {
 public:
  // Opens `path` for appending (created if missing). Throws std::runtime_error naming it.
  explicit MetricsFile(const std::string& path);
  void write(const StepMetrics& metrics);  // one line, flushed

 private:
  std::string path_;
  std::ofstream out_;
};

// Step timing between two logged steps: wall time, steps, and the loader's cumulative
// waiting time, to turn into images/s and a data-wait fraction.
class IntervalMeter {
 public:
  explicit IntervalMeter(double wait_seconds_so_far);
  // Closes the interval at `steps_done` steps since construction-or-last-close with the
  // loader's cumulative wait; fills the rate fields of `metrics`.
  void close(int64_t steps, int64_t images_per_step, double wait_seconds_so_far, int64_t steps_left,
             StepMetrics& metrics);

 private:
  using Clock = std::chrono::steady_clock;
  Clock::time_point start_;
  double wait_at_start_ = 0;
};

}  // namespace pic
