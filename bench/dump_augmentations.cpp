// pic-dump-augmentations: a PNG grid of augmented samples, so that a person can look at what
// a preset does. Row i: image i of the dataset file (first column: the image as stored,
// resized to the cell), then `--views` augmented views. For MultiCrop a view is one crop of
// the preset's crop list (large crops first, then small ones), cycling through the list;
// for the other presets every view is an independent draw of the single crop. Each view's
// randomness is the trainer's own: augment_key(seed, rank 0, step = view, sample = image).
#include <CLI/CLI.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "comm/mpi_communicator.h"
#include "data/augment.h"
#include "data/crop_source.h"
#include "data/dataset_reader.h"
#include "data/image_decoder.h"

namespace {

// pic-pretrain's defaults: one large and three small crops for MultiCrop.
pic::AugmentConfig multi_crop_defaults() {
  pic::AugmentConfig aug;
  aug.num_crop = 1;
  aug.num_crop2 = 3;
  return aug;
}

constexpr int64_t kGap = 4;  // white pixels between grid cells

struct Options {
  std::string train_file;
  std::string output = "augmentations.png";
  pic::AugmentConfig aug = multi_crop_defaults();
  int64_t images = 8;
  int64_t views = 6;
  int64_t cell = 0;  // 0: the large crop size, at least 96
  uint64_t seed = 0;
};

// Planar normalised RGB [3, S, S] -> 8-bit BGR image.
cv::Mat to_bgr(const std::vector<float>& planar, int64_t size) {
  cv::Mat bgr(static_cast<int>(size), static_cast<int>(size), CV_8UC3);
  const int64_t plane = size * size;
  for (int64_t y = 0; y < size; ++y) {
    auto* row = bgr.ptr<cv::Vec3b>(static_cast<int>(y));
    for (int64_t x = 0; x < size; ++x) {
      for (int c = 0; c < 3; ++c) {
        const float value =
            planar[c * plane + y * size + x] * pic::kImageNetStd[c] + pic::kImageNetMean[c];
        row[x][2 - c] = cv::saturate_cast<uchar>(value * 255.0f + 0.5f);
      }
    }
  }
  return bgr;
}

void place(cv::Mat& grid, const cv::Mat& image, int64_t row, int64_t column, int64_t cell) {
  cv::Mat resized;
  // Nearest neighbour: a 16 px crop shown at 96 px stays visibly a 16 px crop.
  cv::resize(image, resized, cv::Size(static_cast<int>(cell), static_cast<int>(cell)), 0, 0,
             cv::INTER_NEAREST);
  const int64_t gap = kGap;
  resized.copyTo(
      grid(cv::Rect(static_cast<int>(column * (cell + gap)), static_cast<int>(row * (cell + gap)),
                    static_cast<int>(cell), static_cast<int>(cell))));
}

int run(const Options& o, pic::Communicator& comm) {
  if (comm.world_size() != 1) throw std::invalid_argument("run pic-dump-augmentations on 1 rank");
  const pic::Augmenter augmenter(o.aug);
  const pic::DatasetShard shard =
      pic::read_dataset_shard(o.train_file, pic::mpi_comm_of(comm, "pic-dump-augmentations"));
  const int64_t images = std::min<int64_t>(o.images, shard.size());
  const int64_t cell = o.cell > 0 ? o.cell : std::max<int64_t>(96, augmenter.crops()[0].size);
  const int64_t gap = kGap;
  cv::Mat grid(static_cast<int>(images * (cell + gap) - gap),
               static_cast<int>((o.views + 1) * (cell + gap) - gap), CV_8UC3,
               cv::Scalar(255, 255, 255));
  // The trainer's decoder and path (crop_source.h: a JPEG's crop region, maybe at a reduced
  // DCT scale), so that the grid shows what training sees.
  const auto decoder = pic::make_fast_decoder();
  for (int64_t i = 0; i < images; ++i) {
    const uint8_t* data = shard.image_data(i);
    const size_t bytes = shard.image_size(i);
    place(grid, decoder->decode(data, bytes), i, 0, cell);
    for (int64_t v = 0; v < o.views; ++v) {
      const auto crop = static_cast<int64_t>(v % static_cast<int64_t>(augmenter.crops().size()));
      const int64_t size = augmenter.crops()[static_cast<size_t>(crop)].size;
      // Keys of every crop of view v's sample; this view shows crop `crop` of them.
      std::vector<uint64_t> keys;
      for (size_t c = 0; c < augmenter.crops().size(); ++c) {
        keys.push_back(pic::augment_key(o.seed, 0, v, i, static_cast<int64_t>(c)));
      }
      const pic::CropSource source = pic::decode_for_crops(data, bytes, augmenter, keys, *decoder);
      std::vector<float> planar(static_cast<size_t>(3 * size * size));
      if (source.params.empty()) {  // val: the whole image, nothing random
        augmenter.augment_crop(source.bgr, keys[static_cast<size_t>(crop)], crop, planar.data());
      } else {
        augmenter.render(source.bgr, source.params[static_cast<size_t>(crop)], crop, planar.data());
      }
      place(grid, to_bgr(planar, size), i, v + 1, cell);
    }
  }
  if (!cv::imwrite(o.output, grid)) throw std::runtime_error("cannot write " + o.output);
  std::printf("wrote %s: %d x %d pixels, %lld images x (original + %lld views), preset %s\n",
              o.output.c_str(), grid.cols, grid.rows, static_cast<long long>(images),
              static_cast<long long>(o.views), o.aug.preset.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"pic-dump-augmentations: a PNG grid of augmented samples of a dataset file",
               "pic-dump-augmentations"};
  app.option_defaults()->always_capture_default();
  app.add_option("--train-file", o.train_file, "Dataset file written by pic-prep")->required();
  app.add_option("--output", o.output, "PNG to write");
  app.add_option("--aug", o.aug.preset, "Augmentation preset")
      ->check(CLI::IsMember({"NULL", "InstDisc", "MoCov2", "SimCLR", "MultiCrop", "val"}));
  app.add_option("--image-size", o.aug.image_size, "Side of the (large) crops");
  app.add_option("--image-size2", o.aug.image_size2, "MultiCrop: side of the small crops");
  app.add_option("--crop", o.aug.crop, "Lower bound of the crop area scale");
  app.add_option("--crop2", o.aug.crop2, "MultiCrop: boundary between small and large crops");
  app.add_option("--num-crop", o.aug.num_crop, "MultiCrop: large crops per image");
  app.add_option("--num-crop2", o.aug.num_crop2, "MultiCrop: small crops per image");
  app.add_option("--val-resize", o.aug.val_resize, "val: short side before the centre crop");
  app.add_option("--images", o.images, "Rows: the first images of the file")
      ->check(CLI::Range(1, 64));
  app.add_option("--views", o.views, "Augmented views per image")->check(CLI::Range(1, 32));
  app.add_option("--cell", o.cell, "Side of a grid cell in pixels (0: max(96, image size))");
  app.add_option("--seed", o.seed, "Seed of the views (the trainer's keys)");
  CLI11_PARSE(app, argc, argv);
  if (o.aug.preset != "MultiCrop") {  // as pic-pretrain: one crop of scale [crop, 1]
    o.aug.num_crop = 1;
    o.aug.num_crop2 = 0;
  }
  return pic::run_mpi_main(argc, argv, [&o](pic::Communicator& comm) { return run(o, comm); });
}
