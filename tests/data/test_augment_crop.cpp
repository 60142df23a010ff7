// Random resized crop, crop structure and the val transform.
#include <catch2/catch.hpp>

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <vector>

#include "data/augment.h"

namespace {

// Fractions of `values` in each of `bins` equal bins of [lo, hi).
std::vector<double> histogram(const std::vector<double>& values, double lo, double hi, int bins) {
  std::vector<double> fraction(bins, 0.0);
  for (double v : values) {
    int b = std::min(bins - 1, std::max(0, static_cast<int>((v - lo) / (hi - lo) * bins)));
    fraction[b] += 1.0 / values.size();
  }
  return fraction;
}

double mean(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return s / v.size();
}

}  // namespace

TEST_CASE("random resized crop: area scale and log aspect ratio are uniform", "[augment]") {
  // On a 1000 x 1000 image with scale [0.08, 0.3] every first try fits, so the accepted
  // crops follow the definition exactly (up to rounding to whole pixels).
  const int side = 1000;
  std::vector<double> scales, log_ratios, x_positions;
  for (uint64_t i = 0; i < 20000; ++i) {
    pic::CounterRng rng(pic::hash_key({1, i}));
    pic::CropRect r = pic::random_resized_crop_rect(side, side, 0.08, 0.3, rng);
    REQUIRE(r.x >= 0);
    REQUIRE(r.y >= 0);
    REQUIRE(r.x + r.width <= side);
    REQUIRE(r.y + r.height <= side);
    scales.push_back(static_cast<double>(r.width) * r.height / (side * side));
    log_ratios.push_back(std::log(static_cast<double>(r.width) / r.height));
    x_positions.push_back(static_cast<double>(r.x) / (side - r.width));
  }
  // Uniform on [0.08, 0.3]: mean 0.19, each tenth of the range ~10% (binomial SE 0.2%).
  CHECK(mean(scales) == Approx(0.19).margin(0.003));
  for (double f : histogram(scales, 0.08, 0.3, 10)) CHECK(f == Approx(0.1).margin(0.01));
  // Log-uniform ratio in [3/4, 4/3] (pixel rounding widens the bounds a little).
  const double lr = std::log(4.0 / 3.0);
  for (double l : log_ratios) REQUIRE(std::abs(l) <= lr + 0.02);
  CHECK(mean(log_ratios) == Approx(0.0).margin(0.004));
  for (double f : histogram(log_ratios, -lr, lr, 10)) CHECK(f == Approx(0.1).margin(0.012));
  // Positions uniform over the free room.
  CHECK(mean(x_positions) == Approx(0.5).margin(0.01));
}

TEST_CASE("random resized crop: full scale range stays within bounds", "[augment]") {
  std::vector<double> scales;
  for (uint64_t i = 0; i < 5000; ++i) {
    pic::CounterRng rng(pic::hash_key({2, i}));
    pic::CropRect r = pic::random_resized_crop_rect(375, 500, 0.08, 1.0, rng);
    REQUIRE(r.x + r.width <= 500);
    REQUIRE(r.y + r.height <= 375);
    scales.push_back(static_cast<double>(r.width) * r.height / (375.0 * 500.0));
  }
  CHECK(*std::min_element(scales.begin(), scales.end()) >= 0.079);
  CHECK(*std::max_element(scales.begin(), scales.end()) <= 1.0);
  CHECK(*std::max_element(scales.begin(), scales.end()) > 0.9);  // large crops do occur
}

TEST_CASE("random resized crop falls back to a centred crop of the clamped ratio", "[augment]") {
  // Scale exactly 1 on a 4:1 image can never fit a ratio in [3/4, 4/3].
  pic::CounterRng wide_rng(3);
  pic::CropRect wide = pic::random_resized_crop_rect(100, 400, 1.0, 1.0, wide_rng);
  CHECK(wide.width == 133);
  CHECK(wide.height == 100);
  CHECK(wide.x == 133);
  CHECK(wide.y == 0);
  pic::CounterRng tall_rng(4);
  pic::CropRect tall = pic::random_resized_crop_rect(400, 100, 1.0, 1.0, tall_rng);
  CHECK(tall.width == 100);
  CHECK(tall.height == 133);
  CHECK(tall.x == 0);
  CHECK(tall.y == 133);
}

