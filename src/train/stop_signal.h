#pragma once
// Signals only set a flag; the training loop acts on it between steps, after all ranks
// agree (an all-reduce of the requests), so every rank checkpoints at the same step.
//
//   SIGUSR1  checkpoint, then exit with status kExitStoppedToResume (75, train/pretrainer.h)
//            unless that was the last step. This is what Slurm's `--signal=B:USR1@N` +
//            requeue flow expects (slurm/pretrain.sbatch forwards USR1, waits for the ranks
//            to end, and runs `scontrol requeue` on that status).
//   SIGTERM  the same (preemption, scancel): checkpoint, then exit with status 75.
//   SIGUSR2  checkpoint now and keep training.
// A second SIGTERM or SIGINT while the first is pending is not special-cased: the default
// SIGINT action still kills the process at once.
namespace pic {

enum class StopRequest : int {
  kNone = 0,
  kCheckpoint = 1,         // SIGUSR2
  kCheckpointAndExit = 2,  // SIGUSR1, SIGTERM
};

// Installs the handlers (idempotent).
void install_stop_signal_handlers();

// The strongest request received since the last call, and clears it.
StopRequest take_stop_request();

// For tests: behaves as if `signal_number` had been delivered.
void simulate_stop_signal(int signal_number);

}  // namespace pic
