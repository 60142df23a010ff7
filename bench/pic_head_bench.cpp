// PIC's classifier head alone (issue 3, "Figures to produce"): step time, memory per rank and
// bytes sent per rank per step, with no encoder and no images. One process = one
// configuration (design, N, ranks), so that the peak RSS it reports belongs to that
// configuration only. bench/run_head_bench.sh runs the grid and prints the table.
//
// Per step, on every rank: random features for the rank's share of a global batch of B
// (one crop group, [B / W, D], drawn from CounterRng keyed by (seed, rank, step)), instance
// ids from an EpochSampler over the rank's own rows (as the trainer draws them), then one
// full head step: loss + gradients + SGD update of the classifier rows. Designs:
//   full        InstanceClassifier, every row of the rank active, instance softmax, update;
//   sampled     the same with NegativeSet (recent) choosing K_r = ceil(K / W) rows and the
//               lazy correction (MissedSgdSteps over the bench's steps);
//   replicated  the original's design: the whole [N, D] classifier on every rank, pic_loss
//               by autograd on the rank's own features, the dense [N, D] gradient
//               all-reduced and averaged, pic::Sgd on all N rows.
//
// Output: human-readable lines and one "RESULT key=value ..." line (rank 0) that the script
// parses. Times are the max over ranks of each step, median over the timed steps.
#include <sys/resource.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "comm/mpi_communicator.h"
#include "core/communicator.h"
#include "core/counter_rng.h"
#include "core/instance_classifier.h"
#include "core/instance_softmax.h"
#include "core/missed_sgd_steps.h"
#include "core/negative_set.h"
#include "core/pic_head.h"
#include "core/sampler.h"
#include "core/sgd.h"

namespace pic {
namespace {

constexpr uint64_t kFeatureStream = 0x48454144464541ull;  // "HEADFEA"

// Counts the payload bytes this rank hands to each collective (its own input tensor), then
// forwards the call. What the wire carries depends on MPI's algorithm: a ring all-reduce
// moves about 2 (W - 1) / W of the payload per rank, an all-gather (W - 1) / W of the result.
class CountingCommunicator final : public Communicator {
 public:
  explicit CountingCommunicator(Communicator& inner) : inner_(inner) {}

  int rank() const override { return inner_.rank(); }
  int world_size() const override { return inner_.world_size(); }
  int local_rank() const override { return inner_.local_rank(); }
  void all_reduce_sum(torch::Tensor& t) override {
    count(t);
    inner_.all_reduce_sum(t);
  }
  void all_reduce_max(torch::Tensor& t) override {
    count(t);
    inner_.all_reduce_max(t);
  }
  void all_reduce_min(torch::Tensor& t) override {
    count(t);
    inner_.all_reduce_min(t);
  }
  torch::Tensor all_gather_rows(const torch::Tensor& t) override {
    count(t);
    return inner_.all_gather_rows(t);
  }
  torch::Tensor reduce_scatter_rows(const torch::Tensor& t,
                                    const std::vector<int64_t>& rows_per_rank) override {
    count(t);
    return inner_.reduce_scatter_rows(t, rows_per_rank);
  }
  void broadcast(torch::Tensor& t, int root) override {
    if (rank() == root) count(t);
    inner_.broadcast(t, root);
  }
  void barrier() override { inner_.barrier(); }
  [[noreturn]] void abort(const std::string& message, int exit_code) override {
    inner_.abort(message, exit_code);
    std::abort();  // not reached: the inner abort does not return either
  }
  using Communicator::all_reduce_max;
  using Communicator::all_reduce_min;
  using Communicator::all_reduce_sum;

  int64_t bytes() const { return bytes_; }
  int64_t calls() const { return calls_; }
  void reset() { bytes_ = calls_ = 0; }