TEST_CASE("crop structure: single crop and multi-crop scales", "[augment]") {
  pic::AugmentConfig single;  // SimCLR, 224, num_crop2 = 0
  auto specs = pic::crop_specs(single);
  REQUIRE(specs.size() == 1);
  CHECK(specs[0].size == 224);
  CHECK(specs[0].scale_min == 0.08);
  CHECK(specs[0].scale_max == 1.0);

  pic::AugmentConfig multi;
  multi.preset = "MultiCrop";
  multi.image_size = 160;
  multi.num_crop = 2;
  multi.num_crop2 = 3;
  specs = pic::crop_specs(multi);
  REQUIRE(specs.size() == 5);
  for (int i = 0; i < 2; ++i) {
    CHECK(specs[i].size == 160);
    CHECK(specs[i].scale_min == 0.14);
    CHECK(specs[i].scale_max == 1.0);
  }
  for (int i = 2; i < 5; ++i) {
    CHECK(specs[i].size == 96);
    CHECK(specs[i].scale_min == 0.08);
    CHECK(specs[i].scale_max == 0.14);
  }
  // Small crops really draw areas in [crop, crop2].
  const auto steps = pic::preset_steps("MultiCrop");
  for (uint64_t i = 0; i < 2000; ++i) {
    auto p = pic::draw_crop_params(steps, specs[2], 600, 800, pic::hash_key({5, i}));
    double scale = static_cast<double>(p.rect.width) * p.rect.height / (600.0 * 800.0);
    REQUIRE(scale >= 0.079);
    REQUIRE(scale <= 0.141);
  }

  pic::AugmentConfig bad = single;
  bad.preset = "RandAug";
  CHECK_THROWS_AS(pic::crop_specs(bad), std::invalid_argument);
  bad = single;
  bad.preset = "val";
  bad.num_crop2 = 2;
  CHECK_THROWS_AS(pic::crop_specs(bad), std::invalid_argument);
  bad = single;
  bad.crop = 0.0;
  CHECK_THROWS_AS(pic::Augmenter(bad), std::invalid_argument);
}

TEST_CASE("val transform: short side to size + 32, centre crop", "[augment]") {
  // A 300 x 200 image, mirror-symmetric both ways: the centred crop must be symmetric too.
  cv::Mat image(200, 300, CV_8UC3);
  for (int y = 0; y < 200; ++y) {
    for (int x = 0; x < 300; ++x) {
      int dx = std::min(x, 299 - x), dy = std::min(y, 199 - y);
      image.at<cv::Vec3b>(y, x) =
          cv::Vec3b(static_cast<uint8_t>(dx % 256), static_cast<uint8_t>((dy * 3) % 256),
                    static_cast<uint8_t>((dx + dy) % 256));
    }
  }
  const int s = 100;
  std::vector<float> out(3 * s * s);
  pic::render_val(image, s, out.data());
  auto at = [&](int c, int y, int x) { return out[(c * s + y) * s + x]; };
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < s; ++y) {
      for (int x = 0; x < s; ++x) {
        REQUIRE(at(c, y, x) == Approx(at(c, y, s - 1 - x)).margin(0.03));
        REQUIRE(at(c, y, x) == Approx(at(c, s - 1 - y, x)).margin(0.03));
      }
    }
  }
  // And it is exactly resize to 198 x 132 then the centre 100 x 100 (offsets 49, 16).
  cv::Mat resized;
  cv::resize(image, resized, cv::Size(198, 132), 0, 0, cv::INTER_LINEAR);
  for (int y = 0; y < s; ++y) {
    for (int x = 0; x < s; ++x) {
      cv::Vec3b bgr = resized.at<cv::Vec3b>(16 + y, 49 + x);
      for (int c = 0; c < 3; ++c) {
        float expected = (bgr[2 - c] / 255.0f - pic::kImageNetMean[c]) / pic::kImageNetStd[c];
        REQUIRE(at(c, y, x) == Approx(expected).margin(1e-5));
      }
    }
  }
  // The val preset is the same, whatever the key.
  pic::AugmentConfig val;
  val.preset = "val";
  val.image_size = s;
  pic::Augmenter augmenter(val);
  std::vector<float> via_augmenter(3 * s * s);
  augmenter.augment_crop(image, 12345, 0, via_augmenter.data());
  CHECK(via_augmenter == out);
}
