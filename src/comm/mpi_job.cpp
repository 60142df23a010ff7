#include "comm/mpi_job.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <stdexcept>
#include <thread>

namespace pic {

void check_mpi(int status, const char* call, int rank) {
  if (status == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(status, text, &length);
  throw std::runtime_error("rank " + std::to_string(rank) + ": " + call +
                           " failed: " + std::string(text, static_cast<size_t>(length)));
}

MpiSession::MpiSession(int* argc, char*** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) return;
  int provided = 0;
  check_mpi(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread", 0);
  owns_mpi_ = true;
  if (provided < MPI_THREAD_FUNNELED) {
    MPI_Finalize();
    owns_mpi_ = false;
    throw std::runtime_error("MPI provides thread level " + std::to_string(provided) +
                             ", pic needs at least MPI_THREAD_FUNNELED");
  }
}

MpiSession::~MpiSession() {
  if (!owns_mpi_) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void throw_if_any_rank_failed(MPI_Comm comm, const std::string& local_error) {
  int rank = 0, world = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &world);

  // The lowest failing rank speaks for all.
  int first_failing = local_error.empty() ? world : rank;
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &first_failing, 1, MPI_INT, MPI_MIN, comm), "MPI_Allreduce",
            rank);
  if (first_failing == world) return;

  std::string text = rank == first_failing ? local_error : std::string();
  int64_t length = static_cast<int64_t>(text.size());
  check_mpi(MPI_Bcast(&length, 1, MPI_INT64_T, first_failing, comm), "MPI_Bcast", rank);
  text.resize(static_cast<size_t>(length));
  check_mpi(MPI_Bcast(&text[0], static_cast<int>(length), MPI_CHAR, first_failing, comm),
            "MPI_Bcast", rank);
  throw std::runtime_error("rank " + std::to_string(first_failing) + ": " + text);
}

void barrier_without_spinning(MPI_Comm comm, int poll_microseconds) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  MPI_Request request = MPI_REQUEST_NULL;
  check_mpi(MPI_Ibarrier(comm, &request), "MPI_Ibarrier", rank);
  for (int done = 0;;) {
    check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test", rank);
    if (done) return;
    std::this_thread::sleep_for(std::chrono::microseconds(poll_microseconds));
  }
}

void abort_mpi_job(const std::string& message, int exit_code) {
  int initialized = 0, finalized = 0, rank = -1;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::fprintf(stderr, "pic: rank %d: error: %s\n", rank, message.c_str());
  std::fflush(stderr);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::exit(exit_code);
}

int run_mpi_program(int argc, char** argv, const std::function<int(MPI_Comm)>& body) {
  // Without MPI there is no job to take down: report and fail.
  std::unique_ptr<MpiSession> session;
  try {
    session = std::make_unique<MpiSession>(&argc, &argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pic: error: cannot start MPI: %s\n", e.what());
    return 1;
  }

  int exit_code = 0;
  try {
    exit_code = body(MPI_COMM_WORLD);
  } catch (const std::exception& e) {
    abort_mpi_job(e.what());
  } catch (...) {
    abort_mpi_job("unknown exception");
  }
  return exit_code;
}

}  // namespace pic
