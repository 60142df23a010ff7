#pragma once
// Data-parallel gradient averaging that overlaps the backward pass (issue 5).
//
// The encoder's gradients live in a few flat float32 buckets of about `bucket_bytes` each,
// and every .grad is a view into its bucket: backward accumulates straight into the buffer
// that is all-reduced, so no gradient is packed or unpacked. A hook runs after each
// parameter's gradient has been accumulated; once a bucket's last gradient is in, its sum
// over ranks is started (Communicator::start_all_reduce_sum) while backward goes on with
// the layers below.
//
// Order: buckets hold the parameters in reverse registration order, roughly the order in
// which backward produces their gradients, and are started strictly in bucket order, which
// every rank agrees on whatever order its own gradients arrive in (a bucket that fills early
// waits for the ones before it). finish() starts whatever backward left, waits, and divides
// by the world size. A parameter that got no gradient this step keeps a zero gradient and is
// averaged with the others, so every rank ends the step with the same gradients.
//
// Progress: MPI advances a non-blocking collective only inside MPI calls, so each hook also
// tests the oldest unfinished bucket. There is no background progress thread: the overlap
// is as fine-grained as the parameters (one chance per parameter of the backward pass).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/communicator.h"
#include "core/sgd.h"

namespace pic {

struct GradientBucketOptions {
  int64_t bucket_bytes = int64_t{25} << 20;
  // false: every bucket is started by finish(), after backward. The same arithmetic with no
  // overlap, for measuring what the overlap hides.
  bool overlap = true;
};

class GradientBuckets {
 public:
  // `parameters`: float32, contiguous, all on one device; their .grad become bucket views
  // (a gradient they already hold is copied in).
  GradientBuckets(const NamedTensors& parameters, Communicator& comm,
                  GradientBucketOptions options = {});
  ~GradientBuckets();
  GradientBuckets(const GradientBuckets&) = delete;
  GradientBuckets& operator=(const GradientBuckets&) = delete;

  // Zeroes every gradient (one fill per bucket) and arms the hooks for one backward pass.
  void zero_grad();
  // After backward: starts the buckets not started yet, waits for all of them and divides
  // by the world size. Every rank calls it once per zero_grad().
  void finish();

  // After finish(): whether every averaged gradient is finite, the same answer on every rank
  // (one sum per bucket; a sum that overflows float counts as not finite).
  bool all_finite() const;

  int64_t num_buckets() const { return static_cast<int64_t>(buckets_.size()); }
  // Names of the parameters in bucket `b`, in bucket order.
  std::vector<std::string> bucket_parameter_names(int64_t b) const;
  int64_t bucket_bytes(int64_t b) const;
  // Buckets whose all-reduce the last backward pass started before finish() was called.
  int64_t buckets_started_during_backward() const { return started_during_backward_; }

  // Called by the hook of parameter `index` (position in the constructor's list).
  void on_gradient_ready(size_t index);

 private:
  struct Slot {
    std::string name;
    torch::Tensor param;
    torch::Tensor view;   // the gradient's home in its bucket
    size_t bucket = 0;
    bool ready = false;   // gradient accumulated in this backward pass
  };
  struct Bucket {
    torch::Tensor flat;
    std::vector<size_t> slots;
    size_t waiting = 0;  // slots not ready yet in this pass
    std::unique_ptr<PendingCollective> pending;
  };

  void start_ready_buckets();
  void start(Bucket& bucket);

  Communicator& comm_;
  GradientBucketOptions options_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  size_t next_to_start_ = 0;
  size_t oldest_unfinished_ = 0;
  bool armed_ = false;
  int64_t started_during_backward_ = 0;
  struct Hooks;
  std::unique_ptr<Hooks> hooks_;
};

}  // namespace pic
