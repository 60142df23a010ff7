// pic-pretrain: self-supervised pre-training (PIC) on MPI ranks. See train/pretrainer.h;
// exit statuses (0 finished, 75 stopped early to be resumed, 1 error): train/exit_status.h.
#include <cstdio>
#include <stdexcept>
#include <string>

#include "comm/mpi_communicator.h"
#include "train/exit_status.h"
#include "train/pretrain_options.h"
#include "train/pretrainer.h"

int main(int argc, char** argv) {
  return pic::run_mpi_main(argc, argv, [argc, argv](pic::Communicator& comm) {
    pic::PretrainOptions options;
    const int exit_code = pic::parse_pretrain_options(argc, argv, options, comm.is_root());
    if (exit_code >= 0) return exit_code;

    // Refused options: every rank refuses together (the lowest refusing rank's message) and
    // rank 0 alone says why, instead of one copy of the same message per rank.
    std::string refusal;
    try {
      pic::validate_pretrain_options(options, comm.world_size());
    } catch (const std::invalid_argument& e) {
      refusal = e.what();
    }
    try {
      pic::throw_if_any_rank_failed(pic::mpi_comm_of(comm, "pic-pretrain"), refusal);
    } catch (const std::runtime_error& e) {
      if (comm.is_root()) std::fprintf(stderr, "pic: error: %s\n", e.what());
      return pic::kExitInvalidOptions;
    }
    return pic::run_pretrain(options, comm);
  });
}
