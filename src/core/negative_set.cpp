// NegativeSet: the active classifier rows of one step (see negative_set.h).
//
// Recent mode as an LRU. Feeding the batches of steps 0, 1, ..., t into an LRU of capacity
// K_r, each batch in reverse order (so that its first row ends up most recent), leaves
// exactly the rows the backward walk of the header collects, once steps 0..t hold >= K_r
// distinct rows. Before that point (the first few hundred steps of a run) the walk runs
// past step 0 into steps t+1, t+2, ...; it then collects every row visited so far plus the
// first new rows after t, which is always the same set: the first K_r distinct rows of the
// run. So the set of step t is either that constant set (t < first_full_step_) or the LRU
// contents after step t, kept sorted by merging the <= B rows that enter and leave per step.
#include "core/negative_set.h"

#include <algorithm>
#include <array>
#include <numeric>
#include <stdexcept>
#include <unordered_set>
#include <utility>

#include "core/counter_rng.h"

namespace pic {
namespace {

constexpr uint64_t kUniformNegativesTag = 0x4E454753;  // "NEGS"

// A sampler visits every row of the shard within a few epochs; a walk for new rows that
// goes on for this many epochs' worth of steps means the sampler does not cover the shard.
constexpr int64_t kMaxEpochsForNewRows = 64;

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument("NegativeSet: " + message);
}

std::string rank_prefix(int rank) { return "rank " + std::to_string(rank) + ": "; }

// Which values of [0, range) Floyd's algorithm has drawn, for at most m inserts. A bitmap
// when it is no bigger than an open-addressing hash table for m values (range <= 128 m, e.g.
// K_r = 65536 in a shard of up to 8 million rows): it stays in cache, where the table's
// random probes took a third of a step. Otherwise the table (-1 = empty, capacity a power of
// two >= 2 m, so probes stay short). Either way O(m) time per step: the bitmap lives in the
// caller's buffer between steps, all zero, and `forget` clears just the bits that were set.
class DrawnSet {
 public:
  DrawnSet(std::vector<int64_t>& table, std::vector<uint64_t>& bitmap, int64_t range,
           size_t max_inserts)
      : table_(table),
        bitmap_(bitmap),
        use_bitmap_(range <= 128 * static_cast<int64_t>(max_inserts)) {
    if (use_bitmap_) {
      bitmap_.resize(static_cast<size_t>(range + 63) / 64, 0);
      return;
    }
    size_t capacity = 16;
    while (capacity < 2 * max_inserts) capacity *= 2;
    table_.assign(capacity, -1);
    mask_ = capacity - 1;
  }
  // Inserts v; false if it was already there.
  bool insert(int64_t v) {
    if (use_bitmap_) {
      uint64_t& word = bitmap_[static_cast<size_t>(v) / 64];
      const uint64_t bit = uint64_t{1} << (v % 64);
      if (word & bit) return false;
      word |= bit;
      return true;
    }
    size_t slot = (static_cast<uint64_t>(v) * 0x9E3779B97F4A7C15ull >> 20) & mask_;
    while (table_[slot] != -1) {
      if (table_[slot] == v) return false;
      slot = (slot + 1) & mask_;
    }
    table_[slot] = v;
    return true;
  }
  // Leaves the bitmap all zero again; `inserted` holds every value inserted.
  void forget(const std::vector<int64_t>& inserted) {
    if (!use_bitmap_) return;
    for (int64_t v : inserted) bitmap_[static_cast<size_t>(v) / 64] = 0;
  }

 private:
  std::vector<int64_t>& table_;
  std::vector<uint64_t>& bitmap_;
  bool use_bitmap_;
  size_t mask_ = 0;
};

// Sorts non-negative values < bound: LSD radix sort, 11 bits per pass, so O(n) per pass and
// ceil(log2(bound) / 11) passes (2 for shards up to 4 million rows). std::sort of 65536 rows
// took ~6 ms on the 2-core CI machine, more than the rest of a uniform draw together.
void radix_sort(std::vector<int64_t>& values, int64_t bound, std::vector<int64_t>& scratch) {
  constexpr int kBits = 11;
  constexpr uint64_t kMask = (uint64_t{1} << kBits) - 1;
  scratch.resize(values.size());
  for (int shift = 0; shift < 63 && ((bound - 1) >> shift) != 0; shift += kBits) {
    std::array<size_t, kMask + 1> start{};
    for (int64_t v : values) ++start[(static_cast<uint64_t>(v) >> shift) & kMask];
    size_t total = 0;
    for (size_t& s : start) total += std::exchange(s, total);
    for (int64_t v : values) scratch[start[(static_cast<uint64_t>(v) >> shift) & kMask]++] = v;
    values.swap(scratch);
  }
}

// Uniform integer in [0, n), unbiased. For n <= 2^32 one 32-bit draw and a multiply
// (Lemire's method: the high half of x * n, rejecting the few x that would bias it) instead
// of CounterRng::below's two draws and a 64-bit division: half the time of a uniform set.
uint64_t uniform_below(CounterRng& rng, uint64_t n) {
  if (n > (uint64_t{1} << 32)) return rng.below(n);
  uint64_t product = uint64_t{rng.next_u32()} * n;
  if (static_cast<uint32_t>(product) < n) {
    const uint32_t threshold = static_cast<uint32_t>((uint64_t{1} << 32) % n);
    while (static_cast<uint32_t>(product) < threshold) product = uint64_t{rng.next_u32()} * n;
  }
  return product >> 32;
}

}  // namespace

