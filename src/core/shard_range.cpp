#include <algorithm>
#include <stdexcept>
#include <string>

#include "core/sampler.h"

namespace pic {

ShardRange shard_range(int64_t num_items, int rank, int world) {
  if (num_items < 0 || world < 1 || rank < 0 || rank >= world) {
    throw std::invalid_argument("shard_range: need num_items >= 0 and 0 <= rank < world, got " +
                                std::to_string(num_items) + " items, rank " + std::to_string(rank) +
                                " of " + std::to_string(world));
  }
  // The first (num_items % world) ranks take one item more.
  int64_t base = num_items / world;
  int64_t extra = num_items % world;
  ShardRange range;
  range.begin = rank * base + std::min<int64_t>(rank, extra);
  range.end = range.begin + base + (rank < extra ? 1 : 0);
  return range;
}

}  // namespace pic
