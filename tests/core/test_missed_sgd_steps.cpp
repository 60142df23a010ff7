// MissedSgdSteps against pic::Sgd run step by step with a zero gradient, and against a naive
// step-by-step product of the per-step maps (double and long double) over up to 1e6 steps.
#include <torch/torch.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <vector>

#include "core/counter_rng.h"
#include "core/lr_schedule.h"
#include "core/missed_sgd_steps.h"
#include "core/sgd.h"

namespace {

// The map of one zero-gradient step: buf' = m buf + wd w; w' = w - lr buf'.
template <typename Real>
struct NaiveMap {
  Real mm = 1, mw = 0, wm = 0, ww = 1;
};

// Steps [from, to) one after the other, in the precision `Real`.
template <typename Real>
NaiveMap<Real> naive_product(const std::vector<double>& lrs, int64_t from, int64_t to, double m,
                             double wd) {
  NaiveMap<Real> p;
  for (int64_t s = from; s < to; ++s) {
    const Real lr = lrs[static_cast<size_t>(s)];
    const Real mm = m * p.mm + wd * p.wm, mw = m * p.mw + wd * p.ww;
    p.wm = p.wm - lr * mm;
    p.ww = p.ww - lr * mw;
    p.mm = mm;
    p.mw = mw;
  }
  return p;
}

// max |ours - ref| / max |ref| over the four entries; 0 when both are exactly zero.
template <typename Real>
double map_error(const pic::StateMap2& ours, const NaiveMap<Real>& ref) {
  const double ref_entries[4] = {static_cast<double>(ref.mm), static_cast<double>(ref.mw),
                                 static_cast<double>(ref.wm), static_cast<double>(ref.ww)};
  const double our_entries[4] = {ours.mm, ours.mw, ours.wm, ours.ww};
  double diff = 0, scale = 0;
  for (int i = 0; i < 4; ++i) {
    diff = std::max(diff, std::abs(our_entries[i] - ref_entries[i]));
    scale = std::max(scale, std::abs(ref_entries[i]));
  }
  return diff == 0 ? 0 : diff / scale;
}

pic::StateMap2 as_state_map(const NaiveMap<double>& p) { return {p.mm, p.mw, p.wm, p.ww}; }

bool all_finite(const pic::StateMap2& p) {
  return std::isfinite(p.mm) && std::isfinite(p.mw) && std::isfinite(p.wm) && std::isfinite(p.ww);
}

std::vector<double> schedule_lrs(int64_t epochs, int64_t iters_per_epoch) {
  pic::LrScheduleConfig config;
  config.base_lr = 0.5;
  config.warmup_epochs = 5;
  config.epochs = epochs;
  config.iters_per_epoch = iters_per_epoch;
  pic::LrSchedule schedule(config);
  std::vector<double> lrs(static_cast<size_t>(schedule.total_iterations()));
  for (size_t s = 0; s < lrs.size(); ++s) lrs[s] = schedule.at(static_cast<int64_t>(s));
  return lrs;
}

std::vector<double> to_doubles(const torch::Tensor& t) {
  torch::Tensor flat = t.detach().to(torch::kDouble).contiguous().view(-1);
  return {flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel()};
}

// max |ours - ref| / max |ref| of one row.
double row_error(const std::vector<double>& ours, const std::vector<double>& ref) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    diff = std::max(diff, std::abs(ours[i] - ref[i]));
    scale = std::max(scale, std::abs(ref[i]));
  }
  return diff / scale;
}

// Our catch-up of one row, followed next to pic::Sgd: `store_float` rounds the state to
// float32 after every catch-up, as the trainer's float32 rows and momentum buffers do.
struct CaughtUpRow {
  std::vector<double> buf, w;
  bool store_float;

  void apply(const pic::StateMap2& map) {
    for (size_t i = 0; i < w.size(); ++i) {
      const double b = map.mm * buf[i] + map.mw * w[i];
      const double x = map.wm * buf[i] + map.ww * w[i];
      buf[i] = store_float ? static_cast<float>(b) : b;
      w[i] = store_float ? static_cast<float>(x) : x;
    }
  }
};

// Worst error seen so far of the weight and the momentum.
struct RowErrors {
  double w = 0, buf = 0;
  void add(const CaughtUpRow& ours, const torch::Tensor& w_ref, const torch::Tensor& buf_ref) {
    w = std::max(w, row_error(ours.w, to_doubles(w_ref)));
    buf = std::max(buf, row_error(ours.buf, to_doubles(buf_ref)));
  }
  double worst() const { return std::max(w, buf); }
};

}  // namespace

