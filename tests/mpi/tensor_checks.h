#pragma once
// Comparisons for the MPI test programs, which run outside Catch (under mpiexec, one
// process per rank): a failure throws, and run_mpi_main takes the job down with the message.
#include <torch/torch.h>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace pic::test {

// Normwise relative error, the reference README's measure.
inline double relative_error(const torch::Tensor& ours, const torch::Tensor& ref) {
  const double scale = std::max(ref.abs().max().item<double>(), 1e-12);
  return (ours.to(torch::kDouble) - ref.to(torch::kDouble)).abs().max().item<double>() / scale;
}

inline void expect_close(const torch::Tensor& ours, const torch::Tensor& ref, double tolerance,
                         const std::string& what) {
  if (ours.sizes() != ref.sizes()) {
    throw std::runtime_error(what + ": shape " + c10::str(ours.sizes()) + " vs " +
                             c10::str(ref.sizes()));
  }
  const double error = relative_error(ours, ref);
  if (!(error <= tolerance)) {
    throw std::runtime_error(what + ": relative error " + std::to_string(error) + " > " +
                             std::to_string(tolerance));
  }
}

}  // namespace pic::test
