// Colour jitter, grayscale and blur: factor ranges, random order and pixel semantics.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <vector>

#include "data/augment.h"
#include "data/color_ops.h"

namespace {

cv::Mat one_pixel(float r, float g, float b) {
  cv::Mat m(1, 1, CV_32FC3);
  m.at<cv::Vec3f>(0, 0) = cv::Vec3f(r, g, b);
  return m;
}

cv::Vec3f px(const cv::Mat& m, int y = 0, int x = 0) { return m.at<cv::Vec3f>(y, x); }

// A deterministic colourful float image, values in [0, 1].
cv::Mat colourful(int rows, int cols, uint64_t key) {
  cv::Mat m(rows, cols, CV_32FC3);
  pic::CounterRng rng(key);
  for (int y = 0; y < rows; ++y) {
    for (int x = 0; x < cols; ++x) {
      m.at<cv::Vec3f>(y, x) =
          cv::Vec3f(static_cast<float>(rng.uniform()), static_cast<float>(rng.uniform()),
                    static_cast<float>(rng.uniform()));
    }
  }
  return m;
}

}  // namespace

TEST_CASE("colour jitter factors lie in their ranges, in a random order", "[augment]") {
  const pic::JitterStrength simclr = pic::preset_steps("SimCLR").jitter;
  REQUIRE(simclr.brightness == 0.8);
  REQUIRE(simclr.hue == 0.2);
  std::vector<double> brightness, contrast, saturation, hue;
  std::set<std::vector<int>> orders;
  std::vector<int> first_count(4, 0);
  const int draws = 8000;
  for (uint64_t i = 0; i < draws; ++i) {
    pic::CounterRng rng(pic::hash_key({6, i}));
    auto p = pic::draw_jitter(simclr, rng);
    brightness.push_back(p.brightness);
    contrast.push_back(p.contrast);
    saturation.push_back(p.saturation);
    hue.push_back(p.hue);
    std::vector<int> order;
    for (auto op : p.order) order.push_back(static_cast<int>(op));
    REQUIRE(std::set<int>(order.begin(), order.end()).size() == 4);  // a permutation
    orders.insert(order);
    ++first_count[order[0]];
  }
  for (const auto* v : {&brightness, &contrast, &saturation}) {
    CHECK(*std::min_element(v->begin(), v->end()) >= 0.2);
    CHECK(*std::min_element(v->begin(), v->end()) < 0.21);
    CHECK(*std::max_element(v->begin(), v->end()) <= 1.8);
    CHECK(*std::max_element(v->begin(), v->end()) > 1.79);
  }
  CHECK(*std::min_element(hue.begin(), hue.end()) >= -0.2);
  CHECK(*std::max_element(hue.begin(), hue.end()) <= 0.2);
  CHECK(*std::min_element(hue.begin(), hue.end()) < -0.19);
  CHECK(orders.size() == 24);
  for (int c : first_count) CHECK(c == Approx(draws / 4).margin(draws * 0.03));

  // A strength above 1 clamps the lower bound at 0, as torchvision does.
  pic::CounterRng rng(7);
  for (int i = 0; i < 100; ++i) CHECK(pic::draw_jitter({1.5, 0, 0, 0}, rng).brightness >= 0.0);
}

TEST_CASE("SimCLR applies each step with its probability", "[augment]") {
  const auto steps = pic::preset_steps("SimCLR");
  const pic::CropSpec spec{224, 0.08, 1.0};
  int flip = 0, jitter = 0, grey = 0, blur = 0;
  const int draws = 10000;
  for (uint64_t i = 0; i < draws; ++i) {
    auto p = pic::draw_crop_params(steps, spec, 300, 400, pic::hash_key({8, i}));
    flip += p.flip;
    jitter += p.jitter;
    grey += p.grayscale;
    blur += p.blur;
    REQUIRE(p.blur_sigma >= 0.1);
    REQUIRE(p.blur_sigma <= 2.0);
  }
  // Binomial standard errors are below 0.5%; allow 4 of them.
  CHECK(flip / double(draws) == Approx(0.5).margin(0.02));
  CHECK(jitter / double(draws) == Approx(0.8).margin(0.016));
  CHECK(grey / double(draws) == Approx(0.2).margin(0.016));
  CHECK(blur / double(draws) == Approx(0.5).margin(0.02));
  // NULL draws crop and flip only.
  auto null = pic::draw_crop_params(pic::preset_steps("NULL"), spec, 300, 400, 1);
  CHECK_FALSE(null.jitter);
  CHECK_FALSE(null.grayscale);
  CHECK_FALSE(null.blur);
}

