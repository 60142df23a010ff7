#pragma once
// The torch-free part of pic's MPI layer: starting and ending MPI, and taking a whole job
// down when one rank fails. Programs that never touch tensors (pic-prep) use this alone;
// mpi_communicator.h adds the Communicator for the trainers.
//
// A failing rank must never leave the others waiting in a collective: run_mpi_program catches
// any exception on any rank, prints it with the rank number and calls MPI_Abort, which takes
// the whole job down.
#include <mpi.h>

#include <functional>
#include <string>

namespace pic {

// MPI_Init_thread (MPI_THREAD_FUNNELED: only the main thread calls MPI; loader threads
// never do) and MPI_Finalize. If MPI is already initialised, it neither initialises nor
// finalises.
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

 private:
  bool owns_mpi_ = false;
};

// Throws std::runtime_error("rank R: CALL failed: <MPI's description>") unless status is
// MPI_SUCCESS.
void check_mpi(int status, const char* call, int rank);

// Collective: every rank passes its own error text (empty when it has none). If any rank
// has one, every rank throws std::runtime_error with the text of the lowest failing rank
// (prefixed by "rank R: "), so all ranks leave a collective section together.
void throw_if_any_rank_failed(MPI_Comm comm, const std::string& local_error);

// Collective: returns once every rank of `comm` has called it, sleeping instead of spinning
// while it waits (MPI_Ibarrier polled every `poll_microseconds`). A blocking collective
// spins on a core until the slowest rank arrives; before one that often waits long (ranks
// finishing uneven work), this leaves that core to the rank's worker threads.
void barrier_without_spinning(MPI_Comm comm, int poll_microseconds = 200);

// Prints "pic: rank R: error: message" to stderr and calls MPI_Abort(MPI_COMM_WORLD, code).
[[noreturn]] void abort_mpi_job(const std::string& message, int exit_code = 1);

// The main() of an MPI program that needs no Communicator: starts MPI, runs `body` on
// MPI_COMM_WORLD and returns its exit code. An exception escaping `body` on any rank aborts
// the whole job with that rank's message.
int run_mpi_program(int argc, char** argv, const std::function<int(MPI_Comm)>& body);

}  // namespace pic
