#pragma once
// Exit statuses of pic-pretrain that a job script acts on.
//
//   0    finished: the last step is done (or there was nothing left to do).
//   75   kExitStoppedToResume: stopped early by SIGUSR1 or SIGTERM (train/stop_signal.h)
//        after every rank checkpointed the same step. The run is not finished: requeue the
//        job and start it again with --auto-resume (slurm/pretrain.sbatch does exactly that).
//   1    an error on some rank; the whole job was aborted (comm/mpi_communicator.h).
//   2    kExitInvalidOptions: the options were checked before any data was read and refused
//        (message printed once, by rank 0).
//   100+ the command line was refused (CLI11's codes).
// 75 is sysexits.h's EX_TEMPFAIL, "a temporary failure; the user is invited to retry".
namespace pic {

constexpr int kExitStoppedToResume = 75;
constexpr int kExitInvalidOptions = 2;

}  // namespace pic
