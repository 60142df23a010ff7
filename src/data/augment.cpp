// Presets, crop structure and the random draws of the augmentation.
#include "data/augment.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

namespace pic {

PresetSteps preset_steps(const std::string& preset) {
  PresetSteps steps;
  if (preset == "NULL") return steps;  // crop + flip
  if (preset == "val") {
    steps.val = true;
    steps.random_crop = false;
    return steps;
  }
  if (preset == "InstDisc") {
    steps.jitter_p = 1.0;
    steps.jitter = {0.4, 0.4, 0.4, 0.4};
    steps.grayscale_p = 0.2;
    return steps;
  }
  if (preset == "MoCov2") {
    steps.jitter_p = 0.8;
    steps.jitter = {0.4, 0.4, 0.4, 0.1};
    steps.grayscale_p = 0.2;
    steps.blur_p = 0.5;
    return steps;
  }
  if (preset == "SimCLR" || preset == "MultiCrop") {
    steps.jitter_p = 0.8;
    steps.jitter = {0.8, 0.8, 0.8, 0.2};
    steps.grayscale_p = 0.2;
    steps.blur_p = 0.5;
    return steps;
  }
  throw std::invalid_argument("--aug: unknown augmentation preset '" + preset +
                              "' (expected NULL, InstDisc, MoCov2, SimCLR, MultiCrop or val)");
}

std::vector<CropSpec> crop_specs(const AugmentConfig& config) {
  const PresetSteps steps = preset_steps(config.preset);
  if (config.image_size < 1 || (config.num_crop2 > 0 && config.image_size2 < 1)) {
    throw std::invalid_argument("--image-size / --image-size2 must be >= 1");
  }
  if (config.num_crop < 1 || config.num_crop2 < 0) {
    throw std::invalid_argument("--num-crop must be >= 1 and --num-crop2 >= 0");
  }
  if (steps.val) {
    if (config.num_crop != 1 || config.num_crop2 != 0) {
      throw std::invalid_argument("the val transform makes one centre crop per image; got " +
                                  std::to_string(config.num_crop) + " large and " +
                                  std::to_string(config.num_crop2) + " small crops");
    }
    return {CropSpec{config.image_size, 1.0, 1.0}};
  }
  if (!(config.crop > 0.0 && config.crop <= 1.0)) {
    throw std::invalid_argument("--crop must be in (0, 1], got " + std::to_string(config.crop));
  }
  if (config.num_crop2 > 0 && !(config.crop2 >= config.crop && config.crop2 <= 1.0)) {
    throw std::invalid_argument("--crop2 must be in [--crop, 1], got " +
                                std::to_string(config.crop2));
  }

  std::vector<CropSpec> specs;
  const double large_min = config.num_crop2 > 0 ? config.crop2 : config.crop;
  for (int64_t i = 0; i < config.num_crop; ++i) {
    specs.push_back({config.image_size, large_min, 1.0});
  }
  for (int64_t i = 0; i < config.num_crop2; ++i) {
    specs.push_back({config.image_size2, config.crop, config.crop2});
  }
  return specs;
}

CropRect random_resized_crop_rect(int height, int width, double scale_min, double scale_max,
                                  CounterRng& rng) {
  const double area = static_cast<double>(height) * width;
  const double log_ratio_min = std::log(3.0 / 4.0), log_ratio_max = std::log(4.0 / 3.0);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * rng.uniform(scale_min, scale_max);
    const double ratio = std::exp(rng.uniform(log_ratio_min, log_ratio_max));
    const int w = static_cast<int>(std::lround(std::sqrt(target_area * ratio)));
    const int h = static_cast<int>(std::lround(std::sqrt(target_area / ratio)));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      CropRect rect;
      rect.y = static_cast<int>(rng.below(static_cast<uint64_t>(height - h + 1)));
      rect.x = static_cast<int>(rng.below(static_cast<uint64_t>(width - w + 1)));
      rect.width = w;
      rect.height = h;
      return rect;
    }
  }

  // Fallback: the whole image, cut to the nearest allowed aspect ratio, centred.
  const double in_ratio = static_cast<double>(width) / height;
  int w = width, h = height;
  if (in_ratio < 3.0 / 4.0) {
    h = std::max(1, std::min(height, static_cast<int>(std::lround(w / (3.0 / 4.0)))));
  } else if (in_ratio > 4.0 / 3.0) {
    w = std::max(1, std::min(width, static_cast<int>(std::lround(h * (4.0 / 3.0)))));
  }
  CropRect rect;
  rect.x = (width - w) / 2;
  rect.y = (height - h) / 2;
  rect.width = w;
  rect.height = h;
  return rect;
}

