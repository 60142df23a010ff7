// pic-pretrain: self-supervised pre-training (PIC) on MPI ranks. See train/pretrainer.h;
// exit statuses (0 finished, 75 stopped early to be resumed, 1 error): train/exit_status.h.
#include "comm/mpi_communicator.h"
#include "train/pretrain_options.h"
#include "train/pretrainer.h"

int main(int argc, char** argv) {
  return pic::run_mpi_main(argc, argv, [argc, argv](pic::Communicator& comm) {
    pic::PretrainOptions options;
    const int exit_code = pic::parse_pretrain_options(argc, argv, options, comm.is_root());
    if (exit_code >= 0) return exit_code;
    return pic::run_pretrain(options, comm);
  });
}
