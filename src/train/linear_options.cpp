#include "train/linear_options.h"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <stdexcept>

#include "core/resnet.h"
#include "train/option_checks.h"

namespace pic {
namespace {

constexpr OptionChecks kCheck("pic-linear");

void add_data_options(CLI::App& app, LinearOptions& o) {
  app.add_option("--data-dir", o.data_dir,
                 "Dataset folder holding train.h5 and val.h5 (written by pic-prep)");
  app.add_option("--train-file", o.train_file,
                 "Labelled training split (default: DATA_DIR/train.h5)");
  app.add_option("--val-file", o.val_file, "Validation split (default: DATA_DIR/val.h5)");
  app.add_option("--aug", o.aug,
                 "Training augmentation of --protocol original (NULL: random resized crop + "
                 "flip)")
      ->check(CLI::IsMember({"NULL"}));
  app.add_option("--crop", o.crop, "Lower bound of the random-resized-crop area scale");
  app.add_option("--image-size", o.image_size,
                 "Crop side in pixels (0: the checkpoint's image_size; random init: 224); "
                 "validation resizes the short side to size + 32 and centre-crops");
  app.add_option("--val-resize", o.val_resize,
                 "Short side before the validation centre crop (0: image size + 32, as the "
                 "original; set it to the image size for 28-64 px datasets)");
  app.add_option("--num-workers", o.num_workers, "Decode + augmentation threads per rank");
}

void add_encoder_options(CLI::App& app, LinearOptions& o) {
  app.add_option("--pretrained-model", o.pretrained_model,
                 "Pre-training checkpoint file, or an output folder (its latest checkpoint)");
  app.add_flag("--random-init", o.random_init,
               "Evaluate a randomly initialised encoder (--arch, --width, --small-stem)");
  app.add_option("--arch", o.arch, "Encoder with --random-init: resnet18/34/50/101/152[_d]");
  app.add_option("--width", o.width, "Width multiplier with --random-init");
  app.add_flag("--small-stem", o.small_stem,
               "With --random-init: 3x3 stride-1 stem without max-pool (28-64 px images)");
}

void add_classifier_options(CLI::App& app, LinearOptions& o) {
  app.add_option("--protocol", o.protocol,
                 "features: frozen features extracted once, linear layer trained on them; "
                 "original: augmented crops through the frozen backbone every epoch")
      ->check(CLI::IsMember({"features", "original"}));
  app.add_flag("-e,--eval", o.eval_only,
               "Only evaluate the linear layer in --linear-weights (no training)");
  app.add_option("--linear-weights", o.linear_weights,
                 "Linear layer file written by a run (default: OUTPUT_DIR/linear_fc.pt)");
  app.add_option("--total-batch-size", o.total_batch_size, "Global batch, split over the ranks");
  app.add_option("--learning-rate", o.learning_rate,
                 "Learning rate (used as given, not scaled by the batch size)");
  app.add_option("--momentum", o.momentum, "SGD momentum");
  app.add_option("--weight-decay", o.weight_decay, "L2 weight decay of the linear layer");
  add_lr_schedule_options(app, o);
  app.add_option("--epochs", o.epochs, "Training epochs of the linear layer");
}

void add_run_options(CLI::App& app, LinearOptions& o) {
  app.add_option("--output-dir", o.output_dir, "result.json, metrics.jsonl, linear_fc.pt");
  app.add_option("--print-freq", o.print_freq, "Log every this many batches");
  app.add_option("--seed", o.seed, "Seed: linear init, batch order, augmentation, random init");
  app.add_option("--threads", o.threads, "LibTorch intra-op threads per rank");
}

void validate_encoder_choice(const LinearOptions& o) {
  if (o.random_init == !o.pretrained_model.empty()) {
    kCheck.invalid("--pretrained-model",
                   o.random_init ? "give either --pretrained-model or --random-init, not both"
                                 : "required (a checkpoint file or a pre-training output "
                                   "folder), unless --random-init");
  }
  if (!o.random_init && o.arch_given) {
    kCheck.invalid("--arch",
                   "the architecture comes from the checkpoint's configuration; --arch, "
                   "--width and --small-stem apply only with --random-init");
  }
  if (o.random_init) {
    ResNetConfig encoder;
    encoder.arch = o.arch;
    encoder.width = o.width;
    try {
      validate_resnet_config(encoder);
    } catch (const std::exception& e) {
      kCheck.invalid("--arch", e.what());
    }
  }
}

void validate_ranges(const LinearOptions& o, int world_size) {
  kCheck.fraction("--crop", o.crop);
  if (o.image_size != 0) kCheck.at_least<int64_t>("--image-size", o.image_size, 8);
  if (o.val_resize != 0) kCheck.at_least<int64_t>("--val-resize", o.val_resize, o.image_size);
  kCheck.at_least("--num-workers", o.num_workers, 1);
  if (!(o.width > 0)) kCheck.invalid("--width", "must be positive, got " + std::to_string(o.width));
  kCheck.at_least<int64_t>("--total-batch-size", o.total_batch_size, 1);
  if (o.protocol == "original" && o.total_batch_size % world_size != 0) {
    kCheck.invalid("--total-batch-size", std::to_string(o.total_batch_size) +
                                             " does not split evenly over " +
                                             std::to_string(world_size) +
                                             " ranks (--protocol original needs equal "
                                             "per-rank batches); use a multiple of " +
                                             std::to_string(world_size));
  }
  if (o.total_batch_size < world_size) {
    kCheck.invalid("--total-batch-size",
                   "must be at least the number of ranks (" + std::to_string(world_size) + ")");
  }
  if (!(o.learning_rate > 0)) kCheck.invalid("--learning-rate", "must be positive");
  validate_sgd_options(o.momentum, o.weight_decay, kCheck);
  validate_lr_schedule_options(o, kCheck);
  kCheck.at_least<int64_t>("--epochs", o.epochs, 1);
  // Checked here, before any feature is extracted, rather than by the schedule afterwards.
  if (o.warmup_epoch > static_cast<double>(o.epochs)) {
    kCheck.invalid("--warmup-epoch", std::to_string(o.warmup_epoch) + " is more than --epochs " +
                                         std::to_string(o.epochs) +
                                         " (pass --warmup-epoch 0 for short runs)");
  }
  kCheck.at_least<int64_t>("--print-freq", o.print_freq, 1);
  kCheck.at_least("--threads", o.threads, 1);
}

void require_file(const std::string& option, const std::string& path, const std::string& hint) {
  if (!std::filesystem::is_regular_file(path)) {
    kCheck.invalid(option, "no file at '" + path + "'" + hint);
  }
}

}  // namespace

int parse_linear_options(int argc, const char* const* argv, LinearOptions& options, bool print) {
  CLI::App app{
      "pic-linear: linear evaluation of a pre-trained (or randomly initialised) encoder on MPI "
      "ranks: frozen backbone, linear classifier on the train split, top-1 / top-5 on val.",
      "pic-linear"};
  // A flag given twice keeps its last value, as argparse (the original's parser) does, so
  // that a script can append overrides to a recipe.
  app.option_defaults()->always_capture_default()->multi_option_policy(
      CLI::MultiOptionPolicy::TakeLast);
  app.get_formatter()->column_width(36);
  add_data_options(app, options);
  add_encoder_options(app, options);
  add_classifier_options(app, options);
  add_run_options(app, options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (print) return app.exit(e);
    return e.get_exit_code();
  }
  namespace fs = std::filesystem;
  if (options.train_file.empty()) {
    options.train_file = (fs::path(options.data_dir) / "train.h5").string();
  }
  if (options.val_file.empty()) {
    options.val_file = (fs::path(options.data_dir) / "val.h5").string();
  }
  if (options.linear_weights.empty()) {
    options.linear_weights = (fs::path(options.output_dir) / "linear_fc.pt").string();
  }
  options.arch_given = app.count("--arch") + app.count("--width") + app.count("--small-stem") > 0;
  return -1;
}

void validate_linear_options(const LinearOptions& options, int world_size) {
  validate_encoder_choice(options);
  validate_ranges(options, world_size);
  const std::string prep_hint =
      " (convert images with pic-prep; pass --data-dir DIR holding "
      "train.h5 and val.h5, or --train-file / --val-file)";
  if (!options.eval_only) require_file("--train-file", options.train_file, prep_hint);
  require_file("--val-file", options.val_file, prep_hint);
  if (!options.pretrained_model.empty() && !std::filesystem::exists(options.pretrained_model)) {
    kCheck.invalid("--pretrained-model",
                   "no checkpoint file or folder at '" + options.pretrained_model + "'");
  }
  if (options.eval_only) {
    require_file("--linear-weights", options.linear_weights,
                 " (-e/--eval evaluates a linear layer saved by an earlier pic-linear run)");
  }
}

JsonObject linear_options_json(const LinearOptions& o) {
  JsonObject json;
  json.add("data_dir", o.data_dir)
      .add("train_file", o.train_file)
      .add("val_file", o.val_file)
      .add("aug", o.aug)
      .add("crop", o.crop)
      .add("image_size", o.image_size)
      .add("val_resize", o.val_resize)
      .add("num_workers", o.num_workers)
      .add("pretrained_model", o.pretrained_model)
      .add("random_init", o.random_init);
  if (o.random_init) {
    json.add("arch", o.arch).add("width", o.width).add("small_stem", o.small_stem);
  }
  json.add("protocol", o.protocol)
      .add("eval", o.eval_only)
      .add("linear_weights", o.linear_weights)
      .add("total_batch_size", o.total_batch_size)
      .add("learning_rate", o.learning_rate)
      .add("momentum", o.momentum)
      .add("weight_decay", o.weight_decay);
  add_lr_schedule_json(json, o);
  json.add("epochs", o.epochs)
      .add("output_dir", o.output_dir)
      .add("print_freq", o.print_freq)
      .add("seed", o.seed)
      .add("threads", o.threads);
  return json;
}

}  // namespace pic
