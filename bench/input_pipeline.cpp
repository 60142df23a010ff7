// Input-pipeline throughput on one core: images/s of a bare full JPEG decode, and of decode
// plus augmentation (SimCLR at 224 px, NULL = crop + flip, and PIC's MultiCrop 160 + 3 x 96),
// each with a full decode ("decode_") and with the loader's region decode ("region_": only
// the crops' region at a reduced DCT scale, src/data/crop_source.h), over the 81 photographs of
// Debian's opencv-doc (DESIGN.md "Performance yardsticks"). Bytes are read into memory
// first, as a rank holds its shard. bench/run_input_bench.sh compares it with the original's
// PIL + torchvision pipeline (bench/pil_pipeline.py).
//
// Usage: pic-bench-input [--seconds S] [--dir DIR | --train-file FILE.h5]
#include <opencv2/core.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/augment.h"
#include "data/crop_source.h"
#include "data/dataset_reader.h"
#include "data/image_decoder.h"
#include "data/jpeg_region.h"

namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::vector<uint8_t>> read_jpegs(const std::string& dir) {
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".jpg") {
      paths.push_back(entry.path().string());
    }
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::vector<uint8_t>> files;
  for (const auto& path : paths) {
    std::ifstream in(path, std::ios::binary);
    files.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (files.empty()) throw std::runtime_error("no *.jpg under " + dir + " (install opencv-doc)");
  return files;
}

// Every image of a pic-prep dataset file (e.g. one written with --max-side), as stored.
std::vector<std::vector<uint8_t>> read_dataset_images(const std::string& path) {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) MPI_Init(nullptr, nullptr);
  const pic::DatasetShard shard = pic::read_dataset_shard(path, MPI_COMM_SELF);
  std::vector<std::vector<uint8_t>> files;
  for (int64_t i = 0; i < shard.size(); ++i) {
    files.emplace_back(shard.image_data(i), shard.image_data(i) + shard.image_size(i));
  }
  return files;
}

// Runs `one_pass` (all images once) after a warm-up pass until `seconds` have passed;
// returns images per second.
double images_per_second(size_t images, double seconds, const std::function<void(int)>& one_pass) {
  one_pass(-1);
  int passes = 0;
  const auto start = Clock::now();
  double elapsed = 0.0;
  do {
    one_pass(passes++);
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < seconds);
  return static_cast<double>(images) * passes / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 5.0;
  std::string dir = "/usr/share/doc/opencv-doc/examples";
  std::string dataset;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0) {
      seconds = std::stod(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--dir") == 0) {
      dir = argv[i + 1];
    } else if (std::strcmp(argv[i], "--train-file") == 0) {
      dataset = argv[i + 1];
    } else {
      std::fprintf(stderr, "usage: %s [--seconds S] [--dir DIR | --train-file FILE.h5]\n", argv[0]);
      return 2;
    }
  }
  // One core: OpenCV's own thread pool off (the loader's workers are the parallelism).
  cv::setNumThreads(1);

  const auto files = dataset.empty() ? read_jpegs(dir) : read_dataset_images(dataset);
  const auto decoder = pic::make_opencv_decoder();
  std::printf("# pic input pipeline, 1 thread, %zu images from %s\n", files.size(),
              dataset.empty() ? dir.c_str() : dataset.c_str());

  const double decode = images_per_second(files.size(), seconds, [&](int) {
    for (const auto& f : files) decoder->decode(f.data(), f.size());
  });
  std::printf("decode_full_images_per_s %.1f\n", decode);
  // The same full decode straight through libjpeg-turbo, BGR out (jpeg_region.h at scale 1).
  const double turbo = images_per_second(files.size(), seconds, [&](int) {
    for (const auto& f : files) {
      const auto info = pic::read_jpeg_info(f.data(), f.size());
      if (info) pic::decode_jpeg_region(f.data(), f.size(), 0, 0, info->width, info->height, 1);
    }
  });
  std::printf("decode_full_libjpeg_images_per_s %.1f\n", turbo);

  // Each preset twice: the full decode then the crop (as above), and the region path of the
  // loader (crop_source.h: only the crops' region, at a reduced DCT scale when they allow).
  for (const std::string preset : {"SimCLR", "NULL", "MultiCrop"}) {
    pic::AugmentConfig config;
    config.preset = preset;
    config.image_size = 224;
    if (preset == "MultiCrop") {  // the PIC recipe's crops: 1 x 160 px + 3 x 96 px
      config.image_size = 160;
      config.image_size2 = 96;
      config.crop = 0.08;
      config.crop2 = 0.14;
      config.num_crop = 1;
      config.num_crop2 = 3;
    }
    const pic::Augmenter augmenter(config);
    const size_t crops = augmenter.crops().size();
    std::vector<std::vector<float>> out;
    for (const auto& spec : augmenter.crops()) out.emplace_back(3 * spec.size * spec.size);
    const auto keys_of = [&](int pass, size_t image) {
      std::vector<uint64_t> keys;
      for (size_t c = 0; c < crops; ++c) {
        keys.push_back(pic::augment_key(0, 0, static_cast<int64_t>(pass) + 1,
                                        static_cast<int64_t>(image), static_cast<int64_t>(c)));
      }
      return keys;
    };
    const std::string name = preset + "_" + std::to_string(config.image_size);
    for (const bool regions : {false, true}) {
      const double rate = images_per_second(files.size(), seconds, [&](int pass) {
        for (size_t i = 0; i < files.size(); ++i) {
          const pic::CropSource source = pic::decode_for_crops(
              files[i].data(), files[i].size(), augmenter, keys_of(pass, i), *decoder, regions);
          for (size_t c = 0; c < crops; ++c) {
            augmenter.render(source.bgr, source.params[c], static_cast<int64_t>(c), out[c].data());
          }
        }
      });
      std::printf("%s_%s_images_per_s %.1f\n", regions ? "region" : "decode", name.c_str(), rate);
    }
  }
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (initialised) MPI_Finalize();
  return 0;
}
