#include "train/pic_builder.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "core/negative_set.h"

namespace pic {

std::unique_ptr<PicMethod> build_pic_method(ResNet encoder, const PretrainOptions& o,
                                            const TrainingPlan& plan, const LrSchedule& schedule,
                                            const ShardedRows& rows, const SgdOptions& sgd,
                                            int64_t shard_size, int64_t min_shard,
                                            Communicator& comm) {
  // Sampling is on only if it leaves out some row somewhere: K_r >= every shard is exactly
  // the full softmax, run as such.
  const int64_t per_rank = negative_rows_per_rank(o.num_negative, comm.world_size());
  const bool sampled =
      o.num_negative > 0 && comm.all_reduce_max(static_cast<int64_t>(per_rank < shard_size)) != 0;
  InstanceClassifierConfig classifier;
  classifier.num_instances = rows.global_rows;
  classifier.rows = rows.range;
  classifier.dim = o.feature_dim;
  classifier.seed = o.seed;
  classifier.sgd = sgd;
  // Without sampling every row is updated at every step: nothing is ever missed.
  classifier.correction =
      sampled ? parse_update_correction(o.weight_update_correction) : UpdateCorrection::kFreeze;
  std::shared_ptr<const MissedSgdSteps> missed;
  if (classifier.correction == UpdateCorrection::kLazy) {
    std::vector<double> lr(static_cast<size_t>(plan.total_steps));
    for (int64_t t = 0; t < plan.total_steps; ++t) lr[static_cast<size_t>(t)] = schedule.at(t);
    missed = std::make_shared<MissedSgdSteps>(lr, sgd.momentum, sgd.weight_decay);
  }
  std::unique_ptr<NegativeSet> negatives;
  if (sampled) {
    NegativeSetConfig config;
    config.shard_size = shard_size;
    config.rows_per_rank = per_rank;
    config.mode = parse_negative_sampling(o.negative_sampling);
    config.seed = o.seed;
    config.rank = comm.rank();
    // A sampler of its own: the loader's is used by its worker threads.
    negatives = std::make_unique<NegativeSet>(
        config, make_sampler(o, plan, shard_size, min_shard, comm.rank()));
  }
  PicMethodConfig method;
  method.temperature = o.contrast_temperature;
  return std::make_unique<PicMethod>(
      std::move(encoder), std::make_unique<InstanceClassifier>(classifier, std::move(missed)),
      std::move(negatives), method, comm);
}

std::string describe_head(const PretrainOptions& o, PicMethod& method, Communicator& comm) {
  InstanceClassifier& classifier = method.classifier();
  const int64_t dim = classifier.config().dim;
  const int64_t host = comm.all_reduce_max(classifier.host_bytes());
  const int64_t rows = classifier.config().rows.size();
  const int64_t max_rows = comm.all_reduce_max(rows);
  const int64_t active =
      method.samples_negatives()
          ? std::min(rows, negative_rows_per_rank(o.num_negative, comm.world_size()))
          : rows;
  const int64_t active_total = comm.all_reduce_sum(active);
  const int64_t active_max = comm.all_reduce_max(active);
  std::string softmax;
  if (method.samples_negatives()) {
    softmax = std::to_string(active_total) + " " + o.negative_sampling + " instances (" +
              o.weight_update_correction + " correction)";
  } else {
    softmax = "all " + std::to_string(active_total) + " instances";
    if (o.num_negative > 0) {
      softmax +=
          " (--num-negative " + std::to_string(o.num_negative) + " covers every rank's rows)";
    }
  }
  char text[600];
  std::snprintf(text, sizeof text,
                "PIC head: %lld x %lld classifier sharded over %d ranks (at most %lld rows, "
                "%.1f MiB of rows + momentum per rank); softmax over %s, at most %lld rows "
                "per rank and step (%.1f MiB)",
                static_cast<long long>(classifier.config().num_instances),
                static_cast<long long>(dim), comm.world_size(), static_cast<long long>(max_rows),
                static_cast<double>(host) / (1 << 20), softmax.c_str(),
                static_cast<long long>(active_max),
                static_cast<double>(active_max * dim * 4) / (1 << 20));
  std::string line = text;
  if (o.num_negative == 0 &&
      (o.negative_sampling != "recent" || o.weight_update_correction != "lazy")) {
    line +=
        "\nwarning: --negative-sampling and --weight-update-correction have no effect "
        "without --num-negative (every instance is in every step's softmax)";
  }
  return line;
}

}  // namespace pic