 private:
  void count(const torch::Tensor& t) {
    bytes_ += static_cast<int64_t>(t.nbytes());
    ++calls_;
  }
  Communicator& inner_;
  int64_t bytes_ = 0;
  int64_t calls_ = 0;
};

struct Options {
  std::string design;            // full | sampled | replicated
  int64_t num_instances = 0;     // N
  int64_t global_batch = 256;    // B over all ranks
  int64_t dim = 128;             // D
  int64_t num_negative = 65536;  // K over all ranks (sampled)
  int64_t chunk_rows = 65536;
  int warmup = 1;
  int steps = 3;
  double time_cap_s = 180;  // stepping stops when the next step would pass it
  uint64_t seed = 0;
  double lr = 0.03;
  int threads = 1;
};

[[noreturn]] void usage_error(const std::string& message) {
  throw std::invalid_argument(
      "pic-bench-head: " + message +
      "\nusage: pic-bench-head --design full|sampled|replicated --num-instances N"
      " [--batch 256] [--dim 128] [--num-negative 65536] [--chunk-rows 65536] [--warmup 1]"
      " [--steps 3] [--time-cap 180] [--seed 0] [--lr 0.03] [--threads 1]");
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage_error("missing value after " + flag);
    const std::string value = argv[++i];
    try {
      if (flag == "--design")
        o.design = value;
      else if (flag == "--num-instances")
        o.num_instances = static_cast<int64_t>(std::stod(value));
      else if (flag == "--batch")
        o.global_batch = std::stoll(value);
      else if (flag == "--dim")
        o.dim = std::stoll(value);
      else if (flag == "--num-negative")
        o.num_negative = std::stoll(value);
      else if (flag == "--chunk-rows")
        o.chunk_rows = std::stoll(value);
      else if (flag == "--warmup")
        o.warmup = std::stoi(value);
      else if (flag == "--steps")
        o.steps = std::stoi(value);
      else if (flag == "--time-cap")
        o.time_cap_s = std::stod(value);
      else if (flag == "--seed")
        o.seed = std::stoull(value);
      else if (flag == "--lr")
        o.lr = std::stod(value);
      else if (flag == "--threads")
        o.threads = std::stoi(value);
      else
        usage_error("unknown flag " + flag);
    } catch (const std::logic_error&) {
      usage_error("bad value '" + value + "' for " + flag);
    }
  }
  if (o.design != "full" && o.design != "sampled" && o.design != "replicated") {
    usage_error("--design must be full, sampled or replicated, got '" + o.design + "'");
  }
  if (o.num_instances < 1 || o.global_batch < 1 || o.dim < 1 || o.num_negative < 1 ||
      o.warmup < 0 || o.steps < 1 || o.threads < 1) {
    usage_error("sizes and counts must be positive");
  }
  return o;
}

int64_t current_rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

int64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux: kilobytes
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double max_over_ranks(Communicator& comm, double value) {
  torch::Tensor t = torch::tensor({value}, torch::kFloat64);
  comm.all_reduce_max(t);
  return t.item<double>();
}

// [rows, dim] standard normal features of (rank, step): a pure function of the key.
torch::Tensor random_features(uint64_t seed, int rank, int64_t step, int64_t rows, int64_t dim) {
  torch::Tensor f = torch::empty({rows, dim}, torch::kFloat);
  CounterRng rng(
      hash_key({kFeatureStream, seed, static_cast<uint64_t>(rank), static_cast<uint64_t>(step)}));
  float* p = f.data_ptr<float>();
  for (int64_t i = 0; i < rows * dim; ++i) p[i] = static_cast<float>(rng.normal());
  return f;
}

// One head design, set up once, stepped many times.
class Head {
 public:
  virtual ~Head() = default;
  // Loss + gradients + SGD update for step `step`; returns this rank's loss (the global
  // mean for the sharded designs, the mean over this rank's crops for the replicated one).
  virtual double step(const torch::Tensor& features, const torch::Tensor& ids, int64_t step) = 0;
  // Bytes of state the head keeps between steps on this rank.
  virtual int64_t state_bytes() const = 0;
  virtual int64_t active_rows() const = 0;  // classifier rows a step touches on this rank
};

// (a) and (b): the sharded head as PicMethod runs it, minus the encoder.
class ShardedHead final : public Head {
 public:
  ShardedHead(const Options& o, ShardRange rows, int64_t rows_per_rank, int64_t per_rank_batch,
              int64_t total_steps, Communicator& comm)
      : options_(o), rows_(rows), comm_(comm) {
    InstanceClassifierConfig config;
    config.num_instances = o.num_instances;
    config.rows = rows;
    config.dim = o.dim;
    config.seed = o.seed;
    const bool sampled = o.design == "sampled";
    // As the trainer: freeze (nothing is ever missed) without sampling, lazy with it.
    config.correction = sampled ? UpdateCorrection::kLazy : UpdateCorrection::kFreeze;
    std::shared_ptr<const MissedSgdSteps> missed;
    if (sampled) {
      std::vector<double> lr(static_cast<size_t>(total_steps), o.lr);
      missed = std::make_shared<MissedSgdSteps>(lr, config.sgd.momentum, config.sgd.weight_decay);
    }
    classifier_ = std::make_unique<InstanceClassifier>(config, missed);
    all_rows_ = torch::arange(rows.size(), torch::kLong);
    if (sampled) {
      NegativeSetConfig negatives;
      negatives.shard_size = rows.size();
      negatives.rows_per_rank = rows_per_rank;
      negatives.mode = NegativeSampling::kRecent;
      negatives.seed = o.seed;
      negatives.rank = comm.rank();
      negatives_ = std::make_unique<NegativeSet>(negatives, make_sampler(per_rank_batch));
    }
  }

