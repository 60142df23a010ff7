#pragma once
// Data augmentation presets of the original (ORIGINAL.md "Augmentation presets"), with OpenCV.
//
// A crop is made in two halves: draw_crop_params() takes every random decision from one
// CounterRng stream keyed by hash_key({seed, rank, step, sample_in_batch, crop_index}) (so a
// resumed run redraws exactly the same crops, whatever thread makes them), and render_crop()
// applies them. Tests check the draws and the pixel operations separately.
//
// Pixel pipeline of a random crop: region of interest of the decoded BGR image -> bilinear
// resize to S x S (uint8) -> [jitter, grayscale, blur on float RGB in [0, 1]] -> flip and
// ImageNet normalisation while writing the planar output. Flip is applied last because every
// other step commutes with it (the blur kernel and its border are symmetric).
// Differences from the PIL original: pixel operations run in float rather than 8-bit with a
// rounding after each step; the bilinear resize does not low-pass filter before shrinking
// (PIL's does); the blur is an exact Gaussian with radius 3 sigma, PIL's a box approximation.
#include <opencv2/core.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/counter_rng.h"

namespace pic {

struct AugmentConfig {
  std::string preset = "SimCLR";  // NULL, InstDisc, MoCov2, SimCLR, MultiCrop (= SimCLR), val
  int64_t image_size = 224;       // side of the large crops
  int64_t image_size2 = 96;       // side of the small crops
  double crop = 0.08;             // lower bound of the area scale
  double crop2 = 0.14;            // boundary between small [crop, crop2] and large [crop2, 1]
  int64_t num_crop = 1;           // large crops per image
  int64_t num_crop2 = 0;          // small crops per image; 0 = single-crop scale [crop, 1]
  // val preset: short side before the centre crop; 0 = image_size + 32 as the original. On
  // 28 px images +32 keeps only the central 47% of the side, so small-image runs set it.
  int64_t val_resize = 0;
};

// One crop's geometry. Crops of an image are ordered: num_crop large ones, then num_crop2
// small ones.
struct CropSpec {
  int64_t size = 0;  // output side S
  double scale_min = 0.0;
  double scale_max = 1.0;
};
// Validates the configuration (std::invalid_argument naming the flag) and lists its crops.
std::vector<CropSpec> crop_specs(const AugmentConfig& config);

// Which steps a preset applies, with what strength and probability.
struct JitterStrength {
  double brightness = 0.0, contrast = 0.0, saturation = 0.0, hue = 0.0;
};
struct PresetSteps {
  bool val = false;         // resize short side to S + 32, centre crop S; nothing random
  bool random_crop = true;  // random resized crop + horizontal flip p 0.5
  double jitter_p = 0.0;    // colour jitter applied with this probability
  JitterStrength jitter;
  double grayscale_p = 0.0;
  double blur_p = 0.0;  // Gaussian blur, sigma ~ U(0.1, 2.0) pixels
};
// Throws std::invalid_argument for an unknown preset name.
PresetSteps preset_steps(const std::string& preset);

// A crop of the source image, in pixels.
struct CropRect {
  int x = 0, y = 0, width = 0, height = 0;
};
// torchvision's RandomResizedCrop: area fraction ~ U(scale_min, scale_max), aspect ratio
// log-uniform in [3/4, 4/3], 10 tries, then the centre crop of the clamped aspect ratio.
CropRect random_resized_crop_rect(int height, int width, double scale_min, double scale_max,
                                  CounterRng& rng);

// Colour jitter as torchvision's ColorJitter: factors uniform in [max(0, 1 - x), 1 + x]
// (hue shift in [-x, x]), the four operations in a random order.
enum class JitterOp : int { kBrightness = 0, kContrast = 1, kSaturation = 2, kHue = 3 };
struct JitterParams {
  std::array<JitterOp, 4> order{JitterOp::kBrightness, JitterOp::kContrast, JitterOp::kSaturation,
                                JitterOp::kHue};
  double brightness = 1.0, contrast = 1.0, saturation = 1.0, hue = 0.0;
};
JitterParams draw_jitter(const JitterStrength& strength, CounterRng& rng);

// Every random decision of one crop.
struct CropParams {
  CropRect rect;
  bool flip = false;
  bool jitter = false;
  JitterParams jitter_params;
  bool grayscale = false;
  bool blur = false;
  double blur_sigma = 0.0;
};
CropParams draw_crop_params(const PresetSteps& steps, const CropSpec& spec, int image_height,
                            int image_width, uint64_t key);

// The key of crop `crop_index` of sample `sample_in_batch` of `step` on `rank`.
uint64_t augment_key(uint64_t seed, int rank, int64_t step, int64_t sample_in_batch,
                     int64_t crop_index);

// ImageNet normalisation, RGB order.
inline constexpr std::array<float, 3> kImageNetMean{0.485f, 0.456f, 0.406f};
inline constexpr std::array<float, 3> kImageNetStd{0.229f, 0.224f, 0.225f};

// Applies `params` to the decoded 8-bit BGR image and writes float RGB, normalised, planar:
// out [3, size, size]. Thread-safe (scratch buffers are per thread).
void render_crop(const cv::Mat& bgr, const CropParams& params, int64_t size, float* out);
// The val transform: bilinear resize of the short side to `resize` (0: size + 32), centre
// crop size x size.
void render_val(const cv::Mat& bgr, int64_t size, float* out, int64_t resize = 0);

// A preset plus crop structure, ready to make crops.
class Augmenter {
 public:
  explicit Augmenter(AugmentConfig config);  // throws std::invalid_argument on a bad config

  const AugmentConfig& config() const { return config_; }
  const PresetSteps& steps() const { return steps_; }
  const std::vector<CropSpec>& crops() const { return crops_; }

  // Writes crop `crop_index` of the decoded BGR image into out [3, S, S], S =
  // crops()[crop_index].size, drawing its randomness from `key` (see augment_key).
  void augment_crop(const cv::Mat& bgr, uint64_t key, int64_t crop_index, float* out) const;

  // The two halves of augment_crop, for callers that decode only part of the image: the
  // random decisions for an image of height x width source pixels, then the pixels from a
  // (possibly partial, possibly reduced) decode whose coordinates `params.rect` already uses.
  // Not for the val preset (it needs the whole image).
  CropParams crop_params(int64_t crop_index, int height, int width, uint64_t key) const;
  void render(const cv::Mat& bgr, const CropParams& params, int64_t crop_index, float* out) const;

 private:
  AugmentConfig config_;
  PresetSteps steps_;
  std::vector<CropSpec> crops_;
};

}  // namespace pic