NegativeSampling parse_negative_sampling(const std::string& name) {
  if (name == "recent") return NegativeSampling::kRecent;
  if (name == "uniform") return NegativeSampling::kUniform;
  throw std::invalid_argument("unknown negative sampling '" + name +
                              "' (choices: recent, uniform)");
}

const char* to_string(NegativeSampling mode) {
  switch (mode) {
    case NegativeSampling::kRecent:
      return "recent";
    case NegativeSampling::kUniform:
      return "uniform";
  }
  return "unknown";
}

NegativeSet::NegativeSet(NegativeSetConfig config, std::unique_ptr<Sampler> sampler)
    : config_(config), sampler_(std::move(sampler)) {
  const std::string where = rank_prefix(config.rank);
  require(config.shard_size >= 1,
          where + "shard size must be >= 1 row, got " + std::to_string(config.shard_size));
  require(config.rows_per_rank >= 1,
          where + "rows per rank (K_r) must be >= 1, got " + std::to_string(config.rows_per_rank));
  require(sampler_ != nullptr, where + "no sampler given");

  // Every step's batch has the same size; the positives must fit in the set.
  batch_size_ = static_cast<int64_t>(batch_for_step(0).size());
  require(config.rows_per_rank >= batch_size_,
          where + "rows per rank (K_r) " + std::to_string(config.rows_per_rank) +
              " is smaller than the per-rank batch " + std::to_string(batch_size_) +
              "; the active set must hold the batch's own rows");
}

int64_t NegativeSet::size() const { return std::min(config_.rows_per_rank, config_.shard_size); }

std::vector<int64_t> NegativeSet::batch_for_step(int64_t step) {
  std::vector<int64_t> batch = sampler_->indices_for_step(step);
  for (int64_t row : batch) {
    if (row < 0 || row >= config_.shard_size) {
      throw std::runtime_error(
          "NegativeSet: " + rank_prefix(config_.rank) + "the sampler gave row " +
          std::to_string(row) + " at step " + std::to_string(step) + ", outside the shard [0, " +
          std::to_string(config_.shard_size) + "); build it with the training sampler's config");
    }
  }
  return batch;
}

std::vector<int64_t> NegativeSet::rows_for_step(int64_t step) {
  if (step < 0) {
    throw std::invalid_argument("NegativeSet: " + rank_prefix(config_.rank) + "negative step " +
                                std::to_string(step));
  }
  if (config_.rows_per_rank >= config_.shard_size) {
    std::vector<int64_t> all(static_cast<size_t>(config_.shard_size));
    std::iota(all.begin(), all.end(), int64_t{0});
    return all;
  }
  if (config_.mode == NegativeSampling::kUniform) return uniform_rows(step);

  // Recent mode: the constant early set, a short advance of the LRU, or a fresh walk.
  if (first_full_step_ >= 0 && step < first_full_step_) return first_rows_;
  const int64_t gap = step - recent_step_;
  const int64_t max_gap = std::max<int64_t>(1, config_.rows_per_rank / batch_size_);
  if (recent_step_ >= 0 && gap >= 0 && gap <= max_gap) {
    try {
      for (int64_t s = recent_step_ + 1; s <= step; ++s) advance_recent(s, gap == 1);
    } catch (...) {
      recent_step_ = -1;  // recent_sorted_ may lag the LRU: start afresh next time
      throw;
    }
    if (gap > 1) {
      recent_sorted_.assign(recency_.begin(), recency_.end());
      radix_sort(recent_sorted_, config_.shard_size, merge_scratch_);
    }
    return recent_sorted_;
  }
  if (rebuild_recent(step)) return recent_sorted_;
  compute_first_rows();
  return first_rows_;
}

// --- recent ---------------------------------------------------------------------------------

bool NegativeSet::rebuild_recent(int64_t step) {
  const size_t k = static_cast<size_t>(config_.rows_per_rank);
  recent_step_ = -1;
  recency_.clear();
  recency_position_.clear();
  recency_position_.reserve(2 * k);

  // Walk back, each batch in the sampler's order; list order = recency order.
  for (int64_t s = step; s >= 0 && recency_.size() < k; --s) {
    for (int64_t row : batch_for_step(s)) {
      if (recency_position_.count(row)) continue;
      recency_position_.emplace(row, recency_.insert(recency_.end(), row));
      if (recency_.size() == k) break;
    }
  }
  if (recency_.size() < k) {
    recency_.clear();
    recency_position_.clear();
    return false;
  }
  recent_sorted_.assign(recency_.begin(), recency_.end());
  radix_sort(recent_sorted_, config_.shard_size, merge_scratch_);
  recent_step_ = step;
  return true;
}