  std::unique_ptr<Sampler> make_sampler(int64_t per_rank_batch) const {
    EpochSamplerConfig config;
    config.shard_size = rows_.size();
    config.min_shard_size = options_.num_instances / comm_.world_size();
    config.batch_size = per_rank_batch;
    config.seed = options_.seed;
    config.rank = comm_.rank();
    return std::make_unique<EpochSampler>(config);
  }

  double step(const torch::Tensor& features, const torch::Tensor& ids, int64_t step) override {
    torch::NoGradGuard no_grad;
    const torch::Tensor local =
        negatives_ ? torch::tensor(negatives_->rows_for_step(step), torch::kLong) : all_rows_;
    active_ = local.numel();
    InstanceSoftmaxInput input;
    input.group_features = {features};
    input.instance_ids = ids;
    input.rows = classifier_->active_rows(local, step);
    input.row_ids = local + rows_.begin;
    input.temperature = 0.2;
    input.chunk_rows = options_.chunk_rows;
    InstanceSoftmaxResult result = instance_softmax_cross_entropy(input, comm_);
    classifier_->update(local, result.grad_rows, options_.lr, step);
    return result.loss;
  }
  int64_t state_bytes() const override { return classifier_->host_bytes(); }
  int64_t active_rows() const override { return active_; }

 private:
  Options options_;
  ShardRange rows_;
  Communicator& comm_;
  std::unique_ptr<InstanceClassifier> classifier_;
  std::unique_ptr<NegativeSet> negatives_;
  torch::Tensor all_rows_;
  int64_t active_ = 0;
};

// (c) the original's design: replicated [N, D] classifier, dense gradient all-reduce.
class ReplicatedHead final : public Head {
 public:
  ReplicatedHead(const Options& o, Communicator& comm) : options_(o), comm_(comm) {
    classifier_ =
        initial_classifier_rows(o.seed, 0, o.num_instances, o.dim).set_requires_grad(true);
    SgdOptions sgd;
    optimizer_ = std::make_unique<Sgd>(NamedTensors{{"sim_matrix", classifier_}}, sgd);
  }

  double step(const torch::Tensor& features, const torch::Tensor& ids, int64_t) override {
    // The features stand for the encoder's output: autograd computes their gradient too.
    const torch::Tensor f = features.detach().set_requires_grad(true);
    MethodOutput out = pic_loss({f}, classifier_, ids, 0.2);
    out.loss.backward();
    torch::Tensor& grad = classifier_.mutable_grad();  // [N, D], dense
    comm_.all_reduce_sum(grad);
    grad.div_(static_cast<double>(comm_.world_size()));
    optimizer_->step(options_.lr);
    optimizer_->zero_grad();
    return out.loss.item<double>();
  }
  // Weight + momentum. The dense [N, D] gradient (allocated by the first backward, kept
  // between steps) shows up in the step's working set.
  int64_t state_bytes() const override {
    return 2 * classifier_.numel() * static_cast<int64_t>(sizeof(float));
  }
  int64_t active_rows() const override { return classifier_.size(0); }

