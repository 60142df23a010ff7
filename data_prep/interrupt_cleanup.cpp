#include "interrupt_cleanup.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <stdexcept>

namespace pic::prep {
namespace {

// Only async-signal-safe state: a fixed buffer and a flag saying whether it holds a path.
char g_path[4096];
std::atomic<bool> g_armed{false};

extern "C" void unlink_and_reraise(int signal_number) {
  if (g_armed.load()) ::unlink(g_path);
  ::signal(signal_number, SIG_DFL);
  ::raise(signal_number);
}

void install_handlers_once() {
  static const bool installed = [] {
    struct sigaction action;
    std::memset(&action, 0, sizeof action);
    action.sa_handler = unlink_and_reraise;
    sigemptyset(&action.sa_mask);
    for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) {
      // A signal the parent chose to ignore (nohup, a background job's SIGINT) stays ignored.
      struct sigaction previous;
      if (sigaction(signal_number, nullptr, &previous) == 0 && previous.sa_handler == SIG_IGN) {
        continue;
      }
      sigaction(signal_number, &action, nullptr);
    }
    return true;
  }();
  (void)installed;
}

}  // namespace

void remove_on_interrupt(const std::string& path) {
  if (path.size() >= sizeof g_path) {
    throw std::invalid_argument(path + ": output path longer than " +
                                std::to_string(sizeof g_path - 1) + " bytes");
  }
  g_armed.store(false);
  std::memcpy(g_path, path.c_str(), path.size() + 1);
  g_armed.store(true);
  install_handlers_once();
}

void forget_on_interrupt() { g_armed.store(false); }

}  // namespace pic::prep
