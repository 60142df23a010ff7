#include "train/pretrain_options.h"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <stdexcept>

#include "core/resnet.h"
#include "train/exit_status.h"
#include "train/option_checks.h"

namespace pic {
namespace {

constexpr OptionChecks kCheck("pic-pretrain");

void add_data_options(CLI::App& app, PretrainOptions& o) {
  app.add_option("--data-dir", o.data_dir, "Dataset folder holding train.h5 (written by pic-prep)");
  app.add_option("--train-file", o.train_file,
                 "HDF5 training set written by pic-prep (default: DATA_DIR/train.h5)");
  app.add_flag("--zip", o.zip, "Not supported: convert train.zip + train_map.txt with pic-prep");
  app.add_option("--aug", o.aug, "Augmentation preset")
      ->check(CLI::IsMember({"NULL", "InstDisc", "MoCov2", "SimCLR", "RandAug", "MultiCrop"}));
  app.add_option("--crop", o.crop, "Lower bound of the random-resized-crop area scale");
  app.add_option("--crop2", o.crop2,
                 "MultiCrop: area scale boundary between large [crop2, 1] and small crops");
  app.add_option("--image-size", o.image_size, "Side of the (large) crops, pixels");
  app.add_option("--image-size2", o.image_size2, "MultiCrop: side of the small crops, pixels");
  app.add_option("--num-crop", o.num_crop, "MultiCrop: large crops per image");
  app.add_option("--num-crop2", o.num_crop2, "MultiCrop: small crops per image");
  app.add_option("--num-workers", o.num_workers, "Decode + augmentation threads per rank");
  app.add_option("--prefetch", o.prefetch, "Batches decoded ahead of the trainer per rank");
  app.add_option("--batch-size", o.batch_size, "Images per rank and step");
  app.add_flag("--use-sliding-window-sampler", o.use_sliding_window_sampler,
               "PIC's sliding-window data scheduler instead of shuffled epochs");
  app.add_option("--window-size", o.window_size,
                 "Sliding window, images over all ranks (per rank: floor(window / world))");
  app.add_option("--window-stride", o.window_stride,
                 "Sliding-window stride, images over all ranks (per rank: floor(stride / world))");
  app.add_flag("--shuffle-per-epoch", o.shuffle_per_epoch,
               "Reshuffle the rank's order when the window would run past its end");
}

void add_model_options(CLI::App& app, PretrainOptions& o) {
  app.add_option(
         "--model", o.model,
         "Self-supervised method: PIC, or the baselines InstDisc, MoCo (v1 and v2) and SimCLR")
      ->check(CLI::IsMember({"PIC", "MoCo", "SimCLR", "InstDisc"}));
  app.add_option("--arch", o.arch, "Encoder: resnet18/34/50/101/152, each also with _d");
  app.add_option("--width", o.width, "Width multiplier of the four ResNet stages");
  app.add_flag("--small-stem", o.small_stem,
               "3x3 stride-1 stem without max-pool, for 28-64 px images");
  app.add_flag("--mlp-head", o.mlp_head, "Two-layer head (hidden 2048, ReLU) instead of one fc");
  app.add_option("--feature-dim", o.feature_dim, "Output dimension of the head");
  app.add_option("--contrast-temperature", o.contrast_temperature,
                 "Softmax temperature (the original's default; its PIC recipe uses 0.2)");
  app.add_option("--contrast-momentum", o.contrast_momentum,
                 "MoCo: key-encoder moving average; InstDisc: memory-bank update momentum (its "
                 "recipe: 0.5)");
  app.add_option("--contrast-num-negative", o.contrast_num_negative,
                 "MoCo: queue length (at least the global batch); InstDisc: negatives per sample, "
                 "drawn from all N with replacement");
  app.add_option("--num-negative", o.num_negative,
                 "PIC: instances in each step's softmax, over all ranks (0 or >= N: all N). "
                 "Each rank contributes ceil(K / ranks) of its own, which must be at least "
                 "--batch-size: the batch's own images are always among them");
  app.add_option("--negative-sampling", o.negative_sampling,
                 "PIC with --num-negative: recent (each rank's most recently visited instances; "
                 "with the sliding window, the window when K / ranks covers it) or uniform")
      ->check(CLI::IsMember({"recent", "uniform"}));
  app.add_option("--weight-update-correction", o.weight_update_correction,
                 "PIC with --num-negative: rows outside a step's softmax are caught up as if "
                 "SGD had run on them with a zero gradient (lazy) or left as they are (freeze)")
      ->check(CLI::IsMember({"lazy", "freeze"}));
}

void add_optimisation_options(CLI::App& app, PretrainOptions& o) {
  app.add_option("--optimizer", o.optimizer,
                 "sgd, or lars (SimCLR's: no weight decay or trust ratio on 1-D parameters)")
      ->check(CLI::IsMember({"sgd", "lars"}));
  app.add_option("--base-learning-rate,--base-lr", o.base_lr,
                 "Learning rate at a global batch of 256 (lr = base x batch x world / 256)");
  add_lr_schedule_options(app, o);
  app.add_option("--weight-decay", o.weight_decay,
                 "L2 weight decay (on every parameter with sgd; lars skips 1-D ones)");
  app.add_option("--momentum", o.momentum, "Momentum of sgd and lars");
  app.add_option("--epochs", o.epochs, "Training epochs (sliding window: converted, see docs)");
  app.add_option("--start-epoch", o.start_epoch,
                 "1-based epoch to start from without a checkpoint (a resume overrides it)");
}

void add_run_options(CLI::App& app, PretrainOptions& o) {
  app.add_option("--output-dir", o.output_dir, "Logs, config.json, metrics.jsonl and checkpoints");
  app.add_flag("--auto-resume", o.auto_resume,
               "Resume from the latest checkpoint in OUTPUT_DIR if there is one");
  app.add_option("--resume", o.resume, "Resume from this checkpoint file (must exist)");
  app.add_option("--print-freq", o.print_freq, "Log every this many steps");
  app.add_option("--save-freq", o.save_freq, "Checkpoint every this many epochs");
  app.add_option("--save-every-steps", o.save_every_steps,
                 "Checkpoint every this many steps (0: use --save-freq)");
  app.add_option("--keep-last", o.keep_last,
                 "After each checkpoint, delete all but the N newest ckpt_*.h5 (never the one "
                 "`latest` names; 0: keep all). Keep 2 or more to have one to fall back on");
  app.add_option("--max-steps", o.max_steps,
                 "Stop after this many steps in total (0: whole schedule; the schedule still "
                 "spans --epochs)");
  app.add_option("--seed", o.seed, "Run seed: model init, sampler and augmentation streams");
  app.add_option("--threads", o.threads, "LibTorch intra-op threads per rank");
  app.add_option("--grad-bucket-mb", o.grad_bucket_mb,
                 "Size of the buckets in which gradients are all-reduced, in MB (2^20 bytes)");
  app.add_option("--grad-sync", o.grad_sync,
                 "overlap: all-reduce each gradient bucket as soon as backward has filled it; "
                 "after-backward: all of them once backward is done (to measure the overlap)")
      ->check(CLI::IsMember({"overlap", "after-backward"}));
  app.add_option("--nonfinite-skip-limit", o.nonfinite_skip_limit,
                 "Steps with a non-finite loss or gradient are skipped; after this many in a "
                 "row the run reloads its last checkpoint with a lower learning rate");
  app.add_option("--nonfinite-lr-factor", o.nonfinite_lr_factor,
                 "Learning-rate factor applied at each such reload");
}

void validate_method_choices(const PretrainOptions& o) {
  if (o.zip) {
    kCheck.invalid("--zip",
                   "pic-pretrain reads the HDF5 dataset written by pic-prep; convert "
                   "train.zip + train_map.txt once with `pic-prep` and pass --data-dir "
                   "(or --train-file)");
  }
  if (o.model != "PIC" && o.aug == "MultiCrop") {
    kCheck.invalid("--aug", "MultiCrop is PIC's; " + o.model +
                                " takes one crop (InstDisc) or "
                                "two views (MoCo, SimCLR) of a single-crop preset");
  }
  if (o.model != "PIC" && o.num_negative != 0) {
    kCheck.invalid("--num-negative", "is PIC's; " + o.model + " uses --contrast-num-negative");
  }
  if (o.aug == "RandAug") kCheck.invalid("--aug", "RandAug comes in a later version");
  ResNetConfig encoder;
  encoder.arch = o.arch;
  encoder.width = o.width;
  try {
    validate_resnet_config(encoder);
  } catch (const std::exception& e) {
    kCheck.invalid("--arch", e.what());
  }
}

void validate_ranges(const PretrainOptions& o) {
  kCheck.fraction("--crop", o.crop);
  if (o.aug == "MultiCrop" && !(o.crop2 >= o.crop && o.crop2 <= 1.0)) {
    kCheck.invalid("--crop2", "must lie in [crop, 1] = [" + std::to_string(o.crop) + ", 1], got " +
                                  std::to_string(o.crop2));
  }
  kCheck.at_least<int64_t>("--image-size", o.image_size, 8);
  kCheck.at_least<int64_t>("--image-size2", o.image_size2, 8);
  kCheck.at_least<int64_t>("--num-crop", o.num_crop, 1);
  kCheck.at_least<int64_t>("--num-crop2", o.num_crop2, 0);
  if (o.aug != "MultiCrop" && (o.num_crop != 1)) {
    kCheck.invalid("--num-crop", "several large crops need --aug MultiCrop");
  }
  kCheck.at_least("--num-workers", o.num_workers, 1);
  kCheck.at_least<int64_t>("--prefetch", o.prefetch, 1);
  kCheck.at_least<int64_t>("--batch-size", o.batch_size, 1);
  if (!(o.width > 0)) kCheck.invalid("--width", "must be positive, got " + std::to_string(o.width));
  kCheck.at_least<int64_t>("--feature-dim", o.feature_dim, 1);
  if (!(o.contrast_temperature > 0)) kCheck.invalid("--contrast-temperature", "must be positive");
  if (!(o.contrast_momentum >= 0 && o.contrast_momentum < 1)) {
    kCheck.invalid("--contrast-momentum",
                   "must lie in [0, 1), got " + std::to_string(o.contrast_momentum));
  }
  kCheck.at_least<int64_t>("--contrast-num-negative", o.contrast_num_negative, 1);
  if (!(o.base_lr > 0)) kCheck.invalid("--base-learning-rate", "must be positive");
  kCheck.at_least<int64_t>("--num-negative", o.num_negative, 0);
  validate_lr_schedule_options(o, kCheck);
  validate_sgd_options(o.momentum, o.weight_decay, kCheck);
  kCheck.at_least<int64_t>("--epochs", o.epochs, 1);
  if (o.start_epoch < 1 || o.start_epoch > o.epochs) {
    kCheck.invalid("--start-epoch", "must be in [1, epochs=" + std::to_string(o.epochs) +
                                        "], got " + std::to_string(o.start_epoch));
  }
  kCheck.at_least<int64_t>("--print-freq", o.print_freq, 1);
  kCheck.at_least<int64_t>("--save-freq", o.save_freq, 1);
  kCheck.at_least<int64_t>("--save-every-steps", o.save_every_steps, 0);
  kCheck.at_least<int64_t>("--keep-last", o.keep_last, 0);
  kCheck.at_least<int64_t>("--max-steps", o.max_steps, 0);
  kCheck.at_least("--threads", o.threads, 1);
  kCheck.at_least<int64_t>("--nonfinite-skip-limit", o.nonfinite_skip_limit, 1);
  if (!(o.nonfinite_lr_factor > 0 && o.nonfinite_lr_factor <= 1)) {
    kCheck.invalid("--nonfinite-lr-factor",
                   "must be in (0, 1], got " + std::to_string(o.nonfinite_lr_factor));
  }
  if (!(o.grad_bucket_mb > 0 && o.grad_bucket_mb <= 4096)) {
    kCheck.invalid("--grad-bucket-mb",
                   "must be in (0, 4096], got " + std::to_string(o.grad_bucket_mb));
  }
  if (o.auto_resume && !o.resume.empty()) {
    kCheck.invalid("--resume", "give either --resume FILE or --auto-resume, not both");
  }
}

// Each rank's share of the sampled softmax must hold at least its own batch (the positives).
void validate_negatives(const PretrainOptions& o, int world_size) {
  if (o.num_negative == 0) return;
  const int64_t per_rank = negative_rows_per_rank(o.num_negative, world_size);
  if (per_rank < o.batch_size) {
    kCheck.invalid("--num-negative",
                   std::to_string(o.num_negative) + " over " + std::to_string(world_size) +
                       (world_size == 1 ? " rank" : " ranks") + " gives " +
                       std::to_string(per_rank) +
                       " instances per rank, fewer than the batch's own images (--batch-size " +
                       std::to_string(o.batch_size) + "); use at least " +
                       std::to_string(o.batch_size * world_size) + ", or 0 for all instances");
  }
}

void validate_window(const PretrainOptions& o, int world_size) {
  if (!o.use_sliding_window_sampler) return;
  const int64_t window = o.window_size / world_size;
  const int64_t stride = o.window_stride / world_size;
  if (window < o.batch_size) {
    kCheck.invalid("--window-size", std::to_string(o.window_size) + " over " +
                                        std::to_string(world_size) + " ranks gives " +
                                        std::to_string(window) +
                                        " images per rank, fewer than one "
                                        "batch (--batch-size " +
                                        std::to_string(o.batch_size) + ")");
  }
  if (stride < 1) {
    kCheck.invalid("--window-stride", std::to_string(o.window_stride) + " over " +
                                          std::to_string(world_size) +
                                          " ranks is 0 images per rank");
  }
  if (o.window_stride > o.window_size) {
    kCheck.invalid("--window-stride", "larger than --window-size (" +
                                          std::to_string(o.window_size) +
                                          "): images between two windows would never be seen");
  }
}

}  // namespace

int64_t negative_rows_per_rank(int64_t num_negative, int world_size) {
  return num_negative / world_size + (num_negative % world_size != 0 ? 1 : 0);
}

int parse_pretrain_options(int argc, const char* const* argv, PretrainOptions& options,
                           bool print) {
  CLI::App app{
      "pic-pretrain: self-supervised pre-training (PIC, InstDisc, MoCo, SimCLR) on MPI ranks, "
      "from an HDF5 dataset "
      "written by pic-prep.",
      "pic-pretrain"};
  // A flag given twice keeps its last value, as argparse (the original's parser) does, so
  // that a script can append overrides to a recipe.
  app.option_defaults()->always_capture_default()->multi_option_policy(
      CLI::MultiOptionPolicy::TakeLast);
  app.get_formatter()->column_width(36);
  app.footer("Exit status: 0 finished; " + std::to_string(kExitStoppedToResume) +
             " stopped by SIGUSR1/SIGTERM after a checkpoint, resume with --auto-resume; 1 "
             "error (the job is aborted); 100 and above: the command line was refused.");
  add_data_options(app, options);
  add_model_options(app, options);
  add_optimisation_options(app, options);
  add_run_options(app, options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (print) return app.exit(e);
    return e.get_exit_code();
  }
  if (options.train_file.empty()) {
    options.train_file = (std::filesystem::path(options.data_dir) / "train.h5").string();
  }
  return -1;
}

void validate_pretrain_options(const PretrainOptions& options, int world_size) {
  validate_method_choices(options);
  validate_ranges(options);
  validate_window(options, world_size);
  validate_negatives(options, world_size);
  const int64_t global_batch = options.batch_size * world_size;
  if (options.model == "MoCo" && options.contrast_num_negative < global_batch) {
    kCheck.invalid("--contrast-num-negative",
                   "MoCo's queue of " + std::to_string(options.contrast_num_negative) +
                       " keys is shorter than the global batch " + std::to_string(global_batch) +
                       " (--batch-size x ranks) that every step enqueues");
  }
  // Bounds that fail here instead of in an allocation during the first step.
  constexpr int64_t kMaxQueueFloats = int64_t{1} << 32;  // 16 GiB of keys on every rank
  if (options.model == "MoCo" &&
      options.contrast_num_negative > kMaxQueueFloats / options.feature_dim) {
    kCheck.invalid("--contrast-num-negative",
                   std::to_string(options.contrast_num_negative) + " keys of " +
                       std::to_string(options.feature_dim) +
                       " floats exceed 16 GiB, the queue every rank holds");
  }
  constexpr int64_t kMaxDrawnColumns = int64_t{1} << 28;  // 2 GiB of int64 per rank and step
  if (options.model == "InstDisc" &&
      options.contrast_num_negative >= kMaxDrawnColumns / global_batch) {
    kCheck.invalid("--contrast-num-negative",
                   "InstDisc draws (1 + " + std::to_string(options.contrast_num_negative) +
                       ") columns for each of the " + std::to_string(global_batch) +
                       " images of a step on every rank; keep that product under 2^28 "
                       "(2 GiB of indices)");
  }
  namespace fs = std::filesystem;
  if (!fs::is_regular_file(options.train_file)) {
    kCheck.invalid("--train-file", "no dataset at '" + options.train_file +
                                       "' (convert images with pic-prep, then pass --data-dir DIR "
                                       "holding train.h5, or --train-file FILE)");
  }
  if (!options.resume.empty() && !fs::is_regular_file(options.resume)) {
    kCheck.invalid("--resume", "no checkpoint file at '" + options.resume + "'");
  }
}

JsonObject pretrain_options_json(const PretrainOptions& o) {
  JsonObject json;
  json.add("data_dir", o.data_dir)
      .add("train_file", o.train_file)
      .add("aug", o.aug)
      .add("crop", o.crop)
      .add("crop2", o.crop2)
      .add("image_size", o.image_size)
      .add("image_size2", o.image_size2)
      .add("num_crop", o.num_crop)
      .add("num_crop2", o.num_crop2)
      .add("num_workers", o.num_workers)
      .add("prefetch", o.prefetch)
      .add("batch_size", o.batch_size)
      .add("use_sliding_window_sampler", o.use_sliding_window_sampler)
      .add("window_size", o.window_size)
      .add("window_stride", o.window_stride)
      .add("shuffle_per_epoch", o.shuffle_per_epoch)
      .add("model", o.model)
      .add("arch", o.arch)
      .add("width", o.width)
      .add("small_stem", o.small_stem)
      .add("mlp_head", o.mlp_head)
      .add("feature_dim", o.feature_dim)
      .add("contrast_temperature", o.contrast_temperature)
      .add("contrast_momentum", o.contrast_momentum)
      .add("contrast_num_negative", o.contrast_num_negative)
      .add("num_negative", o.num_negative)
      .add("negative_sampling", o.negative_sampling)
      .add("weight_update_correction", o.weight_update_correction)
      .add("optimizer", o.optimizer)
      .add("base_learning_rate", o.base_lr);
  add_lr_schedule_json(json, o);
  json.add("weight_decay", o.weight_decay)
      .add("momentum", o.momentum)
      .add("epochs", o.epochs)
      .add("start_epoch", o.start_epoch)
      .add("output_dir", o.output_dir)
      .add("auto_resume", o.auto_resume)
      .add("resume", o.resume)
      .add("print_freq", o.print_freq)
      .add("save_freq", o.save_freq)
      .add("save_every_steps", o.save_every_steps)
      .add("keep_last", o.keep_last)
      .add("max_steps", o.max_steps)
      .add("seed", o.seed)
      .add("threads", o.threads)
      .add("grad_bucket_mb", o.grad_bucket_mb)
      .add("grad_sync", o.grad_sync)
      .add("nonfinite_skip_limit", o.nonfinite_skip_limit)
      .add("nonfinite_lr_factor", o.nonfinite_lr_factor);
  return json;
}

std::string format_options_table(const JsonObject& options) {
  size_t width = 0;
  for (const auto& field : options.fields()) width = std::max(width, field.first.size());
  std::string table;
  for (const auto& [key, value] : options.fields()) {
    table += "  " + key + std::string(width + 2 - key.size(), ' ') + value + "\n";
  }
  return table;
}

}  // namespace pic
