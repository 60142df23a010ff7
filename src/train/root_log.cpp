#include "train/root_log.h"

#include <cstdio>

namespace pic {

void log_root(const Communicator& comm, const std::string& line) {
  if (!comm.is_root()) return;
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

}  // namespace pic
