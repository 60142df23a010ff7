#include "core/gradient_buckets.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <cmath>
#include <stdexcept>
#include <thread>

namespace pic {
namespace {

// Runs after a leaf's AccumulateGrad node: the parameter's gradient is complete for this pass.
class GradientReadyHook final : public torch::autograd::FunctionPostHook {
 public:
  GradientReadyHook(GradientBuckets* owner, size_t index) : owner_(owner), index_(index) {}
  torch::autograd::variable_list operator()(
      const torch::autograd::variable_list& outputs,
      const torch::autograd::variable_list& /*inputs*/) override {
    owner_->on_gradient_ready(index_);
    return outputs;
  }

 private:
  GradientBuckets* owner_;
  size_t index_;
};

}  // namespace

// The accumulators are held here: a leaf keeps only a weak reference to its AccumulateGrad
// node, and a node rebuilt later would not carry our hook.
struct GradientBuckets::Hooks {
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators;
  std::vector<uintptr_t> keys;
  std::thread::id backward_thread;
};

GradientBuckets::GradientBuckets(const NamedTensors& parameters, Communicator& comm,
                                 GradientBucketOptions options)
    : comm_(comm), options_(options), hooks_(std::make_unique<Hooks>()) {
  if (options_.bucket_bytes <= 0) {
    throw std::invalid_argument("GradientBuckets: bucket size must be positive, got " +
                                std::to_string(options_.bucket_bytes) + " bytes");
  }
  // Reverse registration order, cut into buckets of at most bucket_bytes (a larger
  // parameter gets a bucket of its own).
  std::vector<std::vector<size_t>> groups;
  int64_t group_bytes = 0;
  slots_.reserve(parameters.size());
  for (size_t k = parameters.size(); k-- > 0;) {
    const auto& [name, param] = parameters[k];
    if (param.scalar_type() != torch::kFloat32 || !param.is_contiguous() || !param.is_leaf()) {
      throw std::invalid_argument("GradientBuckets: parameter '" + name +
                                  "' must be a contiguous float32 leaf tensor");
    }
    if (!slots_.empty() && param.device() != slots_.front().param.device()) {
      throw std::invalid_argument("GradientBuckets: parameter '" + name +
                                  "' is on another device than the others");
    }
    const int64_t bytes = param.numel() * 4;
    if (groups.empty() || group_bytes + bytes > options_.bucket_bytes) {
      groups.emplace_back();
      group_bytes = 0;
    }
    groups.back().push_back(slots_.size());
    group_bytes += bytes;
    slots_.push_back(Slot{name, param, {}, groups.size() - 1, false});
  }

  torch::NoGradGuard no_grad;
  for (const std::vector<size_t>& group : groups) {
    int64_t numel = 0;
    for (size_t s : group) numel += slots_[s].param.numel();
    Bucket bucket;
    bucket.flat = torch::zeros({numel}, slots_[group.front()].param.options());
    bucket.slots = group;
    int64_t offset = 0;
    for (size_t s : group) {
      Slot& slot = slots_[s];
      slot.view = bucket.flat.narrow(0, offset, slot.param.numel()).view(slot.param.sizes());
      offset += slot.param.numel();
      torch::Tensor& grad = slot.param.mutable_grad();
      if (grad.defined()) slot.view.copy_(grad);
      grad = slot.view;
    }
    buckets_.push_back(std::move(bucket));
  }

  for (size_t s = 0; s < slots_.size(); ++s) {
    auto accumulator = torch::autograd::impl::grad_accumulator(slots_[s].param);
    if (!accumulator) {
      throw std::invalid_argument("GradientBuckets: parameter '" + slots_[s].name +
                                  "' does not require a gradient");
    }
    hooks_->keys.push_back(
        accumulator->add_post_hook(std::make_unique<GradientReadyHook>(this, s)));
    hooks_->accumulators.push_back(std::move(accumulator));
  }
}

GradientBuckets::~GradientBuckets() {
  for (size_t s = 0; s < hooks_->accumulators.size(); ++s) {
    hooks_->accumulators[s]->del_post_hook(hooks_->keys[s]);
  }
}

void GradientBuckets::zero_grad() {
  if (armed_) {
    throw std::logic_error("GradientBuckets: zero_grad() again before finish()");
  }
  for (Bucket& bucket : buckets_) {
    bucket.flat.zero_();
    bucket.waiting = bucket.slots.size();
    bucket.pending.reset();
  }
  for (Slot& slot : slots_) {
    slot.ready = false;
    // Keep each gradient a view of its bucket even if someone replaced it.
    if (!slot.param.grad().defined() || !slot.param.grad().is_same(slot.view)) {
      slot.param.mutable_grad() = slot.view;
    }
  }
  next_to_start_ = 0;
  oldest_unfinished_ = 0;
  started_during_backward_ = 0;
  hooks_->backward_thread = std::this_thread::get_id();
  armed_ = true;
}

void GradientBuckets::on_gradient_ready(size_t index) {
  if (!armed_) return;  // a backward pass outside zero_grad()/finish(): not ours to reduce
  Slot& slot = slots_[index];
  if (slot.ready) {
    throw std::logic_error("GradientBuckets: gradient of '" + slot.name +
                           "' accumulated twice in one step (two backward passes?)");
  }
  slot.ready = true;
  // AccumulateGrad adds into a defined gradient in place; if the gradient is no longer our
  // view (replaced since zero_grad), bring its value home.
  const torch::Tensor& grad = slot.param.grad();
  if (!grad.is_same(slot.view)) {
    torch::NoGradGuard no_grad;
    if (grad.defined()) slot.view.copy_(grad);
    slot.param.mutable_grad() = slot.view;
  }
  --buckets_[slot.bucket].waiting;
  // MPI is called from the thread that armed us only (MPI_THREAD_FUNNELED); LibTorch runs
  // a CPU backward pass on the calling thread, so this holds except on exotic set-ups,
  // which then simply get no overlap.
  if (!options_.overlap || std::this_thread::get_id() != hooks_->backward_thread) return;
  const size_t before = next_to_start_;
  start_ready_buckets();
  started_during_backward_ += static_cast<int64_t>(next_to_start_ - before);
  while (oldest_unfinished_ < next_to_start_ && buckets_[oldest_unfinished_].pending->test()) {
    ++oldest_unfinished_;
  }
}

void GradientBuckets::start_ready_buckets() {
  while (next_to_start_ < buckets_.size() && buckets_[next_to_start_].waiting == 0) {
    start(buckets_[next_to_start_]);
    ++next_to_start_;
  }
}

void GradientBuckets::start(Bucket& bucket) {
  bucket.pending = comm_.start_all_reduce_sum(bucket.flat);
}

void GradientBuckets::finish() {
  if (!armed_) throw std::logic_error("GradientBuckets: finish() without zero_grad()");
  armed_ = false;
  for (; next_to_start_ < buckets_.size(); ++next_to_start_) start(buckets_[next_to_start_]);
  torch::NoGradGuard no_grad;
  const double world = comm_.world_size();
  for (Bucket& bucket : buckets_) {
    bucket.pending->wait();
    bucket.pending.reset();
    if (world > 1) bucket.flat.div_(world);
  }
}

bool GradientBuckets::all_finite() const {
  for (const Bucket& bucket : buckets_) {
    if (!std::isfinite(bucket.flat.sum().item<float>())) return false;
  }
  return true;
}

std::vector<std::string> GradientBuckets::bucket_parameter_names(int64_t b) const {
  std::vector<std::string> names;
  for (size_t s : buckets_.at(static_cast<size_t>(b)).slots) names.push_back(slots_[s].name);
  return names;
}

int64_t GradientBuckets::bucket_bytes(int64_t b) const {
  return buckets_.at(static_cast<size_t>(b)).flat.numel() * 4;
}

}  // namespace pic
