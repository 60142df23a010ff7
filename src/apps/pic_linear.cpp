// pic-linear: linear evaluation of a pre-trained encoder on MPI ranks. See train/linear_eval.h.
#include "comm/mpi_communicator.h"
#include "train/linear_eval.h"

int main(int argc, char** argv) {
  return pic::run_mpi_main(
      argc, argv, [&](pic::Communicator& comm) { return pic::run_linear_eval(argc, argv, comm); });
}
