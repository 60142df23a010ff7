#include "data/color_ops.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace pic {
namespace {

float clamp01(float x) { return std::min(1.0f, std::max(0.0f, x)); }

void require_float_rgb(const cv::Mat& rgb) {
  if (rgb.type() != CV_32FC3 || !rgb.isContinuous()) {
    throw std::invalid_argument("colour operations need a continuous CV_32FC3 image");
  }
}

// Calls fn(float* pixel) for every RGB pixel.
template <typename Fn>
void for_each_pixel(cv::Mat& rgb, Fn fn) {
  require_float_rgb(rgb);
  float* p = rgb.ptr<float>();
  const size_t pixels = rgb.total();
  for (size_t i = 0; i < pixels; ++i, p += 3) fn(p);
}

}  // namespace

void adjust_brightness(cv::Mat& rgb, double factor) {
  const float f = static_cast<float>(factor);
  for_each_pixel(rgb, [f](float* p) {
    for (int c = 0; c < 3; ++c) p[c] = clamp01(p[c] * f);
  });
}

void adjust_contrast(cv::Mat& rgb, double factor) {
  // Reference: the mean luma of the whole image, as one grey level.
  double sum = 0.0;
  for_each_pixel(rgb, [&sum](float* p) { sum += luma(p[0], p[1], p[2]); });
  const float mean = static_cast<float>(sum / std::max<size_t>(1, rgb.total()));
  const float f = static_cast<float>(factor), offset = (1.0f - f) * mean;
  for_each_pixel(rgb, [f, offset](float* p) {
    for (int c = 0; c < 3; ++c) p[c] = clamp01(f * p[c] + offset);
  });
}

void adjust_saturation(cv::Mat& rgb, double factor) {
  const float f = static_cast<float>(factor);
  for_each_pixel(rgb, [f](float* p) {
    const float grey = (1.0f - f) * luma(p[0], p[1], p[2]);
    for (int c = 0; c < 3; ++c) p[c] = clamp01(f * p[c] + grey);
  });
}

void adjust_hue(cv::Mat& rgb, double shift) {
  const float turn = static_cast<float>(shift - std::floor(shift));  // in [0, 1)
  if (turn == 0.0f) return;
  for_each_pixel(rgb, [turn](float* p) {
    // RGB -> HSV (h in turns).
    const float r = p[0], g = p[1], b = p[2];
    const float v = std::max(r, std::max(g, b));
    const float delta = v - std::min(r, std::min(g, b));
    if (delta <= 0.0f) return;  // grey: hue undefined, unchanged
    const float s = delta / v;
    float h;
    if (v == r) {
      h = (g - b) / delta;
    } else if (v == g) {
      h = 2.0f + (b - r) / delta;
    } else {
      h = 4.0f + (r - g) / delta;
    }
    h = h / 6.0f + turn;
    h -= std::floor(h);

    // HSV -> RGB.
    const float sector = h * 6.0f;
    const int i = std::min(5, static_cast<int>(sector));
    const float frac = sector - static_cast<float>(i);
    const float lo = v * (1.0f - s), falling = v * (1.0f - s * frac),
                rising = v * (1.0f - s * (1.0f - frac));
    switch (i) {
      case 0:
        p[0] = v, p[1] = rising, p[2] = lo;
        break;
      case 1:
        p[0] = falling, p[1] = v, p[2] = lo;
        break;
      case 2:
        p[0] = lo, p[1] = v, p[2] = rising;
        break;
      case 3:
        p[0] = lo, p[1] = falling, p[2] = v;
        break;
      case 4:
        p[0] = rising, p[1] = lo, p[2] = v;
        break;
      default:
        p[0] = v, p[1] = lo, p[2] = falling;
        break;
    }
  });
}

void apply_jitter(cv::Mat& rgb, const JitterParams& params) {
  for (JitterOp op : params.order) {
    switch (op) {
      case JitterOp::kBrightness:
        adjust_brightness(rgb, params.brightness);
        break;
      case JitterOp::kContrast:
        adjust_contrast(rgb, params.contrast);
        break;
      case JitterOp::kSaturation:
        adjust_saturation(rgb, params.saturation);
        break;
      case JitterOp::kHue:
        adjust_hue(rgb, params.hue);
        break;
    }
  }
}

void to_grayscale(cv::Mat& rgb) {
  for_each_pixel(rgb, [](float* p) { p[0] = p[1] = p[2] = luma(p[0], p[1], p[2]); });
}

void gaussian_blur(cv::Mat& rgb, double sigma) {
  require_float_rgb(rgb);
  // The kernel may not be wider than a mirrored border can fill.
  const int radius =
      std::min(static_cast<int>(std::ceil(3.0 * sigma)), std::min(rgb.rows, rgb.cols) - 1);
  if (radius < 1) return;
  const int side = 2 * radius + 1;
  cv::GaussianBlur(rgb, rgb, cv::Size(side, side), sigma, sigma, cv::BORDER_REFLECT_101);
}

}  // namespace pic
