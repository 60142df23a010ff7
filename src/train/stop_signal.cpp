#include "train/stop_signal.h"

#include <atomic>
#include <csignal>

namespace pic {
namespace {

std::atomic<int> pending_request{0};
static_assert(std::atomic<int>::is_always_lock_free, "signal handlers need a lock-free flag");

void on_signal(int signal_number) {
  const int request = signal_number == SIGUSR2 ? static_cast<int>(StopRequest::kCheckpoint)
                                               : static_cast<int>(StopRequest::kCheckpointAndExit);
  int current = pending_request.load();
  while (current < request && !pending_request.compare_exchange_weak(current, request)) {
  }
}

}  // namespace

void install_stop_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int signal_number : {SIGUSR1, SIGUSR2, SIGTERM}) sigaction(signal_number, &action, nullptr);
}

StopRequest take_stop_request() { return static_cast<StopRequest>(pending_request.exchange(0)); }

void simulate_stop_signal(int signal_number) { on_signal(signal_number); }

}  // namespace pic
