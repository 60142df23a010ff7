#pragma once
// Comparison of our tensors with reference vectors, and a report of every comparison.
// Used by the parity tests and by pic-parity, so both judge with the same rule: per tensor,
// normwise  rel = max |ours - ref| / max(max |ref|, 1e-12)  against a tolerance, and integer
// tensors exactly (tests/testdata/README.md, "Tolerances").
#include <torch/torch.h>

#include <ostream>
#include <string>
#include <vector>

namespace pic {

// Losses, logits, features, running statistics, learning rates.
constexpr double kValueTolerance = 1e-5;
// Gradients, parameters after optimizer steps, memory-bank rows.
constexpr double kUpdateTolerance = 1e-4;

struct TensorCheck {
  std::string name;
  double max_abs_error = 0;  // max |ours - ref| (0 when shapes differ)
  double rel_error = 0;      // max_abs_error / max(max |ref|, 1e-12)
  double tolerance = 0;      // for float tensors; integer tensors are compared exactly
  bool exact = false;        // integer comparison
  bool passed = false;
  std::string problem;  // why it could not be compared (shape, dtype, missing), or ""
};

// Compares `ours` with `reference` (any device, dtype; integer tensors exactly).
TensorCheck compare_tensors(const std::string& name, const torch::Tensor& ours,
                            const torch::Tensor& reference, double tolerance);

class ParityReport {
 public:
  const TensorCheck& add(TensorCheck check);
  const TensorCheck& compare(const std::string& name, const torch::Tensor& ours,
                             const torch::Tensor& reference, double tolerance) {
    return add(compare_tensors(name, ours, reference, tolerance));
  }
  // Records a failed check that could not be computed (e.g. a tensor missing on one side).
  void add_problem(const std::string& name, const std::string& problem);

  const std::vector<TensorCheck>& checks() const { return checks_; }
  const TensorCheck* find(const std::string& name) const;
  size_t num_failed() const;
  bool passed() const { return !checks_.empty() && num_failed() == 0; }
  // Largest normwise relative error over the float checks whose name starts with `prefix`.
  double worst_rel_error(const std::string& prefix = "") const;

  // One line per tensor (PASS/FAIL, max abs, normwise rel, tolerance, name), then a summary.
  void print(std::ostream& out) const;

 private:
  std::vector<TensorCheck> checks_;
};

}  // namespace pic
