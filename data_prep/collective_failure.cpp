#include "collective_failure.h"

#include "comm/mpi_job.h"

namespace pic::prep {

void agree_on_failure(MPI_Comm comm, const std::string& local_error) {
  try {
    throw_if_any_rank_failed(comm, local_error);
  } catch (const std::runtime_error& e) {
    int world = 1;
    MPI_Comm_size(comm, &world);
    // A single process needs no rank in its messages (pic-prep without mpirun).
    throw CollectiveError(world == 1 && !local_error.empty() ? local_error : std::string(e.what()));
  }
}

}  // namespace pic::prep
