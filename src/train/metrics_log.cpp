#include "train/metrics_log.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "train/json_object.h"

namespace pic {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "-:--:--";
  const auto total = static_cast<int64_t>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", static_cast<long long>(total / 3600),
                static_cast<long long>(total / 60 % 60), static_cast<long long>(total % 60));
  return text;
}

std::string format_step_line(const StepMetrics& m) {
  char text[256];
  std::snprintf(text, sizeof text,
                "epoch %lld  step %lld/%lld  lr %.7f  loss %.4f (%.4f)  img/s %.1f  wait %.1f%%  "
                "ETA %s",
                static_cast<long long>(m.epoch), static_cast<long long>(m.step),
                static_cast<long long>(m.total_steps), m.lr, m.loss, m.loss_avg,
                m.images_per_second, 100.0 * m.data_wait_fraction,
                format_duration(m.eta_seconds).c_str());
  std::string line = text;
  if (m.skipped_steps > 0) line += "  skipped " + std::to_string(m.skipped_steps);
  return line;
}

std::string step_metrics_json(const StepMetrics& m) {
  JsonObject json;
  json.add("step", m.step)
      .add("total_steps", m.total_steps)
      .add("epoch", m.epoch)
      .add("lr", m.lr)
      .add("loss", m.loss)
      .add("loss_avg", m.loss_avg)
      .add("images_per_second", m.images_per_second)
      .add("data_wait_fraction", m.data_wait_fraction)
      .add("seconds_per_step", m.seconds_per_step)
      .add("compute_seconds", m.compute_seconds)
      .add("sync_seconds", m.sync_seconds)
      .add("optimizer_seconds", m.optimizer_seconds)
      .add("eta_seconds", m.eta_seconds)
      .add("skipped_steps", m.skipped_steps)
      .add("lr_scale", m.lr_scale);
  return json.dump();
}

MetricsFile::MetricsFile(const std::string& path) : path_(path), out_(path, std::ios::app) {
  if (!out_) throw std::runtime_error("cannot open '" + path + "' for appending");
}

void MetricsFile::write(const StepMetrics& metrics) {
  out_ << step_metrics_json(metrics) << '\n';
  out_.flush();
  if (!out_) throw std::runtime_error("cannot write to '" + path_ + "'");
}

IntervalMeter::IntervalMeter(double wait_seconds_so_far)
    : start_(Clock::now()), wait_at_start_(wait_seconds_so_far) {}

void IntervalMeter::close(int64_t steps, int64_t images_per_step, double wait_seconds_so_far,
                          int64_t steps_left, StepMetrics& metrics) {
  const auto now = Clock::now();
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double waited = wait_seconds_so_far - wait_at_start_;
  metrics.seconds_per_step = steps > 0 ? seconds / steps : 0;
  metrics.images_per_second = seconds > 0 ? steps * images_per_step / seconds : 0;
  metrics.data_wait_fraction = seconds > 0 ? std::min(1.0, std::max(0.0, waited / seconds)) : 0;
  metrics.eta_seconds = metrics.seconds_per_step * steps_left;
  start_ = now;
  wait_at_start_ = wait_seconds_so_far;
}

}  // namespace pic
