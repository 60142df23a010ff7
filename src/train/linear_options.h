#pragma once
// Command-line options of pic-linear: the original main_linear.py's flags and defaults
// (shared/ORIGINAL.md "Linear evaluation flags") where they still make sense, plus pic's own.
// Declared once with CLI11; `--help` shows every default. Parsing does no I/O, so every rank
// parses the same options; checks that need files or the world size come after.
//
// Differences from the original, on purpose:
//   --pretrained-model accepts a checkpoint file or a pre-training output folder (its latest
//     complete checkpoint is used). The encoder's architecture and the image size come from
//     the checkpoint's stored configuration.
//   --protocol features (default) | original: see docs/linear-eval.md.
//   --random-init evaluates a randomly initialised encoder built from --arch/--width/
//     --small-stem (the baseline the README compares against); --seed seeds it.
//   -e/--eval evaluates a linear layer saved by an earlier run (--linear-weights, default
//     OUTPUT_DIR/linear_fc.pt) instead of training one.
//   The backbone's BatchNorm layers are truly frozen (eval mode); the original left them in
//     training mode, so their running statistics drifted during linear training.
#include <cstdint>
#include <string>
#include <vector>

#include "train/json_object.h"
#include "train/schedule_options.h"

namespace pic {

// The learning-rate schedule fields (lr_scheduler, warmup_epoch, ...) come from
// LrScheduleOptions (schedule_options.h), shared with the other program.
struct LinearOptions : LrScheduleOptions {
  // Data.
  std::string data_dir = "./data";
  std::string train_file;    // "" = DATA_DIR/train.h5
  std::string val_file;      // "" = DATA_DIR/val.h5
  std::string aug = "NULL";  // training augmentation of the original protocol
  double crop = 0.08;
  int64_t val_resize = 0;  // val transform's short side; 0 = image_size + 32
  int64_t image_size = 0;  // 0 = the checkpoint's image_size (random init: 224)
  int num_workers = 4;     // decode + augmentation threads per rank

  // Encoder.
  std::string pretrained_model;  // checkpoint file or pre-training output folder
  bool random_init = false;
  std::string arch = "resnet50";  // only with --random-init
  double width = 1.0;
  bool small_stem = false;

  // Linear classifier and its optimisation.
  std::string protocol = "features";  // features | original
  bool eval_only = false;
  std::string linear_weights;      // "" = OUTPUT_DIR/linear_fc.pt
  int64_t total_batch_size = 256;  // global
  double learning_rate = 30;       // as given, not scaled by the batch size
  double momentum = 0.9;
  double weight_decay = 0;
  int64_t epochs = 100;

  // Run.
  std::string output_dir = "./output";
  int64_t print_freq = 100;  // batches
  uint64_t seed = 0;
  int threads = 1;  // LibTorch intra-op threads per rank

  // Which flags the user gave (so that options that the checkpoint also sets can be checked).
  bool arch_given = false;
};

// Parses argv. Returns -1 to go on, else the exit code (0 after --help); help and errors are
// printed only when `print` is true (rank 0).
int parse_linear_options(int argc, const char* const* argv, LinearOptions& options, bool print);

// Option ranges and combinations, file existence, batch size against the world size. Throws
// std::invalid_argument naming the option, the value and what is expected.
void validate_linear_options(const LinearOptions& options, int world_size);

// Every resolved option, keys named like the flags (snake_case).
JsonObject linear_options_json(const LinearOptions& options);

}  // namespace pic