TEST_CASE("MissedSgdSteps reproduces pic::Sgd run with a zero gradient", "[missed_sgd]") {
  // Warm-up + cosine: 40 epochs x 30 iterations = 1200 steps, base lr 0.5.
  const std::vector<double> lrs = schedule_lrs(40, 30);
  const auto T = static_cast<int64_t>(lrs.size());
  REQUIRE(T == 1200);
  const double momentum = 0.9;
  const double weight_decay = GENERATE(1e-4, 5e-2);
  CAPTURE(weight_decay);
  pic::MissedSgdSteps missed(lrs, momentum, weight_decay);

  // The same [1, 16] row in float32 (as trained) and float64 (the exact recursion, to tell
  // our error from float32 Sgd's own rounding), stepped by one Sgd. A few real steps with a
  // gradient first give both a non-zero momentum buffer.
  pic::CounterRng rng(pic::hash_key({3, 1}));
  std::vector<float> init(16), grad(16);
  for (float& v : init) v = static_cast<float>(rng.normal());
  torch::Tensor row32 = torch::tensor(init).view({1, 16}).requires_grad_(true);
  torch::Tensor row64 = row32.detach().to(torch::kDouble).requires_grad_(true);
  pic::Sgd sgd({{"row32", row32}, {"row64", row64}}, {momentum, weight_decay});
  const int64_t first_missed = 3;
  for (int64_t s = 0; s < first_missed; ++s) {
    for (float& v : grad) v = static_cast<float>(rng.normal());
    row32.mutable_grad() = torch::tensor(grad).view({1, 16});
    row64.mutable_grad() = row32.grad().to(torch::kDouble);
    sgd.step(lrs[static_cast<size_t>(s)]);
  }
  const torch::Tensor& buf32 = sgd.momentum_buffers()[0].second;
  const torch::Tensor& buf64 = sgd.momentum_buffers()[1].second;
  const std::vector<double> w0 = to_doubles(row32);
  REQUIRE(buf32.abs().max().item<double>() > 0.1);
  const CaughtUpRow start32{to_doubles(buf32), w0, true};
  const CaughtUpRow start64{to_doubles(buf64), to_doubles(row64), false};

  // Touch points at random steps: the chunked catch-up is checked at each one.
  std::vector<int64_t> touches;
  for (int i = 0; i < 12; ++i) {
    touches.push_back(first_missed + 1 + static_cast<int64_t>(rng.below(T - first_missed - 1)));
  }
  touches.push_back(T);
  std::sort(touches.begin(), touches.end());
  touches.erase(std::unique(touches.begin(), touches.end()), touches.end());

  // Zero gradients, defined: Sgd still applies weight decay and momentum every step.
  row32.mutable_grad().zero_();
  row64.mutable_grad().zero_();
  CaughtUpRow chunks32 = start32, chunks64 = start64;
  RowErrors chunks32_vs_sgd32, chunks32_vs_sgd64, chunks64_vs_sgd64, sgd32_vs_sgd64;
  int64_t last = first_missed;
  for (int64_t s = first_missed; s < T; ++s) {
    sgd.step(lrs[static_cast<size_t>(s)]);
    if (s + 1 != touches.front()) continue;
    touches.erase(touches.begin());
    const pic::StateMap2 map = missed.between(last, s + 1);
    chunks32.apply(map);
    chunks64.apply(map);
    last = s + 1;
    chunks32_vs_sgd32.add(chunks32, row32, buf32);
    chunks32_vs_sgd64.add(chunks32, row64, buf64);
    chunks64_vs_sgd64.add(chunks64, row64, buf64);
    sgd32_vs_sgd64.add({to_doubles(buf32), to_doubles(row32), true}, row64, buf64);
  }
  REQUIRE(touches.empty());

  // All missed steps at once.
  CaughtUpRow once32 = start32, once64 = start64;
  once32.apply(missed.between(first_missed, T));
  once64.apply(missed.between(first_missed, T));
  RowErrors once32_vs_sgd32, once32_vs_sgd64, once64_vs_sgd64;
  once32_vs_sgd32.add(once32, row32, buf32);
  once32_vs_sgd64.add(once32, row64, buf64);
  once64_vs_sgd64.add(once64, row64, buf64);

  std::printf(
      "[missed_sgd] wd %g, %lld zero-gradient steps, |w| %.3g -> %.3g; errors (w, buf):\n"
      "  float64 ours vs Sgd float64: once %.1e %.1e, chunks %.1e %.1e\n"
      "  float32 ours vs Sgd float64: once %.1e %.1e, chunks %.1e %.1e\n"
      "  float32 ours vs Sgd float32: once %.1e %.1e, chunks %.1e %.1e\n"
      "  Sgd float32 vs Sgd float64 (its own rounding): %.1e %.1e\n",
      weight_decay, static_cast<long long>(T - first_missed),
      *std::max_element(w0.begin(), w0.end()), row64.abs().max().item<double>(), once64_vs_sgd64.w,
      once64_vs_sgd64.buf, chunks64_vs_sgd64.w, chunks64_vs_sgd64.buf, once32_vs_sgd64.w,
      once32_vs_sgd64.buf, chunks32_vs_sgd64.w, chunks32_vs_sgd64.buf, once32_vs_sgd32.w,
      once32_vs_sgd32.buf, chunks32_vs_sgd32.w, chunks32_vs_sgd32.buf, sgd32_vs_sgd64.w,
      sgd32_vs_sgd64.buf);
  // In double the catch-up is Sgd's own recursion, reordered.
  CHECK(once64_vs_sgd64.worst() < 1e-12);
  CHECK(chunks64_vs_sgd64.worst() < 1e-12);
  // Stored in float32, it stays within 1e-5 of the exact recursion...
  CHECK(once32_vs_sgd64.worst() < 1e-5);
  CHECK(chunks32_vs_sgd64.worst() < 1e-5);
  // ...and of float32 Sgd, up to the distance float32 Sgd itself drifts from the exact one
  // (about 1e-5 after 1200 steps of strong decay: one float rounding per step, accumulated).
  CHECK(once32_vs_sgd32.worst() < 1e-5 + sgd32_vs_sgd64.worst());
  CHECK(chunks32_vs_sgd32.worst() < 1e-5 + sgd32_vs_sgd64.worst());
  // The decay is real: the row moved by much more than the tolerance.
  CHECK(row_error(w0, to_doubles(row64)) > 1e-2);
}

