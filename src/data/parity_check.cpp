#include "data/parity_check.h"

#include <algorithm>
#include <cstdio>

namespace pic {

TensorCheck compare_tensors(const std::string& name, const torch::Tensor& ours,
                            const torch::Tensor& reference, double tolerance) {
  TensorCheck check;
  check.name = name;
  check.tolerance = tolerance;
  if (!ours.defined() || !reference.defined()) {
    check.problem = !ours.defined() ? "ours is undefined" : "reference is undefined";
    return check;
  }
  check.exact = !ours.is_floating_point() || !reference.is_floating_point();
  if (ours.sizes() != reference.sizes()) {
    check.problem =
        "shape " + c10::str(ours.sizes()) + ", reference " + c10::str(reference.sizes());
    return check;
  }
  if (check.exact && ours.is_floating_point() != reference.is_floating_point()) {
    check.problem = c10::str("dtype ", ours.scalar_type(), ", reference ", reference.scalar_type());
    return check;
  }
  const torch::Tensor a = ours.detach().cpu().to(torch::kDouble);
  const torch::Tensor b = reference.detach().cpu().to(torch::kDouble);
  if (a.numel() > 0) {
    check.max_abs_error = (a - b).abs().max().item<double>();
    check.rel_error = check.max_abs_error / std::max(b.abs().max().item<double>(), 1e-12);
  }
  // NaN anywhere fails: the comparisons below are false for NaN.
  check.passed = check.exact ? (check.max_abs_error == 0) : (check.rel_error <= tolerance);
  return check;
}

const TensorCheck& ParityReport::add(TensorCheck check) {
  checks_.push_back(std::move(check));
  return checks_.back();
}

void ParityReport::add_problem(const std::string& name, const std::string& problem) {
  TensorCheck check;
  check.name = name;
  check.problem = problem;
  checks_.push_back(std::move(check));
}

const TensorCheck* ParityReport::find(const std::string& name) const {
  for (const TensorCheck& check : checks_) {
    if (check.name == name) return &check;
  }
  return nullptr;
}

size_t ParityReport::num_failed() const {
  return static_cast<size_t>(std::count_if(checks_.begin(), checks_.end(),
                                           [](const TensorCheck& c) { return !c.passed; }));
}

double ParityReport::worst_rel_error(const std::string& prefix) const {
  double worst = 0;
  for (const TensorCheck& check : checks_) {
    if (!check.exact && check.name.rfind(prefix, 0) == 0) worst = std::max(worst, check.rel_error);
  }
  return worst;
}

void ParityReport::print(std::ostream& out) const {
  char line[160];
  std::snprintf(line, sizeof line, "%-6s %12s %12s %9s  %s\n", "result", "max_abs", "rel", "tol",
                "tensor");
  out << line;
  for (const TensorCheck& c : checks_) {
    const char* verdict = c.passed ? "PASS" : "FAIL";
    if (!c.problem.empty()) {
      out << verdict << "   " << c.name << ": " << c.problem << "\n";
      continue;
    }
    if (c.exact) {
      std::snprintf(line, sizeof line, "%-6s %12.4g %12s %9s  %s\n", verdict, c.max_abs_error, "-",
                    "exact", c.name.c_str());
    } else {
      std::snprintf(line, sizeof line, "%-6s %12.4g %12.4g %9.0e  %s\n", verdict, c.max_abs_error,
                    c.rel_error, c.tolerance, c.name.c_str());
    }
    out << line;
  }
  out << checks_.size() - num_failed() << " passed, " << num_failed() << " failed"
      << " (worst normwise relative error " << worst_rel_error() << ")\n";
}

}  // namespace pic