JitterParams draw_jitter(const JitterStrength& strength, CounterRng& rng) {
  JitterParams params;
  // A random order of the four operations (Fisher-Yates on the fixed list).
  for (int i = 3; i > 0; --i) {
    std::swap(params.order[i], params.order[rng.below(static_cast<uint64_t>(i + 1))]);
  }
  auto factor = [&rng](double x) { return rng.uniform(std::max(0.0, 1.0 - x), 1.0 + x); };
  params.brightness = factor(strength.brightness);
  params.contrast = factor(strength.contrast);
  params.saturation = factor(strength.saturation);
  params.hue = rng.uniform(-strength.hue, strength.hue);
  return params;
}

CropParams draw_crop_params(const PresetSteps& steps, const CropSpec& spec, int image_height,
                            int image_width, uint64_t key) {
  CropParams params;
  if (!steps.random_crop) {
    params.rect = {0, 0, image_width, image_height};
    return params;
  }
  // Every draw is made whether or not its step applies, in the preset's step order, so the
  // stream layout is the same for every crop.
  CounterRng rng(key);
  params.rect =
      random_resized_crop_rect(image_height, image_width, spec.scale_min, spec.scale_max, rng);
  params.flip = rng.bernoulli(0.5);
  params.jitter = rng.bernoulli(steps.jitter_p);
  params.jitter_params = draw_jitter(steps.jitter, rng);
  params.grayscale = rng.bernoulli(steps.grayscale_p);
  params.blur = rng.bernoulli(steps.blur_p);
  params.blur_sigma = rng.uniform(0.1, 2.0);
  return params;
}

uint64_t augment_key(uint64_t seed, int rank, int64_t step, int64_t sample_in_batch,
                     int64_t crop_index) {
  return hash_key({seed, static_cast<uint64_t>(rank), static_cast<uint64_t>(step),
                   static_cast<uint64_t>(sample_in_batch), static_cast<uint64_t>(crop_index)});
}

Augmenter::Augmenter(AugmentConfig config)
    : config_(std::move(config)),
      steps_(preset_steps(config_.preset)),
      crops_(crop_specs(config_)) {}

void Augmenter::augment_crop(const cv::Mat& bgr, uint64_t key, int64_t crop_index,
                             float* out) const {
  if (crop_index < 0 || crop_index >= static_cast<int64_t>(crops_.size())) {
    throw std::out_of_range("crop index " + std::to_string(crop_index) + " of " +
                            std::to_string(crops_.size()));
  }
  const CropSpec& spec = crops_[static_cast<size_t>(crop_index)];
  if (steps_.val) {
    render_val(bgr, spec.size, out, config_.val_resize);
    return;
  }
  render_crop(bgr, draw_crop_params(steps_, spec, bgr.rows, bgr.cols, key), spec.size, out);
}

CropParams Augmenter::crop_params(int64_t crop_index, int height, int width, uint64_t key) const {
  if (crop_index < 0 || crop_index >= static_cast<int64_t>(crops_.size()) || steps_.val) {
    throw std::out_of_range("crop_params: crop " + std::to_string(crop_index) + " of " +
                            std::to_string(crops_.size()) + (steps_.val ? " (val preset)" : ""));
  }
  return draw_crop_params(steps_, crops_[static_cast<size_t>(crop_index)], height, width, key);
}

void Augmenter::render(const cv::Mat& bgr, const CropParams& params, int64_t crop_index,
                       float* out) const {
  render_crop(bgr, params, crops_.at(static_cast<size_t>(crop_index)).size, out);
}

}  // namespace pic
