// shard_range: contiguous shards that differ by at most one item, the larger ones first.
#include <catch2/catch.hpp>

#include "core/sampler.h"

TEST_CASE("shard_range splits 10000 on 3 ranks as 3334/3333/3333", "[shard_range]") {
  CHECK(pic::shard_range(10000, 0, 3).begin == 0);
  CHECK(pic::shard_range(10000, 0, 3).end == 3334);
  CHECK(pic::shard_range(10000, 1, 3).begin == 3334);
  CHECK(pic::shard_range(10000, 1, 3).end == 6667);
  CHECK(pic::shard_range(10000, 2, 3).begin == 6667);
  CHECK(pic::shard_range(10000, 2, 3).end == 10000);
}

TEST_CASE("shard_range covers [0, N) exactly for many sizes", "[shard_range]") {
  for (int world = 1; world <= 9; ++world) {
    for (int64_t n : {0, 1, 2, 5, 8, 9, 10, 1000, 1281167}) {
      int64_t expected_begin = 0;
      for (int rank = 0; rank < world; ++rank) {
        pic::ShardRange range = pic::shard_range(n, rank, world);
        CHECK(range.begin == expected_begin);
        CHECK(range.size() == n / world + (rank < n % world ? 1 : 0));
        expected_begin = range.end;
      }
      CHECK(expected_begin == n);
    }
  }
  CHECK_THROWS_AS(pic::shard_range(10, 3, 3), std::invalid_argument);
  CHECK_THROWS_AS(pic::shard_range(-1, 0, 1), std::invalid_argument);
}
