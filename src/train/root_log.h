#pragma once
// Rank 0's log lines for people, shared by the programs: one line per call on stdout,
// flushed at once so that Slurm logs keep lines of different ranks' messages in order.
#include <string>

#include "core/communicator.h"

namespace pic {

void log_root(const Communicator& comm, const std::string& line);

}  // namespace pic