 private:
  Options options_;
  Communicator& comm_;
  torch::Tensor classifier_;
  std::unique_ptr<Sgd> optimizer_;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int run(Communicator& comm, int argc, char** argv) {
  const Options o = parse(argc, argv);
  torch::set_num_threads(o.threads);
  const int world = comm.world_size(), rank = comm.rank();
  if (o.global_batch % world != 0) usage_error("--batch must be a multiple of the rank count");
  const int64_t per_rank_batch = o.global_batch / world;
  const int64_t rows_per_rank = (o.num_negative + world - 1) / world;  // K_r
  const ShardRange mine = shard_range(o.num_instances, rank, world);
  if (o.num_instances / world < per_rank_batch) usage_error("N / ranks is below the batch");

  // Steps start past the recent set's fill-up (~K_r / B steps), where a sampled step is in
  // its steady state: ~B rows enter the active set per step, each caught up over its gap.
  const int64_t first_step =
      2 * ((std::min(rows_per_rank, mine.size()) + per_rank_batch - 1) / per_rank_batch);
  const int64_t total_steps = first_step + o.warmup + o.steps;

  const int64_t base_rss = current_rss_bytes();
  const auto setup_start = std::chrono::steady_clock::now();
  CountingCommunicator counting(comm);
  std::unique_ptr<Head> head;
  if (o.design == "replicated") {
    head = std::make_unique<ReplicatedHead>(o, counting);
  } else {
    head = std::make_unique<ShardedHead>(o, mine, rows_per_rank, per_rank_batch, total_steps,
                                         counting);
  }
  EpochSamplerConfig sampler_config;
  sampler_config.shard_size = mine.size();
  sampler_config.min_shard_size = o.num_instances / world;
  sampler_config.batch_size = per_rank_batch;
  sampler_config.seed = o.seed;
  sampler_config.rank = rank;
  EpochSampler sampler(sampler_config);
  comm.barrier();
  const double setup_s = max_over_ranks(comm, seconds_since(setup_start));
  const int64_t setup_rss = current_rss_bytes();

  std::vector<double> warmup_times, times;
  double loss = 0;
  const auto stepping_start = std::chrono::steady_clock::now();
  for (int i = 0; i < o.warmup + o.steps; ++i) {
    const bool warm = i < o.warmup;
    if (!warm && !times.empty()) {
      // Collective decision: stop when one more step (at the median so far) passes the cap.
      const double elapsed = max_over_ranks(comm, seconds_since(stepping_start));
      if (elapsed + median(times) > o.time_cap_s) break;
    }
    if (!warm && times.empty() && !warmup_times.empty() &&
        warmup_times.back() > 0.5 * o.time_cap_s) {
      // A step this slow is dominated by its O(N) products, not by first-touch costs: the
      // warm-up step is the measurement (flagged in the output).
      break;
    }
    const int64_t step = first_step + i;
    std::vector<int64_t> local = sampler.indices_for_step(step);
    torch::Tensor ids = torch::tensor(local, torch::kLong) + mine.begin;
    torch::Tensor features = random_features(o.seed, rank, step, per_rank_batch, o.dim);
    comm.barrier();
    counting.reset();
    const auto start = std::chrono::steady_clock::now();
    loss = head->step(features, ids, step);
    const double t = max_over_ranks(comm, seconds_since(start));
    // Outside the timing, uncounted: the replicated loss is per rank; report the global mean
    // so that all three designs can be checked to print the same loss.
    if (o.design == "replicated") loss = comm.all_reduce_sum(loss) / world;
    if (!std::isfinite(loss))
      throw std::runtime_error("non-finite loss at step " + std::to_string(step));
    (warm ? warmup_times : times).push_back(t);
    if (rank == 0) {
      std::printf("  %s step %lld: %.4f s, loss %.5f\n", warm ? "warm-up" : "timed",
                  static_cast<long long>(step), t, loss);
      std::fflush(stdout);
    }
  }
  const bool warmup_is_measurement = times.empty();
  const std::vector<double>& measured = warmup_is_measurement ? warmup_times : times;

  const int64_t peak = comm.all_reduce_max(peak_rss_bytes());
  const int64_t working = comm.all_reduce_max(peak_rss_bytes() - setup_rss);
  const int64_t state = comm.all_reduce_max(head->state_bytes());
  const int64_t active = comm.all_reduce_max(head->active_rows());
  const int64_t base = comm.all_reduce_max(base_rss);
  // The counter was reset before each step: these are the last step's, and every step of a
  // configuration hands the collectives the same shapes.
  const int64_t sent = comm.all_reduce_max(counting.bytes());
  const int64_t sent_calls = comm.all_reduce_max(counting.calls());

  if (rank == 0) {
    const double med = median(measured);
    std::printf(
        "%s N=%lld ranks=%d: median step %.4f s over %zu %s step(s) (min %.4f, max %.4f); "
        "head state %.1f MB/rank, peak RSS %.1f MB/rank (process start %.1f MB), step working "
        "set %.1f MB/rank; sent %.3f MB/rank/step in %lld collectives; setup %.1f s\n",
        o.design.c_str(), static_cast<long long>(o.num_instances), world, med, measured.size(),
        warmup_is_measurement ? "warm-up (no separate timed)" : "timed",
        *std::min_element(measured.begin(), measured.end()),
        *std::max_element(measured.begin(), measured.end()), state / 1e6, peak / 1e6, base / 1e6,
        working / 1e6, sent / 1e6, static_cast<long long>(sent_calls), setup_s);
    std::printf(
        "RESULT design=%s N=%lld ranks=%d step_s=%.6f steps=%zu warmup_as_measure=%d "
        "state_bytes=%lld peak_rss=%lld base_rss=%lld working_bytes=%lld sent_bytes=%lld "
        "active_rows=%lld loss=%.6f setup_s=%.2f threads=%d\n",
        o.design.c_str(), static_cast<long long>(o.num_instances), world, med, measured.size(),
        warmup_is_measurement ? 1 : 0, static_cast<long long>(state), static_cast<long long>(peak),
        static_cast<long long>(base), static_cast<long long>(working), static_cast<long long>(sent),
        static_cast<long long>(active), loss, setup_s, o.threads);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace pic

int main(int argc, char** argv) {
  return pic::run_mpi_main(argc, argv,
                           [&](pic::Communicator& comm) { return pic::run(comm, argc, argv); });
}
