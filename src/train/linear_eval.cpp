#include "train/linear_eval.h"

#include <opencv2/core.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "comm/mpi_communicator.h"
#include "core/linear_probe.h"
#include "data/batch_loader.h"
#include "data/dataset_reader.h"
#include "train/encoder_loader.h"
#include "train/feature_extractor.h"
#include "train/json_object.h"
#include "train/linear_options.h"
#include "train/metrics_log.h"
#include "train/root_log.h"

namespace pic {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

LinearProbeConfig probe_config(const LinearOptions& o) {
  LinearProbeConfig c;
  c.learning_rate = o.learning_rate;
  c.momentum = o.momentum;
  c.weight_decay = o.weight_decay;
  c.lr_scheduler = o.lr_scheduler;
  c.warmup_epochs = o.warmup_epoch;
  c.warmup_multiplier = o.warmup_multiplier;
  c.lr_decay_epochs = o.lr_decay_epochs;
  c.lr_decay_rate = o.lr_decay_rate;
  c.epochs = o.epochs;
  c.total_batch_size = o.total_batch_size;
  c.seed = o.seed;
  return c;
}

// Rank 0's metrics.jsonl: one JSON object per evaluated epoch, flushed at once.
class EpochLog {
 public:
  EpochLog(const std::string& path, bool active) {
    if (!active) return;
    out_.open(path, std::ios::trunc);
    if (!out_) throw std::runtime_error("cannot write " + path);
  }
  void record(Communicator& comm, int64_t epoch, int64_t epochs, double lr, double train_loss,
              const TopkCounts& val, double seconds) {
    if (!comm.is_root()) return;
    char line[256];
    std::snprintf(line, sizeof(line),
                  "epoch %lld/%lld  lr %.6f  train loss %.4f  val top-1 %.2f  top-5 %.2f  "
                  "loss %.4f  (%s)",
                  static_cast<long long>(epoch), static_cast<long long>(epochs), lr, train_loss,
                  val.top1(), val.top5(), val.mean_loss(), format_duration(seconds).c_str());
    log_root(comm, line);
    JsonObject json;
    json.add("epoch", epoch)
        .add("lr", lr)
        .add("train_loss", train_loss)
        .add("val_top1", val.top1())
        .add("val_top5", val.top5())
        .add("val_loss", val.mean_loss())
        .add("num_val", val.num_samples)
        .add("seconds", seconds);
    out_ << json.dump() << "\n";
    out_.flush();
  }

