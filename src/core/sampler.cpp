// EpochSampler and SlidingWindowSampler (DESIGN.md "The sliding-window scheduler").
//
// Both are pure functions of the step: every permutation is drawn from a fresh counter-based
// stream keyed by (seed, rank, what, which), so step t's indices never depend on which steps
// were asked for before. The caches below only avoid redrawing a permutation for every step
// of the same epoch / window.
//
// Where pic differs from the letter of DESIGN.md's pseudo-code, and why:
// - The pseudo-code reshuffles the running `order` in place when a window would run past its
//   end; pic redraws order cycle c from the identity with key (seed, rank, cycle c). Both are
//   uniformly random permutations, but only the second can be computed from c alone.
// - w > n is an error rather than a silent clamp (the caller clamps, with a warning, if the
//   user asked for it), and s > w is an error: images between two windows would be skipped,
//   and with shuffle_per_epoch the cycle length of the pseudo-code would depend on wrapping.
#include "core/sampler.h"

#include <numeric>
#include <stdexcept>
#include <string>

#include "core/counter_rng.h"

namespace pic {
namespace {

// Separate key domains, so that an epoch permutation never equals a window shuffle.
constexpr uint64_t kEpochPermutationTag = 0x45504F43;  // "EPOC"
constexpr uint64_t kWindowOrderTag = 0x4F524452;       // "ORDR"
constexpr uint64_t kWindowShuffleTag = 0x57494E44;     // "WIND"

std::vector<int64_t> shuffled_identity(int64_t n, uint64_t key) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), int64_t{0});
  shuffle_with_key(v.begin(), v.end(), key);
  return v;
}

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

}  // namespace

// --- EpochSampler ---------------------------------------------------------------------------

EpochSampler::EpochSampler(EpochSamplerConfig config) : config_(config) {
  const std::string where = "EpochSampler (rank " + std::to_string(config.rank) + "): ";
  require(config.batch_size >= 1,
          where + "batch size must be >= 1, got " + std::to_string(config.batch_size));
  require(config.min_shard_size <= config.shard_size,
          where + "smallest shard " + std::to_string(config.min_shard_size) +
              " is larger than this rank's shard " + std::to_string(config.shard_size));
  require(config.min_shard_size >= config.batch_size,
          where + "the smallest shard (" + std::to_string(config.min_shard_size) +
              " images) holds less than one batch of " + std::to_string(config.batch_size));
}

int64_t EpochSampler::steps_per_epoch() const {
  return config_.min_shard_size / config_.batch_size;
}

std::vector<int64_t> EpochSampler::indices_for_step(int64_t step) {
  if (step < 0) throw std::invalid_argument("EpochSampler: negative step " + std::to_string(step));
  const int64_t epoch = step / steps_per_epoch();
  const int64_t batch_in_epoch = step % steps_per_epoch();
  if (epoch != cached_epoch_) {
    permutation_ = shuffled_identity(
        config_.shard_size, hash_key({config_.seed, static_cast<uint64_t>(config_.rank),
                                      kEpochPermutationTag, static_cast<uint64_t>(epoch)}));
    cached_epoch_ = epoch;
  }
  auto first = permutation_.begin() + batch_in_epoch * config_.batch_size;
  return std::vector<int64_t>(first, first + config_.batch_size);
}

// --- SlidingWindowSampler -------------------------------------------------------------------

SlidingWindowSampler::SlidingWindowSampler(SlidingWindowConfig config) : config_(config) {
  const std::string where = "SlidingWindowSampler (rank " + std::to_string(config.rank) + "): ";
  require(config.batch_size >= 1,
          where + "batch size must be >= 1, got " + std::to_string(config.batch_size));
  require(config.window >= config.batch_size,
          where + "per-rank window " + std::to_string(config.window) +
              " is smaller than the per-rank batch " + std::to_string(config.batch_size) +
              " (window = floor(--window-size / world))");
  require(config.window <= config.shard_size,
          where + "per-rank window " + std::to_string(config.window) +
              " is larger than the shard of " + std::to_string(config.shard_size) +
              " images; lower --window-size or use more data");
  require(config.stride >= 1 && config.stride <= config.window,
          where + "per-rank stride must be in [1, window " + std::to_string(config.window) +
              "], got " + std::to_string(config.stride) +
              " (stride = floor(--window-stride / world))");
}

int64_t SlidingWindowSampler::steps_per_epoch() const {
  return config_.window / config_.batch_size;
}

std::vector<int64_t> SlidingWindowSampler::indices_for_step(int64_t step) {
  if (step < 0) {
    throw std::invalid_argument("SlidingWindowSampler: negative step " + std::to_string(step));
  }
  const int64_t n = config_.shard_size, w = config_.window, s = config_.stride;
  const uint64_t seed = config_.seed, rank = static_cast<uint64_t>(config_.rank);
  const int64_t window = step / steps_per_epoch();
  const int64_t batch_in_window = step % steps_per_epoch();

  if (window != cached_window_) {
    // Which order cycle window k reads, and where in it it starts.
    int64_t cycle = 0, start = 0;
    if (config_.shuffle_per_epoch) {
      const int64_t windows_per_cycle = (n - w) / s + 1;
      cycle = window / windows_per_cycle;
      start = (window % windows_per_cycle) * s;
    } else {
      // k * s mod n without overflowing for very long runs.
      start = static_cast<int64_t>((static_cast<unsigned __int128>(window) * s) % n);
    }
    if (cycle != cached_cycle_) {
      order_ = shuffled_identity(
          n, hash_key({seed, rank, kWindowOrderTag, static_cast<uint64_t>(cycle)}));
      cached_cycle_ = cycle;
    }

    // The window's w ids (wrapping around the order's end), in the window's own order.
    window_ids_.resize(static_cast<size_t>(w));
    for (int64_t j = 0; j < w; ++j) window_ids_[j] = order_[(start + j) % n];
    shuffle_with_key(window_ids_.begin(), window_ids_.end(),
                     hash_key({seed, rank, kWindowShuffleTag, static_cast<uint64_t>(window)}));
    cached_window_ = window;
  }
  auto first = window_ids_.begin() + batch_in_window * config_.batch_size;
  return std::vector<int64_t>(first, first + config_.batch_size);
}

}  // namespace pic