TEST_CASE("MissedSgdSteps stays accurate over a gap of a million steps", "[missed_sgd]") {
  // Warm-up + cosine over 100 epochs x 10000 iterations.
  const std::vector<double> lrs = schedule_lrs(100, 10000);
  const auto T = static_cast<int64_t>(lrs.size());
  REQUIRE(T == 1000000);
  const double momentum = 0.9;
  const double weight_decay = GENERATE(1e-4, 5e-2);
  CAPTURE(weight_decay);
  pic::MissedSgdSteps missed(lrs, momentum, weight_decay);

  pic::CounterRng rng(pic::hash_key({3, 2}));
  std::vector<std::pair<int64_t, int64_t>> ranges{{0, T}, {1, T - 1}, {T / 3, T}, {T - T / 10, T}};
  // (with wd 5e-2 only the last one, where the cosine has brought lr near 1e-6, stays above
  // double's range: the others underflow to zero, which is the right answer in double)
  for (int i = 0; i < 3; ++i) {
    int64_t a = static_cast<int64_t>(rng.below(T)), b = static_cast<int64_t>(rng.below(T + 1));
    ranges.emplace_back(std::min(a, b), std::max(a, b));
  }
  for (auto [from, to] : ranges) {
    CAPTURE(from, to);
    const pic::StateMap2 ours = missed.between(from, to);
    const auto ref_double = naive_product<double>(lrs, from, to, momentum, weight_decay);
    const auto ref_long = naive_product<long double>(lrs, from, to, momentum, weight_decay);
    REQUIRE(all_finite(ours));
    const double ref_ww = static_cast<double>(ref_long.ww);
    if (std::abs(ref_ww) > 1e-290) {
      const double ww_error = std::abs(ours.ww - ref_ww) / std::abs(ref_ww);
      std::printf(
          "[missed_sgd] wd %g [%lld, %lld): ww %.3e; vs long double: map %.2e ww %.2e; "
          "vs double: map %.2e; naive double vs long double: %.2e\n",
          weight_decay, static_cast<long long>(from), static_cast<long long>(to), ours.ww,
          map_error(ours, ref_long), ww_error, map_error(ours, ref_double),
          map_error(as_state_map(ref_double), ref_long));
      CHECK(ww_error < 1e-12);
      CHECK(map_error(ours, ref_long) < 1e-12);
      CHECK(map_error(ours, ref_double) < 1e-12);
    } else {
      // Underflowed (strong decay over a long gap): zero or vanishingly small, never NaN/inf.
      const double largest =
          std::max({std::abs(ours.mm), std::abs(ours.mw), std::abs(ours.wm), std::abs(ours.ww)});
      std::printf(
          "[missed_sgd] wd %g [%lld, %lld): underflows (long double ww %.3Le), ours: "
          "largest entry %.3e\n",
          weight_decay, static_cast<long long>(from), static_cast<long long>(to), ref_long.ww,
          largest);
      CHECK(largest < 1e-280);
    }
  }
}

