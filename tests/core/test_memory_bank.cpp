// InstDisc's per-step columns and initial bank: pure functions of their keys, so that every
// rank draws the same matrix and any sharding starts from the same bank.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include "core/instdisc_method.h"
#include "core/memory_bank_softmax.h"

TEST_CASE("memory bank columns: the label first, negatives uniform over N, keyed by step",
          "[instdisc]") {
  const torch::Tensor ids = torch::tensor({5, 0, 7}, torch::kLong);
  const torch::Tensor a = pic::draw_memory_bank_columns(ids, 10, 4000, 1, 3);
  REQUIRE(a.sizes() == torch::IntArrayRef({3, 4001}));
  CHECK(torch::equal(a.select(1, 0), ids));
  const torch::Tensor negatives = a.slice(1, 1);
  CHECK(negatives.min().item<int64_t>() == 0);
  CHECK(negatives.max().item<int64_t>() == 9);
  // Every instance about 1/10 of the 12 000 draws (binomial sd ~33).
  const torch::Tensor counts = torch::bincount(negatives.reshape(-1), {}, 10);
  CHECK((counts - 1200).abs().max().item<int64_t>() < 200);

  CHECK(torch::equal(a, pic::draw_memory_bank_columns(ids, 10, 4000, 1, 3)));
  CHECK_FALSE(torch::equal(a, pic::draw_memory_bank_columns(ids, 10, 4000, 1, 4)));
  CHECK_FALSE(torch::equal(a, pic::draw_memory_bank_columns(ids, 10, 4000, 2, 3)));
  // A sample's draws depend on its position in the global batch, not on the other samples.
  const torch::Tensor first = pic::draw_memory_bank_columns(ids.slice(0, 0, 1), 10, 4000, 1, 3);
  CHECK(torch::equal(first[0], a[0]));
  CHECK_THROWS(pic::draw_memory_bank_columns(ids, 0, 4, 1, 3));
}

TEST_CASE("initial memory bank: unit rows, the same whatever the sharding", "[instdisc]") {
  const torch::Tensor whole = pic::initial_memory_bank(7, 0, 10, 16);
  CHECK(torch::allclose(whole.norm(2, 1), torch::ones({10}), 1e-6, 1e-6));
  const torch::Tensor part = pic::initial_memory_bank(7, 4, 7, 16);
  CHECK(torch::equal(part, whole.slice(0, 4, 7)));
  CHECK_FALSE(torch::equal(whole, pic::initial_memory_bank(8, 0, 10, 16)));
}
