#pragma once
// Colour operations of the augmentation, on float RGB images (CV_32FC3, values in [0, 1]),
// in place. They follow torchvision's definitions: each blends the image with a reference
// (black, the mean grey level, the per-pixel grey) and clamps to [0, 1].
#include <opencv2/core.hpp>

#include "data/augment.h"

namespace pic {

// Luma as PIL's "L" conversion (ITU-R 601-2): 0.299 R + 0.587 G + 0.114 B.
inline float luma(float r, float g, float b) { return 0.299f * r + 0.587f * g + 0.114f * b; }

void adjust_brightness(cv::Mat& rgb, double factor);  // x * f
void adjust_contrast(cv::Mat& rgb, double factor);    // f x + (1 - f) mean(luma)
void adjust_saturation(cv::Mat& rgb, double factor);  // f x + (1 - f) luma(pixel)
void adjust_hue(cv::Mat& rgb, double shift);          // hue + shift (in turns), via HSV
// The four in params.order.
void apply_jitter(cv::Mat& rgb, const JitterParams& params);
// Three equal channels of luma.
void to_grayscale(cv::Mat& rgb);
// Separable Gaussian, kernel radius ceil(3 sigma), mirrored border.
void gaussian_blur(cv::Mat& rgb, double sigma);

}  // namespace pic