 private:
  std::ofstream out_;
};

void save_linear_weights(LinearClassifier& fc, const std::string& path) {
  c10::Dict<std::string, torch::Tensor> dict;
  dict.insert("fc.weight", fc.weight());
  dict.insert("fc.bias", fc.bias());
  const std::vector<char> bytes = torch::pickle_save(dict);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  std::filesystem::rename(tmp, path);
}

void load_linear_weights(LinearClassifier& fc, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto dict = torch::pickle_load(bytes).toGenericDict();
  for (auto [name, target] :
       {std::make_pair("fc.weight", fc.weight()), std::make_pair("fc.bias", fc.bias())}) {
    if (!dict.contains(name)) throw std::runtime_error(path + ": no tensor " + name);
    auto source = dict.at(name).toTensor();
    if (source.sizes() != target.sizes()) {
      throw std::runtime_error(path + ": " + name + " has shape " + c10::str(source.sizes()) +
                               ", the encoder and dataset need " + c10::str(target.sizes()));
    }
    target.copy_(source);
  }
}

struct RunState {
  LinearOptions options;
  LoadedEncoder encoder;
  int64_t image_size = 0;
  DatasetShard val_shard;
  DatasetShard train_shard;
  ExtractedFeatures val;
  int64_t num_classes = 0;
  int64_t num_train = 0;
  double train_loss = 0;
  double extract_seconds = 0;
  double train_seconds = 0;
};

ExtractOptions extract_options(const RunState& s, Communicator& comm, const char* what) {
  ExtractOptions e;
  e.image_size = s.image_size;
  e.val_resize = s.options.val_resize;
  e.batch_size = std::max<int64_t>(1, s.options.total_batch_size / comm.world_size());
  e.num_workers = s.options.num_workers;
  e.print_freq = s.options.print_freq;
  e.what = what;
  return e;
}

// Features protocol: the linear layer trains on train features gathered to every rank, with
// the batch order and the chunked gradient sums independent of the rank count.
void train_on_features(RunState& s, LinearClassifier& fc, EpochLog& log, Communicator& comm) {
  auto train =
      extract_features(s.encoder.encoder, s.train_shard, extract_options(s, comm, "train"), comm);
  s.extract_seconds += train.seconds;
  auto features = comm.all_gather_rows(train.features);  // [N, D] in dataset order
  auto labels = comm.all_gather_rows(train.labels);      // [N]
  s.num_train = features.size(0);
  log_root(comm, "training the linear layer on " + std::to_string(s.num_train) +
                     " gathered train features for " + std::to_string(s.options.epochs) +
                     " epochs");

  const auto start = Clock::now();
  train_linear_on_features(
      fc, features, labels, probe_config(s.options), comm,
      [&](int64_t epoch, double loss, double lr) {
        s.train_loss = loss;
        auto val = evaluate_linear(fc, s.val.features, s.val.labels, 1024, comm);
        log.record(comm, epoch, s.options.epochs, lr, loss, val, seconds_since(start));
      });
  s.train_seconds = seconds_since(start);
}

// Original protocol: fresh augmented crops of the rank's own images every epoch, through the
// frozen backbone; gradients all-reduced (data-parallel, rank-count dependent rounding).
void train_on_crops(RunState& s, LinearClassifier& fc, EpochLog& log, Communicator& comm) {
  const LinearOptions& o = s.options;
  const int64_t per_rank = o.total_batch_size / comm.world_size();
  EpochSamplerConfig sampler_config;
  sampler_config.shard_size = s.train_shard.size();
  sampler_config.min_shard_size = comm.all_reduce_min(s.train_shard.size());
  sampler_config.batch_size = per_rank;
  sampler_config.seed = o.seed;
  sampler_config.rank = comm.rank();
  if (sampler_config.min_shard_size < per_rank) {
    throw std::invalid_argument("--total-batch-size " + std::to_string(o.total_batch_size) + ": " +
                                std::to_string(per_rank) +
                                " images per rank, but the "
                                "smallest train shard holds " +
                                std::to_string(sampler_config.min_shard_size));
  }
  auto sampler = std::make_shared<EpochSampler>(sampler_config);
  const int64_t steps_per_epoch = sampler->steps_per_epoch();
  s.num_train = comm.all_reduce_sum(s.train_shard.size());

  AugmentConfig aug;
  aug.preset = o.aug;
  aug.image_size = s.image_size;
  aug.crop = o.crop;
  LoaderOptions loader_options;
  loader_options.num_threads = o.num_workers;
  loader_options.seed = o.seed;
  loader_options.rank = comm.rank();
  BatchLoader loader(s.train_shard, sampler, aug, loader_options, 0, o.epochs * steps_per_epoch);

  LinearProbeTrainer trainer(fc, probe_config(o), steps_per_epoch, comm);
  const auto start = Clock::now();
  for (int64_t epoch = 1; epoch <= o.epochs; ++epoch) {
    const double lr = trainer.current_lr();
    double loss_sum = 0;
    for (int64_t it = 0; it < steps_per_epoch; ++it) {
      LoadedBatch batch = loader.next();
      auto features = s.encoder.encoder->backbone(batch.crops.groups.at(0));  // [b, D]
      const double loss = trainer.step_on_local_batch(features, batch.labels);
      loss_sum += loss;
      if (comm.is_root() && (trainer.iteration() % o.print_freq == 0)) {
        const double elapsed = seconds_since(start);
        const double total = static_cast<double>(o.epochs * steps_per_epoch);
        const double eta = elapsed / trainer.iteration() * (total - trainer.iteration());
        char line[200];
        std::snprintf(line, sizeof(line),
                      "epoch %lld  step %lld/%lld  lr %.6f  loss %.4f  img/s %.1f  ETA %s",
                      static_cast<long long>(epoch), static_cast<long long>(trainer.iteration()),
                      static_cast<long long>(total), trainer.current_lr(), loss,
                      trainer.iteration() * o.total_batch_size / elapsed,
                      format_duration(eta).c_str());
        log_root(comm, line);
      }
    }
    s.train_loss = loss_sum / static_cast<double>(steps_per_epoch);
    auto val = evaluate_linear(fc, s.val.features, s.val.labels, 1024, comm);
    log.record(comm, epoch, o.epochs, lr, s.train_loss, val, seconds_since(start));
  }
  s.train_seconds = seconds_since(start);
}

void write_result(const RunState& s, const TopkCounts& val, Communicator& comm) {
  if (!comm.is_root()) return;
  const LinearOptions& o = s.options;
  const ResNetConfig& arch = s.encoder.encoder->config();
  JsonObject json;
  json.add("top1", val.top1())
      .add("top5", val.top5())
      .add("loss", val.mean_loss())
      .add("num_val", val.num_samples)
      .add("top1_correct", val.top1_correct)
      .add("top5_correct", val.top5_correct)
      .add("num_train", s.num_train)
      .add("num_classes", s.num_classes)
      .add("protocol", o.protocol)
      .add("eval_only", o.eval_only)
      .add("checkpoint", s.encoder.checkpoint)
      .add("random_init", o.random_init)
      .add("arch", arch.arch)
      .add("width", arch.width)
      .add("small_stem", arch.small_stem)
      .add("backbone_dim", s.encoder.encoder->backbone_dim())
      .add("image_size", s.image_size)
      .add("epochs", o.epochs)
      .add("total_batch_size", o.total_batch_size)
      .add("learning_rate", o.learning_rate)
      .add("weight_decay", o.weight_decay)
      .add("final_train_loss", s.train_loss)
      .add("world_size", comm.world_size())
      .add("threads_per_rank", o.threads)
      .add("extract_seconds", s.extract_seconds)
      .add("train_seconds", s.train_seconds);
  const std::string path = (std::filesystem::path(o.output_dir) / "result.json").string();
  std::ofstream out(path, std::ios::trunc);
  out << json.dump(/*multi_line=*/true) << "\n";
  if (!out) throw std::runtime_error("cannot write " + path);
  log_root(comm, "wrote " + path);
}

}  // namespace

