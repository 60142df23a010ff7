// pic-pretrain's options: the original's defaults, aliases, refusals with clear messages,
// and the resolved configuration as JSON.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "train/pretrain_options.h"

namespace {

// Parses a command line given as words (argv[0] added).
pic::PretrainOptions parse(std::vector<std::string> words, int* exit_code = nullptr) {
  words.insert(words.begin(), "pic-pretrain");
  std::vector<const char*> argv;
  for (const auto& word : words) argv.push_back(word.c_str());
  pic::PretrainOptions options;
  const int code =
      pic::parse_pretrain_options(static_cast<int>(argv.size()), argv.data(), options, false);
  if (exit_code) *exit_code = code;
  return options;
}

// A real (empty) file to stand for the dataset in validation.
std::string touch_dataset() {
  const auto dir = std::filesystem::temp_directory_path() / "pic_test_pretrain_options";
  std::filesystem::create_directories(dir);
  const auto path = dir / "train.h5";
  std::ofstream(path) << "x";
  return dir.string();
}

std::string validation_error(const pic::PretrainOptions& options, int world) {
  try {
    pic::validate_pretrain_options(options, world);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("pretrain options keep the original's defaults") {
  int code = 0;
  const auto o = parse({}, &code);
  CHECK(code == -1);
  CHECK(o.data_dir == "./data");
  CHECK(o.train_file == "./data/train.h5");
  CHECK(o.batch_size == 64);
  CHECK(o.window_size == 131072);
  CHECK(o.window_stride == 16384);
  CHECK(o.image_size == 224);
  CHECK(o.image_size2 == 96);
  CHECK(o.crop == Approx(0.2));
  CHECK(o.crop2 == Approx(0.14));
  CHECK(o.num_crop == 1);
  CHECK(o.num_crop2 == 3);
  CHECK(o.arch == "resnet50");
  CHECK(o.contrast_temperature == Approx(0.07));
  CHECK(o.feature_dim == 128);
  CHECK(o.base_lr == Approx(0.03));
  CHECK(o.lr_scheduler == "cosine");
  CHECK(o.warmup_epoch == Approx(5));
  CHECK(o.warmup_multiplier == Approx(100));
  CHECK(o.lr_decay_epochs == std::vector<int64_t>{120, 160, 200});
  CHECK(o.weight_decay == Approx(1e-4));
  CHECK(o.momentum == Approx(0.9));
  CHECK(o.epochs == 100);
  CHECK(o.print_freq == 100);
  CHECK(o.save_freq == 10);
  CHECK(o.threads == 1);
  CHECK(o.seed == 0);
  CHECK(o.model == "PIC");
  CHECK(o.optimizer == "sgd");
  CHECK(o.contrast_momentum == Approx(0.999));
  CHECK(o.contrast_num_negative == 65536);
}

TEST_CASE("pretrain options parse the PIC recipe and the base-lr alias") {
  int code = 0;
  const auto o =
      parse({"--aug", "MultiCrop", "--crop", "0.08", "--image-size", "160", "--mlp-head",
             "--use-sliding-window-sampler", "--shuffle-per-epoch", "--base-lr", "0.06",
             "--lr-decay-epochs", "3", "7", "--data-dir", "/d", "--small-stem", "--width", "0.25"},
            &code);
  CHECK(code == -1);
  CHECK(o.aug == "MultiCrop");
  CHECK(o.crop == Approx(0.08));
  CHECK(o.image_size == 160);
  CHECK(o.mlp_head);
  CHECK(o.use_sliding_window_sampler);
  CHECK(o.shuffle_per_epoch);
  CHECK(o.base_lr == Approx(0.06));
  CHECK(o.lr_decay_epochs == std::vector<int64_t>{3, 7});
  CHECK(o.train_file == "/d/train.h5");
  CHECK(o.small_stem);
  CHECK(o.width == Approx(0.25));
  CHECK(parse({"--base-learning-rate", "0.5"}).base_lr == Approx(0.5));
  // As with argparse, a repeated flag keeps its last value (recipes plus overrides).
  const auto twice = parse({"--aug", "SimCLR", "--crop", "0.2", "--aug", "MoCov2"}, &code);
  CHECK(code == -1);
  CHECK(twice.aug == "MoCov2");
  CHECK(parse({"--lr-decay-epochs", "3", "7", "9"}).lr_decay_epochs ==
        std::vector<int64_t>{3, 7, 9});
}

TEST_CASE("pretrain options: --help exits 0, unknown flags and choices fail") {
  int code = -1;
  parse({"--help"}, &code);
  CHECK(code == 0);
  parse({"--no-such-flag"}, &code);
  CHECK(code > 0);
  parse({"--aug", "Bogus"}, &code);
  CHECK(code > 0);
  parse({"--lr-scheduler", "linear"}, &code);
  CHECK(code > 0);
}

TEST_CASE("pretrain options: validation refuses what this version cannot do") {
  const std::string data_dir = touch_dataset();
  auto o = parse({"--data-dir", data_dir});
  CHECK(validation_error(o, 2).empty());

  auto zip = o;
  zip.zip = true;
  CHECK_THAT(validation_error(zip, 1), Catch::Contains("pic-prep"));
  for (const char* model : {"InstDisc", "MoCo", "SimCLR"}) {
    auto baseline = o;
    baseline.model = model;
    baseline.optimizer = "lars";
    CHECK(validation_error(baseline, 2).empty());
    baseline.aug = "MultiCrop";
    CHECK_THAT(validation_error(baseline, 2), Catch::Contains("MultiCrop is PIC's"));
    baseline.aug = "NULL";
    baseline.num_negative = 128;
    CHECK_THAT(validation_error(baseline, 2), Catch::Contains("--contrast-num-negative"));
  }
  auto moco = o;
  moco.model = "MoCo";
  moco.contrast_num_negative = 1000;  // no multiple of 64 x 2: fine, the queue wraps
  CHECK(validation_error(moco, 2).empty());
  moco.contrast_num_negative = 100;
  CHECK_THAT(validation_error(moco, 2), Catch::Contains("shorter than the global batch 128"));
  moco.contrast_num_negative = int64_t{1} << 40;
  CHECK_THAT(validation_error(moco, 2), Catch::Contains("16 GiB"));
  auto instdisc = o;
  instdisc.model = "InstDisc";
  instdisc.contrast_num_negative = 100000000;
  CHECK_THAT(validation_error(instdisc, 2), Catch::Contains("2^28"));
  auto momentum = o;
  momentum.contrast_momentum = 1.0;
  CHECK_THAT(validation_error(momentum, 1), Catch::Contains("--contrast-momentum"));
  auto arch = o;
  arch.arch = "vgg16";
  CHECK_THAT(validation_error(arch, 1), Catch::Contains("--arch"));
  auto both = o;
  both.auto_resume = true;
  both.resume = data_dir + "/train.h5";
  CHECK_THAT(validation_error(both, 1), Catch::Contains("not both"));
  auto missing_resume = o;
  missing_resume.resume = data_dir + "/no_such.h5";
  CHECK_THAT(validation_error(missing_resume, 1), Catch::Contains("no_such.h5"));
  auto missing = o;
  missing.train_file = data_dir + "/absent.h5";
  CHECK_THAT(validation_error(missing, 1), Catch::Contains("absent.h5"));
  auto crop = o;
  crop.crop = 0;
  CHECK_THAT(validation_error(crop, 1), Catch::Contains("--crop"));
}

TEST_CASE("pretrain options: the window must hold a batch on every rank") {
  const std::string data_dir = touch_dataset();
  auto o = parse({"--data-dir", data_dir, "--use-sliding-window-sampler", "--window-size", "256",
                  "--window-stride", "64", "--batch-size", "64"});
  CHECK(validation_error(o, 4).empty());
  CHECK_THAT(validation_error(o, 5), Catch::Contains("fewer than one batch"));
  o.window_stride = 512;
  CHECK_THAT(validation_error(o, 1), Catch::Contains("--window-stride"));
  o.window_stride = 3;
  CHECK_THAT(validation_error(o, 4), Catch::Contains("0 images per rank"));
}

TEST_CASE("pretrain options: negative sampling flags and the per-rank share") {
  const std::string data_dir = touch_dataset();
  auto o = parse({"--data-dir", data_dir});
  CHECK(o.num_negative == 0);  // the full softmax unless asked
  CHECK(o.negative_sampling == "recent");
  CHECK(o.weight_update_correction == "lazy");
  o = parse({"--data-dir", data_dir, "--num-negative", "256", "--negative-sampling", "uniform",
             "--weight-update-correction", "freeze", "--batch-size", "64"});
  CHECK(o.num_negative == 256);
  CHECK(o.negative_sampling == "uniform");
  CHECK(o.weight_update_correction == "freeze");
  CHECK(validation_error(o, 4).empty());  // 64 per rank: exactly one batch
  CHECK_THAT(validation_error(o, 5),      // ceil(256 / 5) = 52 < 64
             Catch::Contains("--num-negative") && Catch::Contains("52 instances per rank") &&
                 Catch::Contains("use at least 320"));
  // Any K >= 0 is valid arithmetic: no overflow near the top of int64.
  CHECK(pic::negative_rows_per_rank(INT64_MAX, 3) == INT64_MAX / 3 + 1);
  CHECK(pic::negative_rows_per_rank(9, 3) == 3);
  CHECK(pic::negative_rows_per_rank(10, 3) == 4);
  o.num_negative = INT64_MAX;
  CHECK(validation_error(o, 3).empty());
  o.num_negative = -1;
  CHECK_THAT(validation_error(o, 1), Catch::Contains("--num-negative"));
  int code = 0;
  parse({"--negative-sampling", "newest"}, &code);
  CHECK(code != 0);
  parse({"--weight-update-correction", "eager"}, &code);
  CHECK(code != 0);
}

TEST_CASE("pretrain options as JSON and as a table") {
  auto o = parse({"--arch", "resnet18", "--lr-decay-epochs", "1", "2", "--output-dir", "a\"b"});
  const auto json = pic::pretrain_options_json(o);
  const std::string text = json.dump();
  CHECK_THAT(text, Catch::Contains("\"arch\": \"resnet18\""));
  CHECK_THAT(text, Catch::Contains("\"lr_decay_epochs\": [1, 2]"));
  CHECK_THAT(text, Catch::Contains("\"output_dir\": \"a\\\"b\""));
  CHECK_THAT(text, Catch::Contains("\"contrast_temperature\": 0.07"));
  CHECK_THAT(text, Catch::Contains("\"mlp_head\": false"));
  const std::string table = pic::format_options_table(json);
  CHECK_THAT(table, Catch::Contains("  arch "));
  CHECK(std::count(table.begin(), table.end(), '\n') == static_cast<long>(json.fields().size()));
}