TEST_CASE("MissedSgdSteps::between equals the naive product on every range", "[missed_sgd]") {
  const double momentum = 0.9, weight_decay = 1e-3;
  pic::CounterRng rng(pic::hash_key({3, 3}));

  // Every range of every small T, powers of two or not.
  for (int64_t T = 0; T <= 40; ++T) {
    std::vector<double> lrs(static_cast<size_t>(T));
    for (double& lr : lrs) lr = rng.uniform(0.0, 1.0);
    pic::MissedSgdSteps missed(lrs, momentum, weight_decay);
    REQUIRE(missed.num_steps() == T);
    for (int64_t from = 0; from <= T; ++from) {
      for (int64_t to = from; to <= T; ++to) {
        CAPTURE(T, from, to);
        REQUIRE(map_error(missed.between(from, to),
                          naive_product<double>(lrs, from, to, momentum, weight_decay)) < 1e-14);
      }
    }
  }

  // Random ranges on 3001 steps.
  const int64_t T = 3001;
  std::vector<double> lrs(static_cast<size_t>(T));
  for (double& lr : lrs) lr = rng.uniform(0.0, 1.0);
  pic::MissedSgdSteps missed(lrs, momentum, weight_decay);
  double worst = 0;
  for (int i = 0; i < 2000; ++i) {
    int64_t a = static_cast<int64_t>(rng.below(T + 1)), b = static_cast<int64_t>(rng.below(T + 1));
    if (a > b) std::swap(a, b);
    CAPTURE(a, b);
    const double error =
        map_error(missed.between(a, b), naive_product<double>(lrs, a, b, momentum, weight_decay));
    worst = std::max(worst, error);
    REQUIRE(error < 1e-12);
  }
  std::printf("[missed_sgd] 2000 random ranges on T = 3001: worst map error %.2e\n", worst);

  // from == to is the identity, at the ends too.
  for (int64_t s : {int64_t{0}, int64_t{1}, int64_t{1500}, T}) {
    const pic::StateMap2 identity = missed.between(s, s);
    CHECK(identity.mm == 1);
    CHECK(identity.mw == 0);
    CHECK(identity.wm == 0);
    CHECK(identity.ww == 1);
  }

  // Outside [0, T], or from > to.
  CHECK_THROWS_AS(missed.between(-1, 5), std::out_of_range);
  CHECK_THROWS_AS(missed.between(0, T + 1), std::out_of_range);
  CHECK_THROWS_AS(missed.between(6, 5), std::out_of_range);
  CHECK_THROWS_WITH(missed.between(6, 5), Catch::Contains("from = 6") && Catch::Contains("to = 5"));
  CHECK_THROWS_AS(pic::MissedSgdSteps(lrs, -0.1, 0.0), std::invalid_argument);
  CHECK_THROWS_AS(pic::MissedSgdSteps({0.1, NAN}, 0.9, 0.0), std::invalid_argument);
}

TEST_CASE("MissedSgdSteps answers 100k queries with long gaps on a million steps", "[missed_sgd]") {
  // At O(gap) per query this would be ~1e11 step maps (minutes); at O(log gap) it is instant.
  // Each answer is checked against the composition of two queries split at a random point.
  const std::vector<double> lrs = schedule_lrs(100, 10000);
  const auto T = static_cast<int64_t>(lrs.size());
  const double momentum = 0.9, weight_decay = 1e-4;
  pic::MissedSgdSteps missed(lrs, momentum, weight_decay);

  pic::CounterRng rng(pic::hash_key({3, 4}));
  double worst = 0;
  int64_t total_gap = 0;
  for (int i = 0; i < 100000; ++i) {
    int64_t cut[3];
    for (int64_t& c : cut) c = static_cast<int64_t>(rng.below(T + 1));
    std::sort(cut, cut + 3);
    const pic::StateMap2 whole = missed.between(cut[0], cut[2]);
    const pic::StateMap2 split =
        pic::compose(missed.between(cut[1], cut[2]), missed.between(cut[0], cut[1]));
    NaiveMap<double> split_as_ref{split.mm, split.mw, split.wm, split.ww};
    worst = std::max(worst, map_error(whole, split_as_ref));
    total_gap += cut[2] - cut[0];
  }
  std::printf("[missed_sgd] 100k queries, mean gap %lld: worst split disagreement %.2e\n",
              static_cast<long long>(total_gap / 100000), worst);
  CHECK(total_gap / 100000 > T / 4);
  CHECK(worst < 1e-12);
}