int run_linear_eval(int argc, char** argv, Communicator& comm) {
  RunState s;
  LinearOptions& o = s.options;
  const int parsed = parse_linear_options(argc, argv, o, comm.is_root());
  if (parsed >= 0) return parsed;
  validate_linear_options(o, comm.world_size());
  torch::set_num_threads(o.threads);
  cv::setNumThreads(1);  // the loader has its own workers
  if (comm.is_root()) std::filesystem::create_directories(o.output_dir);
  comm.barrier();

  // Options table, then the encoder.
  if (comm.is_root()) {
    std::printf("pic-linear on %d ranks, %d threads per rank\n", comm.world_size(), o.threads);
    for (const auto& [key, value] : linear_options_json(o).fields()) {
      std::printf("  %-20s %s\n", key.c_str(), value.c_str());
    }
  }
  if (o.random_init) {
    ResNetConfig config;
    config.arch = o.arch;
    config.width = o.width;
    config.small_stem = o.small_stem;
    s.encoder = make_random_encoder(config, o.seed);
  } else {
    s.encoder = load_pretrained_encoder(o.pretrained_model);
    if (!s.encoder.note.empty()) log_root(comm, "note: " + s.encoder.note);
  }
  s.image_size = o.image_size ? o.image_size : (s.encoder.image_size ? s.encoder.image_size : 224);
  s.encoder.encoder->eval();
  torch::NoGradGuard no_grad;
  log_root(comm,
           "encoder: " + s.encoder.encoder->config().arch + " width " +
               std::to_string(s.encoder.encoder->config().width) + ", backbone_dim " +
               std::to_string(s.encoder.encoder->backbone_dim()) + ", from " +
               (o.random_init ? std::string("random init (seed ") + std::to_string(o.seed) + ")"
                              : s.encoder.checkpoint) +
               ", image size " + std::to_string(s.image_size));

  // Data: each rank reads its own contiguous block of each split.
  MPI_Comm mpi = mpi_comm_of(comm, "pic-linear");
  s.val_shard = read_dataset_shard(o.val_file, mpi);
  s.num_classes = s.val_shard.info.num_classes;
  if (!o.eval_only) {
    s.train_shard = read_dataset_shard(o.train_file, mpi);
    if (s.train_shard.info.num_classes != s.num_classes) {
      throw std::runtime_error(o.train_file + " has " +
                               std::to_string(s.train_shard.info.num_classes) + " classes, " +
                               o.val_file + " has " + std::to_string(s.num_classes));
    }
    // Checked before the (long) feature extraction, not after it.
    if (s.train_shard.info.num_images < o.total_batch_size) {
      throw std::invalid_argument("pic-linear: --total-batch-size " +
                                  std::to_string(o.total_batch_size) + " is larger than " +
                                  o.train_file + " (" +
                                  std::to_string(s.train_shard.info.num_images) + " images)");
    }
  }
  log_root(comm, "val: " + std::to_string(s.val_shard.info.num_images) + " images, " +
                     std::to_string(s.num_classes) + " classes" +
                     (o.eval_only ? std::string()
                                  : "; train: " + std::to_string(s.train_shard.info.num_images) +
                                        " images"));

  // The backbone is frozen and the val transform deterministic: val features once.
  s.val = extract_features(s.encoder.encoder, s.val_shard, extract_options(s, comm, "val"), comm);
  s.extract_seconds = s.val.seconds;

  LinearClassifier fc(s.encoder.encoder->backbone_dim(), s.num_classes, o.seed);
  EpochLog log((std::filesystem::path(o.output_dir) / "metrics.jsonl").string(), comm.is_root());
  if (o.eval_only) {
    load_linear_weights(fc, o.linear_weights);
  } else if (o.protocol == "features") {
    train_on_features(s, fc, log, comm);
  } else {
    train_on_crops(s, fc, log, comm);
  }

  const TopkCounts val = evaluate_linear(fc, s.val.features, s.val.labels, 1024, comm);
  char line[200];
  std::snprintf(line, sizeof(line), "result: val top-1 %.2f  top-5 %.2f  loss %.4f  on %lld images",
                val.top1(), val.top5(), val.mean_loss(), static_cast<long long>(val.num_samples));
  log_root(comm, line);
  if (comm.is_root() && !o.eval_only) save_linear_weights(fc, o.linear_weights);
  write_result(s, val, comm);
  comm.barrier();
  return 0;
}

}  // namespace pic
