#pragma once
// How pic-prep's ranks fail together. A CollectiveError is raised by every rank at the same
// point (they agreed on it), so they all unwind together: closing the parallel HDF5 file,
// which is collective, is then safe, rank 0 alone reports the message and every rank exits
// with status 1. Any other exception is a failure of one rank alone; it takes the job down
// through abort_mpi_job (src/comm/mpi_job.h) without touching a collective.
#include <mpi.h>

#include <stdexcept>
#include <string>

namespace pic::prep {

class CollectiveError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Collective: every rank passes its own error text (empty when it has none). If any rank has
// one, every rank throws CollectiveError with the text of the lowest failing rank, prefixed
// by "rank R: " when the job has more than one rank.
void agree_on_failure(MPI_Comm comm, const std::string& local_error);

}  // namespace pic::prep