void NegativeSet::advance_recent(int64_t step, bool keep_sorted) {
  const size_t k = static_cast<size_t>(config_.rows_per_rank);
  const std::vector<int64_t> batch = batch_for_step(step);

  // Touch the batch back to front, so that its first row is the most recent.
  std::vector<int64_t> entered, left;
  for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
    auto found = recency_position_.find(*it);
    if (found != recency_position_.end()) {
      recency_.splice(recency_.begin(), recency_, found->second);
    } else {
      recency_position_.emplace(*it, recency_.insert(recency_.begin(), *it));
      entered.push_back(*it);
    }
  }
  // Evict the least recent. K_r >= B, so no row of this batch leaves.
  while (recency_.size() > k) {
    left.push_back(recency_.back());
    recency_position_.erase(recency_.back());
    recency_.pop_back();
  }
  recent_step_ = step;
  if (!keep_sorted) return;

  // recent_sorted_ minus `left` plus `entered`, in one merge pass.
  std::sort(entered.begin(), entered.end());
  std::sort(left.begin(), left.end());
  merge_scratch_.clear();
  merge_scratch_.reserve(k);
  auto in = entered.begin(), out = left.begin();
  for (int64_t row : recent_sorted_) {
    if (out != left.end() && *out == row) {
      ++out;
      continue;
    }
    while (in != entered.end() && *in < row) merge_scratch_.push_back(*in++);
    merge_scratch_.push_back(row);
  }
  merge_scratch_.insert(merge_scratch_.end(), in, entered.end());
  recent_sorted_.swap(merge_scratch_);
}

void NegativeSet::compute_first_rows() {
  if (first_full_step_ >= 0) return;
  const size_t k = static_cast<size_t>(config_.rows_per_rank);
  const int64_t max_steps = kMaxEpochsForNewRows * (config_.shard_size / batch_size_ + 1);
  std::unordered_set<int64_t> seen;
  seen.reserve(2 * k);
  first_rows_.clear();
  for (int64_t s = 0; first_rows_.size() < k; ++s) {
    if (s >= max_steps) {
      throw std::runtime_error(
          "NegativeSet: " + rank_prefix(config_.rank) + "the sampler visited only " +
          std::to_string(first_rows_.size()) + " distinct rows of " +
          std::to_string(config_.shard_size) + " in " + std::to_string(max_steps) +
          " steps, fewer than K_r = " + std::to_string(k) + "; it does not cover the shard");
    }
    for (int64_t row : batch_for_step(s)) {
      if (!seen.insert(row).second) continue;
      first_rows_.push_back(row);
      if (first_rows_.size() == k) {
        first_full_step_ = s;
        break;
      }
    }
  }
  radix_sort(first_rows_, config_.shard_size, merge_scratch_);
}

// --- uniform --------------------------------------------------------------------------------

std::vector<int64_t> NegativeSet::uniform_rows(int64_t step) {
  std::vector<int64_t> batch = batch_for_step(step);
  std::sort(batch.begin(), batch.end());
  if (std::adjacent_find(batch.begin(), batch.end()) != batch.end()) {
    throw std::runtime_error("NegativeSet: " + rank_prefix(config_.rank) + "the batch of step " +
                             std::to_string(step) + " holds a row twice");
  }
  const int64_t b = static_cast<int64_t>(batch.size());
  const int64_t others = config_.shard_size - b;  // rows not in the batch
  const int64_t m = config_.rows_per_rank - b;    // negatives to draw, < others

  // Floyd's algorithm: m distinct values of [0, others) in O(m) draws.
  CounterRng rng(hash_key({kUniformNegativesTag, config_.seed, static_cast<uint64_t>(config_.rank),
                           static_cast<uint64_t>(step)}));
  DrawnSet drawn(drawn_table_, drawn_bitmap_, others, static_cast<size_t>(m));
  std::vector<int64_t> values;
  values.reserve(static_cast<size_t>(m));
  for (int64_t j = others - m; j < others; ++j) {
    int64_t v = static_cast<int64_t>(uniform_below(rng, static_cast<uint64_t>(j + 1)));
    if (!drawn.insert(v)) {
      v = j;  // j was never a candidate before, so it is new
      drawn.insert(v);
    }
    values.push_back(v);
  }
  drawn.forget(values);
  radix_sort(values, others, sort_scratch_);

  // Value v stands for the v-th row not in the batch, v + #{i : batch[i] - i <= v}
  // (batch[i] - i is non-decreasing because the batch is sorted and distinct); with the
  // values sorted that count only grows, so one merge pass maps them and adds the batch.
  std::vector<int64_t> rows;
  rows.reserve(static_cast<size_t>(config_.rows_per_rank));
  int64_t i = 0;
  for (int64_t v : values) {
    while (i < b && batch[i] - i <= v) {
      rows.push_back(batch[i]);
      ++i;
    }
    rows.push_back(v + i);
  }
  rows.insert(rows.end(), batch.begin() + i, batch.end());
  return rows;
}

}  // namespace pic
