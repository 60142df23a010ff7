#pragma once
// Strings between ranks, over the tensor collectives of Communicator: rank 0's decision
// (which checkpoint to resume from) sent to all, and the placement table rank 0 prints.
#include <string>
#include <vector>

#include "core/communicator.h"

namespace pic {

// Collective: every rank returns `root`'s `text`.
std::string broadcast_string(Communicator& comm, const std::string& text, int root = 0);

// Collective: every rank returns the texts of all ranks, in rank order.
std::vector<std::string> all_gather_strings(Communicator& comm, const std::string& text);

// Collective: "rank  host  pid  threads" lines, one per rank (rank 0 prints it).
std::string placement_table(Communicator& comm, int torch_threads, int loader_threads);

}  // namespace pic
