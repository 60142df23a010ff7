// Pixel work of a crop: resize, colour steps, flip and normalisation into planar float.
#include <opencv2/imgproc.hpp>

#include <array>
#include <cmath>
#include <stdexcept>
#include <string>

#include "data/augment.h"
#include "data/color_ops.h"

namespace pic {
namespace {

void require_bgr8(const cv::Mat& bgr) {
  if (bgr.type() != CV_8UC3 || bgr.empty()) {
    throw std::invalid_argument("augmentation needs a decoded 8-bit 3-channel image, got type " +
                                std::to_string(bgr.type()) + " of " + std::to_string(bgr.cols) +
                                "x" + std::to_string(bgr.rows));
  }
}

// (v / 255 - mean[c]) / std[c] for every byte value, per RGB channel.
struct NormaliseTable {
  std::array<std::array<float, 256>, 3> value;
  NormaliseTable() {
    for (int c = 0; c < 3; ++c) {
      for (int v = 0; v < 256; ++v) {
        value[c][v] = (static_cast<float>(v) / 255.0f - kImageNetMean[c]) / kImageNetStd[c];
      }
    }
  }
};
const NormaliseTable& normalise_table() {
  static const NormaliseTable table;
  return table;
}

// 8-bit BGR [S, S, 3] -> normalised RGB planes out [3, S, S], mirrored if `flip`.
void write_planar_u8(const cv::Mat& bgr, bool flip, float* out) {
  const auto& table = normalise_table().value;
  const int rows = bgr.rows, cols = bgr.cols;
  const size_t plane = static_cast<size_t>(rows) * cols;
  for (int y = 0; y < rows; ++y) {
    const uint8_t* src = bgr.ptr<uint8_t>(y);
    float* r = out + static_cast<size_t>(y) * cols;
    float* g = r + plane;
    float* b = g + plane;
    for (int x = 0; x < cols; ++x) {
      const int dst = flip ? cols - 1 - x : x;
      const uint8_t* p = src + 3 * x;
      b[dst] = table[2][p[0]];
      g[dst] = table[1][p[1]];
      r[dst] = table[0][p[2]];
    }
  }
}

// Float RGB in [0, 1] [S, S, 3] -> normalised planes out [3, S, S], mirrored if `flip`.
void write_planar_float(const cv::Mat& rgb, bool flip, float* out) {
  const int rows = rgb.rows, cols = rgb.cols;
  const size_t plane = static_cast<size_t>(rows) * cols;
  std::array<float, 3> scale, offset;
  for (int c = 0; c < 3; ++c) {
    scale[c] = 1.0f / kImageNetStd[c];
    offset[c] = -kImageNetMean[c] / kImageNetStd[c];
  }
  for (int y = 0; y < rows; ++y) {
    const float* src = rgb.ptr<float>(y);
    float* planes[3] = {out + static_cast<size_t>(y) * cols, nullptr, nullptr};
    planes[1] = planes[0] + plane;
    planes[2] = planes[1] + plane;
    for (int x = 0; x < cols; ++x) {
      const int dst = flip ? cols - 1 - x : x;
      for (int c = 0; c < 3; ++c) planes[c][dst] = src[3 * x + c] * scale[c] + offset[c];
    }
  }
}

// 8-bit BGR -> float RGB in [0, 1], same layout.
void to_rgb_float(const cv::Mat& bgr, cv::Mat& rgb) {
  rgb.create(bgr.rows, bgr.cols, CV_32FC3);
  constexpr float kInv255 = 1.0f / 255.0f;
  for (int y = 0; y < bgr.rows; ++y) {
    const uint8_t* src = bgr.ptr<uint8_t>(y);
    float* dst = rgb.ptr<float>(y);
    for (int x = 0; x < bgr.cols; ++x) {
      dst[3 * x + 0] = src[3 * x + 2] * kInv255;
      dst[3 * x + 1] = src[3 * x + 1] * kInv255;
      dst[3 * x + 2] = src[3 * x + 0] * kInv255;
    }
  }
}

}  // namespace

void render_crop(const cv::Mat& bgr, const CropParams& params, int64_t size, float* out) {
  require_bgr8(bgr);
  const CropRect& r = params.rect;
  if (r.x < 0 || r.y < 0 || r.width < 1 || r.height < 1 || r.x + r.width > bgr.cols ||
      r.y + r.height > bgr.rows) {
    throw std::invalid_argument("crop rectangle outside the image");
  }
  const int side = static_cast<int>(size);
  // Scratch per thread: the loader's workers reuse their buffers from crop to crop.
  thread_local cv::Mat resized, rgb;
  cv::resize(bgr(cv::Rect(r.x, r.y, r.width, r.height)), resized, cv::Size(side, side), 0, 0,
             cv::INTER_LINEAR);

  if (!params.jitter && !params.grayscale && !params.blur) {
    write_planar_u8(resized, params.flip, out);
    return;
  }
  to_rgb_float(resized, rgb);
  if (params.jitter) apply_jitter(rgb, params.jitter_params);
  if (params.grayscale) to_grayscale(rgb);
  if (params.blur) gaussian_blur(rgb, params.blur_sigma);
  write_planar_float(rgb, params.flip, out);
}

void render_val(const cv::Mat& bgr, int64_t size, float* out, int64_t resize) {
  require_bgr8(bgr);
  // Short side to size + 32 (long side truncated, as torchvision's Resize), centre crop.
  const int short_target = static_cast<int>(resize > 0 ? resize : size + 32);
  int width, height;
  if (bgr.cols <= bgr.rows) {
    width = short_target;
    height = static_cast<int>(static_cast<int64_t>(short_target) * bgr.rows / bgr.cols);
  } else {
    height = short_target;
    width = static_cast<int>(static_cast<int64_t>(short_target) * bgr.cols / bgr.rows);
  }
  thread_local cv::Mat resized;
  cv::resize(bgr, resized, cv::Size(width, height), 0, 0, cv::INTER_LINEAR);
  const int side = static_cast<int>(size);
  const int top = static_cast<int>(std::lround((height - side) / 2.0));
  const int left = static_cast<int>(std::lround((width - side) / 2.0));
  write_planar_u8(resized(cv::Rect(left, top, side, side)), false, out);
}

}  // namespace pic