TEST_CASE("colour operations follow their definitions", "[augment]") {
  cv::Mat m = one_pixel(0.5f, 0.25f, 0.1f);
  pic::adjust_brightness(m, 1.5);
  CHECK(px(m)[0] == Approx(0.75f));
  CHECK(px(m)[1] == Approx(0.375f));
  CHECK(px(m)[2] == Approx(0.15f));
  pic::adjust_brightness(m, 3.0);
  CHECK(px(m)[0] == 1.0f);  // clamped

  // Saturation 0 is the per-pixel luma; 1 is the identity.
  m = one_pixel(0.5f, 0.25f, 0.1f);
  const float l = 0.299f * 0.5f + 0.587f * 0.25f + 0.114f * 0.1f;
  pic::adjust_saturation(m, 1.0);
  CHECK(px(m)[1] == Approx(0.25f));
  pic::adjust_saturation(m, 0.0);
  for (int c = 0; c < 3; ++c) CHECK(px(m)[c] == Approx(l));

  // Contrast 0 is the mean luma of the image everywhere.
  cv::Mat img = colourful(8, 8, 1);
  double mean = 0.0;
  for (int y = 0; y < 8; ++y) {
    for (int x = 0; x < 8; ++x) {
      auto p = px(img, y, x);
      mean += pic::luma(p[0], p[1], p[2]) / 64.0;
    }
  }
  pic::adjust_contrast(img, 0.0);
  for (int c = 0; c < 3; ++c) CHECK(px(img, 3, 5)[c] == Approx(mean).epsilon(1e-5));

  // Hue: a third of a turn takes red to green; half a turn takes orange to azure.
  m = one_pixel(1.0f, 0.0f, 0.0f);
  pic::adjust_hue(m, 1.0 / 3.0);
  CHECK(px(m)[0] == Approx(0.0f).margin(1e-5));
  CHECK(px(m)[1] == Approx(1.0f));
  CHECK(px(m)[2] == Approx(0.0f).margin(1e-5));
  m = one_pixel(1.0f, 0.5f, 0.0f);
  pic::adjust_hue(m, -0.5);
  CHECK(px(m)[0] == Approx(0.0f).margin(1e-5));
  CHECK(px(m)[1] == Approx(0.5f));
  CHECK(px(m)[2] == Approx(1.0f));
  // A hue shift keeps value and saturation (max and min of the pixel); a full turn is nothing.
  img = colourful(16, 16, 2);
  cv::Mat shifted = img.clone();
  pic::adjust_hue(shifted, 0.17);
  cv::Mat turned = img.clone();
  pic::adjust_hue(turned, 1.0);
  for (int y = 0; y < 16; ++y) {
    for (int x = 0; x < 16; ++x) {
      auto a = px(img, y, x), b = px(shifted, y, x);
      CHECK(std::max({b[0], b[1], b[2]}) == Approx(std::max({a[0], a[1], a[2]})).margin(1e-5));
      CHECK(std::min({b[0], b[1], b[2]}) == Approx(std::min({a[0], a[1], a[2]})).margin(1e-5));
      CHECK(px(turned, y, x) == a);
    }
  }
}

TEST_CASE("grayscale yields equal channels, also through a whole crop", "[augment]") {
  cv::Mat img = colourful(10, 10, 3);
  pic::to_grayscale(img);
  for (int y = 0; y < 10; ++y) {
    auto p = px(img, y, y);
    CHECK(p[0] == p[1]);
    CHECK(p[1] == p[2]);
  }

  // render_crop with grayscale (and jitter before it): un-normalised channels are equal.
  cv::Mat bgr(120, 160, CV_8UC3);
  cv::randu(bgr, 0, 256);
  pic::CropParams params;
  params.rect = {10, 20, 100, 90};
  params.flip = true;
  params.jitter = true;
  params.jitter_params.brightness = 1.3;
  params.jitter_params.hue = 0.1;
  params.grayscale = true;
  const int s = 32;
  std::vector<float> out(3 * s * s);
  pic::render_crop(bgr, params, s, out.data());
  for (int i = 0; i < s * s; ++i) {
    float v[3];
    for (int c = 0; c < 3; ++c)
      v[c] = out[c * s * s + i] * pic::kImageNetStd[c] + pic::kImageNetMean[c];
    REQUIRE(v[0] == Approx(v[1]).margin(1e-5));
    REQUIRE(v[1] == Approx(v[2]).margin(1e-5));
  }
}

TEST_CASE("Gaussian blur keeps constants and mass, and spreads a point", "[augment]") {
  cv::Mat flat(20, 20, CV_32FC3, cv::Scalar(0.3, 0.6, 0.9));
  pic::gaussian_blur(flat, 1.7);
  CHECK(px(flat, 0, 0)[1] == Approx(0.6f));
  CHECK(px(flat, 10, 10)[2] == Approx(0.9f));

  cv::Mat point(31, 31, CV_32FC3, cv::Scalar(0, 0, 0));
  point.at<cv::Vec3f>(15, 15) = cv::Vec3f(1, 1, 1);
  pic::gaussian_blur(point, 2.0);
  double sum = cv::sum(point)[0];
  CHECK(sum == Approx(1.0).epsilon(1e-4));
  CHECK(px(point, 15, 15)[0] < 0.05f);  // 1 / (2 pi sigma^2) = 0.04 at the centre
  CHECK(px(point, 15, 15)[0] == Approx(1.0 / (2 * M_PI * 4.0)).epsilon(0.02));
  CHECK(px(point, 15, 17)[0] == Approx(px(point, 17, 15)[0]));  // isotropic
}
