#pragma once
// Test data for the augmentation and loader tests: real photographs from Debian's opencv-doc
// (shrunk so that tests stay fast), encoded again as JPEG (and some as grayscale PNG) into
// an in-memory DatasetShard, as read_dataset_shard would hand it over.
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/dataset_reader.h"

namespace pic::test {

inline const char* kOpenCvDocExamples = "/usr/share/doc/opencv-doc/examples";

// Every *.jpg under opencv-doc's examples, sorted (the benchmark set: 81 photographs).
inline std::vector<std::string> opencv_doc_photos() {
  std::vector<std::string> paths;
  if (!std::filesystem::exists(kOpenCvDocExamples)) {
    throw std::runtime_error(std::string(kOpenCvDocExamples) +
                             " is missing: run scripts/install-deps.sh (package opencv-doc)");
  }
  for (const auto& entry : std::filesystem::recursive_directory_iterator(kOpenCvDocExamples)) {
    if (entry.is_regular_file() && entry.path().extension() == ".jpg") {
      paths.push_back(entry.path().string());
    }
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

// A photograph shrunk so that its longer side is at most max_side.
inline cv::Mat small_photo(const std::string& path, int max_side) {
  cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
  if (image.empty()) throw std::runtime_error("cannot read " + path);
  const double scale = static_cast<double>(max_side) / std::max(image.rows, image.cols);
  if (scale < 1.0) cv::resize(image, image, cv::Size(), scale, scale, cv::INTER_AREA);
  return image;
}

inline void append_image(DatasetShard& shard, const std::vector<uint8_t>& encoded, int label) {
  shard.bytes.insert(shard.bytes.end(), encoded.begin(), encoded.end());
  shard.offsets.push_back(shard.bytes.size());
  shard.labels.push_back(label);
}

// `count` images for global indices [global_begin, global_begin + count): photo i % 81,
// every fifth one as a grayscale PNG, label i % 10. Image `corrupt` (local), if >= 0, is
// garbage bytes instead.
inline DatasetShard make_photo_shard(int64_t count, int64_t global_begin, int max_side = 96,
                                     int64_t corrupt = -1) {
  const auto photos = opencv_doc_photos();
  DatasetShard shard;
  shard.info.num_images = global_begin + count;
  shard.info.num_classes = 10;
  shard.range.begin = global_begin;
  shard.range.end = global_begin + count;
  shard.offsets.push_back(0);
  for (int64_t i = 0; i < count; ++i) {
    const int label = static_cast<int>(i % 10);
    if (i == corrupt) {
      append_image(shard, std::vector<uint8_t>(500, 0x5A), label);
      continue;
    }
    cv::Mat image = small_photo(photos[static_cast<size_t>(i) % photos.size()], max_side);
    std::vector<uint8_t> encoded;
    if (i % 5 == 4) {
      cv::Mat grey;
      cv::cvtColor(image, grey, cv::COLOR_BGR2GRAY);
      cv::imencode(".png", grey, encoded);
    } else {
      cv::imencode(".jpg", image, encoded, {cv::IMWRITE_JPEG_QUALITY, 90});
    }
    append_image(shard, encoded, label);
  }
  return shard;
}

}  // namespace pic::test
