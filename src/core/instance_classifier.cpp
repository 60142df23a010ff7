#include "core/instance_classifier.h"

#include <stdexcept>
#include <utility>

#include "core/counter_rng.h"

namespace pic {
namespace {

// Separates the classifier's random stream from every other stream keyed by the run seed.
constexpr uint64_t kSimMatrixStream = 0x5049435f53494dull;  // "PIC_SIM"

bool is_every_row(const torch::Tensor& local, int64_t rows) { return local.numel() == rows; }

}  // namespace

UpdateCorrection parse_update_correction(const std::string& name) {
  if (name == "freeze") return UpdateCorrection::kFreeze;
  if (name == "lazy") return UpdateCorrection::kLazy;
  throw std::invalid_argument("unknown weight update correction '" + name +
                              "' (choose freeze or lazy)");
}

const char* to_string(UpdateCorrection correction) {
  return correction == UpdateCorrection::kFreeze ? "freeze" : "lazy";
}

torch::Tensor initial_classifier_rows(uint64_t seed, int64_t begin, int64_t end, int64_t dim) {
  torch::Tensor rows = torch::empty({end - begin, dim}, torch::kFloat);
  auto acc = rows.accessor<float, 2>();
  for (int64_t i = begin; i < end; ++i) {
    CounterRng rng(hash_key({kSimMatrixStream, seed, static_cast<uint64_t>(i)}));
    for (int64_t j = 0; j < dim; ++j) acc[i - begin][j] = static_cast<float>(0.01 * rng.normal());
  }
  return rows;
}

InstanceClassifier::InstanceClassifier(InstanceClassifierConfig config,
                                       std::shared_ptr<const MissedSgdSteps> missed_steps)
    : config_(config), missed_steps_(std::move(missed_steps)) {
  const ShardRange& r = config_.rows;
  if (r.begin < 0 || r.end < r.begin || r.end > config_.num_instances || config_.dim <= 0) {
    throw std::invalid_argument(
        "InstanceClassifier: rows [" + std::to_string(r.begin) + ", " + std::to_string(r.end) +
        ") of " + std::to_string(config_.num_instances) + ", dim " + std::to_string(config_.dim));
  }
  if (config_.correction == UpdateCorrection::kLazy && !missed_steps_) {
    throw std::invalid_argument("InstanceClassifier: lazy correction needs the run's schedule");
  }
  weight_ = initial_classifier_rows(config_.seed, r.begin, r.end, config_.dim);
  momentum_ = torch::zeros_like(weight_);
  if (config_.correction == UpdateCorrection::kLazy) {
    steps_done_.assign(static_cast<size_t>(r.size()), 0);
  }
}

void InstanceClassifier::catch_up(const torch::Tensor& local, int64_t step) {
  if (config_.correction != UpdateCorrection::kLazy) return;
  const int64_t k = local.numel();
  torch::Tensor maps = torch::empty({4, k}, torch::kFloat);  // mm, mw, wm, ww per row
  auto m = maps.accessor<float, 2>();
  auto ids = local.accessor<int64_t, 1>();
  std::vector<int64_t> behind;  // positions in `local` of rows that missed steps
  for (int64_t i = 0; i < k; ++i) {
    int64_t& done = steps_done_[static_cast<size_t>(ids[i])];
    if (done > step) {
      throw std::logic_error("InstanceClassifier: row " + std::to_string(ids[i]) + " is at step " +
                             std::to_string(done) + ", asked for step " + std::to_string(step));
    }
    if (done == step) continue;
    const StateMap2 map = missed_steps_->between(done, step);
    m[0][static_cast<int64_t>(behind.size())] = static_cast<float>(map.mm);
    m[1][static_cast<int64_t>(behind.size())] = static_cast<float>(map.mw);
    m[2][static_cast<int64_t>(behind.size())] = static_cast<float>(map.wm);
    m[3][static_cast<int64_t>(behind.size())] = static_cast<float>(map.ww);
    behind.push_back(ids[i]);
    done = step;
  }
  if (behind.empty()) return;
  const auto n = static_cast<int64_t>(behind.size());
  const torch::Tensor rows = torch::tensor(behind, torch::kLong);
  const torch::Tensor used = maps.narrow(1, 0, n).unsqueeze(2);  // [4, n, 1]
  const torch::Tensor buf = momentum_.index_select(0, rows);
  const torch::Tensor w = weight_.index_select(0, rows);
  momentum_.index_copy_(0, rows, used[0] * buf + used[1] * w);
  weight_.index_copy_(0, rows, used[2] * buf + used[3] * w);
}

torch::Tensor InstanceClassifier::active_rows(const torch::Tensor& local, int64_t step) {
  catch_up(local, step);
  if (is_every_row(local, weight_.size(0))) return weight_;
  return weight_.index_select(0, local);
}

// The same operations as Sgd::step, on the active rows only.
void InstanceClassifier::update(const torch::Tensor& local, const torch::Tensor& grad, double lr,
                                int64_t step) {
  torch::NoGradGuard no_grad;
  const SgdOptions& o = config_.sgd;
  const bool every_row = is_every_row(local, weight_.size(0));
  torch::Tensor w = every_row ? weight_ : weight_.index_select(0, local);
  torch::Tensor buf = every_row ? momentum_ : momentum_.index_select(0, local);
  torch::Tensor d_p = grad;
  if (o.weight_decay != 0) d_p = d_p.add(w, o.weight_decay);
  apply_momentum_step(w, d_p, buf, o.momentum, lr);
  if (!every_row) {
    weight_.index_copy_(0, local, w);
    momentum_.index_copy_(0, local, buf);
  }
  if (config_.correction == UpdateCorrection::kLazy) {
    auto ids = local.accessor<int64_t, 1>();
    for (int64_t i = 0; i < local.numel(); ++i) steps_done_[static_cast<size_t>(ids[i])] = step + 1;
  }
}

void InstanceClassifier::catch_up_all(int64_t steps_done) {
  if (config_.correction != UpdateCorrection::kLazy) return;
  torch::NoGradGuard no_grad;
  catch_up(torch::arange(weight_.size(0), torch::kLong), steps_done);
}

void InstanceClassifier::reset_steps_done(int64_t steps_done) {
  for (int64_t& done : steps_done_) done = steps_done;
}

int64_t InstanceClassifier::host_bytes() const {
  return (weight_.numel() + momentum_.numel()) * static_cast<int64_t>(sizeof(float)) +
         static_cast<int64_t>(steps_done_.size() * sizeof(int64_t));
}

}  // namespace pic
