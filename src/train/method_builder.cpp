#include "train/method_builder.h"

#include <cstdio>
#include <stdexcept>
#include <utility>

#include "core/instdisc_method.h"
#include "core/lars.h"
#include "core/moco_method.h"
#include "core/simclr_method.h"
#include "train/pic_builder.h"

namespace pic {
namespace {

ResNet build_encoder(const PretrainOptions& o, Communicator& comm) {
  ResNetConfig config;
  config.arch = o.arch;
  config.width = o.width;
  config.small_stem = o.small_stem;
  config.mlp_head = o.mlp_head;
  config.feature_dim = o.feature_dim;
  torch::manual_seed(o.seed);
  ResNet encoder(config);
  torch::NoGradGuard no_grad;
  for (auto& tensor : encoder->parameters()) comm.broadcast(tensor, 0);
  for (auto& tensor : encoder->buffers()) comm.broadcast(tensor, 0);
  return encoder;
}

std::string mebibytes(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

BuiltMethod build_instdisc(const PretrainOptions& o, ResNet encoder, const ShardedRows& rows,
                           Communicator& comm) {
  InstDiscConfig config;
  config.num_instances = rows.global_rows;
  config.rows = rows.range;
  config.num_negative = o.contrast_num_negative;
  config.temperature = o.contrast_temperature;
  config.momentum = o.contrast_momentum;
  config.seed = o.seed;
  auto method = std::make_unique<InstDiscMethod>(std::move(encoder), config, comm);
  const int64_t bank_bytes = comm.all_reduce_max(method->memory().numel() * 4);
  BuiltMethod built;
  built.description =
      "InstDisc: " + std::to_string(rows.global_rows) + " x " + std::to_string(o.feature_dim) +
      " memory bank sharded over " + std::to_string(comm.world_size()) + " ranks (at most " +
      mebibytes(bank_bytes) + " per rank); " + std::to_string(o.contrast_num_negative) +
      " negatives per sample drawn from all instances; bank momentum " +
      std::to_string(o.contrast_momentum);
  built.method = std::move(method);
  return built;
}

BuiltMethod build_moco(const PretrainOptions& o, ResNet encoder, Communicator& comm) {
  MocoConfig config;
  config.temperature = o.contrast_temperature;
  config.momentum = o.contrast_momentum;
  config.queue_size = o.contrast_num_negative;
  config.seed = o.seed;
  BuiltMethod built;
  built.method = std::make_unique<MocoMethod>(std::move(encoder), config, comm);
  built.description = "MoCo: key encoder (EMA " + std::to_string(o.contrast_momentum) +
                      ") with BatchNorm shuffled across " + std::to_string(comm.world_size()) +
                      " ranks; queue of " + std::to_string(o.contrast_num_negative) +
                      " keys on every rank (" +
                      mebibytes(o.contrast_num_negative * o.feature_dim * 4) + ")";
  return built;
}

BuiltMethod build_simclr(const PretrainOptions& o, ResNet encoder, Communicator& comm) {
  SimclrConfig config;
  config.temperature = o.contrast_temperature;
  BuiltMethod built;
  built.method = std::make_unique<SimclrMethod>(std::move(encoder), config, comm);
  built.description = "SimCLR: NT-Xent over the " +
                      std::to_string(2 * o.batch_size * comm.world_size()) +
                      " views of the global batch; BatchNorm synchronised across " +
                      std::to_string(comm.world_size()) + " ranks";
  return built;
}

}  // namespace

SgdOptions sgd_options(const PretrainOptions& o) {
  SgdOptions sgd;
  sgd.momentum = o.momentum;
  sgd.weight_decay = o.weight_decay;
  return sgd;
}

BuiltMethod build_method(const PretrainOptions& o, const TrainingPlan& plan,
                         const LrSchedule& schedule, const ShardedRows& rows, int64_t shard_size,
                         int64_t min_shard, Communicator& comm) {
  ResNet encoder = build_encoder(o, comm);
  if (o.model == "PIC") {
    std::unique_ptr<PicMethod> pic = build_pic_method(std::move(encoder), o, plan, schedule, rows,
                                                      sgd_options(o), shard_size, min_shard, comm);
    BuiltMethod built;
    built.description = describe_head(o, *pic, comm);
    built.method = std::move(pic);
    return built;
  }
  if (o.model == "InstDisc") return build_instdisc(o, std::move(encoder), rows, comm);
  if (o.model == "MoCo") return build_moco(o, std::move(encoder), comm);
  if (o.model == "SimCLR") return build_simclr(o, std::move(encoder), comm);
  throw std::invalid_argument("--model " + o.model + ": unknown method");
}

std::unique_ptr<Optimizer> build_optimizer(const PretrainOptions& o, NamedTensors parameters) {
  if (o.optimizer == "lars") {
    LarsOptions lars;
    lars.momentum = o.momentum;
    lars.weight_decay = o.weight_decay;
    return std::make_unique<Lars>(std::move(parameters), lars);
  }
  return std::make_unique<Sgd>(std::move(parameters), sgd_options(o));
}

}  // namespace pic
