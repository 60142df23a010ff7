#pragma once
// Command-line options of pic-pretrain: the original main_pretrain.py's flags and defaults
// (shared/ORIGINAL.md) where they still make sense, plus pic's own. Declared once, with
// CLI11; `--help` shows every default. Parsing is identical on every rank (no I/O), so all
// ranks agree on the options without communicating; validation that needs the file system
// or the world size comes after parsing and before the first step.
//
// Differences from the original, on purpose:
//   --zip / folder input: pic-pretrain reads the HDF5 file written by pic-prep (which
//     converts folders, zips and IDX files once); --zip is refused with that advice.
//   --model InstDisc: the memory bank is sharded by rank like PIC's classifier, not
//     replicated (docs/baselines.md).
//   --amp-opt-level, --cache-mode: not offered (CPU float32; every rank keeps its whole
//     shard in memory).
//   --num-negative, --negative-sampling, --weight-update-correction: PIC's negative
//     sampling with weight update correction, which the paper describes and the original
//     never shipped (docs/pic-head.md).
//   --max-steps: the run stops once this many optimizer steps are done in total (counted
//     from step 0, resumes included); the learning-rate schedule still spans --epochs.
#include <cstdint>
#include <string>
#include <vector>

#include "train/json_object.h"
#include "train/schedule_options.h"

namespace pic {

// The learning-rate schedule fields (lr_scheduler, warmup_epoch, ...) come from
// LrScheduleOptions (schedule_options.h), shared with the other program.
struct PretrainOptions : LrScheduleOptions {
  // Data.
  std::string data_dir = "./data";
  std::string train_file;  // "" = DATA_DIR/train.h5; resolved by parse_pretrain_options
  bool zip = false;
  std::string aug = "NULL";  // NULL, InstDisc, MoCov2, SimCLR, MultiCrop
  double crop = 0.2;         // lower bound of the random-resized-crop area scale
  double crop2 = 0.14;       // MultiCrop: large crops in [crop2, 1], small in [crop, crop2]
  int64_t image_size = 224;
  int64_t image_size2 = 96;
  int64_t num_crop = 1;
  int64_t num_crop2 = 3;
  int num_workers = 4;      // decode + augmentation threads per rank
  int64_t prefetch = 4;     // batches decoded ahead per rank
  int64_t batch_size = 64;  // per rank
  bool use_sliding_window_sampler = false;
  int64_t window_size = 131072;   // global; per rank floor(window_size / world)
  int64_t window_stride = 16384;  // global; per rank floor(window_stride / world)
  bool shuffle_per_epoch = false;

  // Model.
  std::string model = "PIC";
  std::string arch = "resnet50";
  double width = 1.0;
  bool small_stem = false;
  bool mlp_head = false;
  int64_t feature_dim = 128;
  double contrast_temperature = 0.07;  // the original's default; its PIC recipe uses 0.2
  double contrast_momentum = 0.999;    // MoCo key-encoder EMA; InstDisc memory-bank update
  int64_t contrast_num_negative = 65536;  // MoCo queue length; InstDisc negatives per sample
  // PIC's softmax over instances (pic's own; docs/pic-head.md). 0: all N instances.
  int64_t num_negative = 0;              // K, over all ranks: ceil(K / world) rows per rank
  std::string negative_sampling = "recent";       // recent | uniform
  std::string weight_update_correction = "lazy";  // lazy | freeze

  // Optimisation.
  std::string optimizer = "sgd";
  double base_lr = 0.03;  // at a global batch of 256
  double weight_decay = 1e-4;
  double momentum = 0.9;
  int64_t epochs = 100;
  int64_t start_epoch = 1;  // 1-based, as in the original; a resume overrides it

  // Run.
  std::string output_dir = "./output";
  bool auto_resume = false;
  std::string resume;            // checkpoint file; "" = none
  int64_t print_freq = 100;      // steps
  int64_t save_freq = 10;        // epochs
  int64_t save_every_steps = 0;  // 0 = use save_freq
  int64_t keep_last = 0;         // checkpoints kept after each save; 0 = all
  int64_t max_steps = 0;         // 0 = run the whole schedule
  uint64_t seed = 0;
  int threads = 1;  // LibTorch intra-op threads per rank
  double grad_bucket_mb = 25;          // gradient all-reduce bucket size (core/gradient_buckets.h)
  std::string grad_sync = "overlap";  // overlap | after-backward
  int64_t nonfinite_skip_limit = 5;    // bad steps in a row before reloading (nonfinite_steps.h)
  double nonfinite_lr_factor = 0.5;    // learning-rate factor at each such reload
};

// Parses argv into `options`. Returns -1 to go on, or the exit code to leave with after
// --help (0) or a parse error (non-zero); the help text and the error are printed only when
// `print` is true (rank 0), so that every rank takes the same branch silently.
int parse_pretrain_options(int argc, const char* const* argv, PretrainOptions& options, bool print);

// Checks everything that needs neither data nor other ranks: option ranges and
// combinations, the training file's existence, window and batch against the world size.
// Throws std::invalid_argument naming the option, the value and what is expected.
void validate_pretrain_options(const PretrainOptions& options, int world_size);

// Every resolved option, in --help order, keys named like the flags (snake_case).
JsonObject pretrain_options_json(const PretrainOptions& options);

// Each rank's share of --num-negative: ceil(K / world_size) (no overflow for any K >= 0).
int64_t negative_rows_per_rank(int64_t num_negative, int world_size);

// "key  value" lines for the log, one option per line.
std::string format_options_table(const JsonObject& options);

}  // namespace pic
