// The OpenCV decoder on real photographs, and augmentation as a pure function of its key.
#include <catch2/catch.hpp>

#include <opencv2/imgcodecs.hpp>

#include <fstream>
#include <iterator>
#include <vector>

#include "data/augment.h"
#include "data/image_decoder.h"
#include "photo_shard.h"

namespace {

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("OpenCV decoder: BGR 8-bit 3-channel, grayscale expanded, errors thrown", "[decode]") {
  const auto decoder = pic::make_opencv_decoder();
  const auto photos = pic::test::opencv_doc_photos();
  REQUIRE(photos.size() >= 80);
  for (size_t i = 0; i < photos.size(); i += 10) {
    auto bytes = read_bytes(photos[i]);
    cv::Mat image = decoder->decode(bytes.data(), bytes.size());
    cv::Mat expected = cv::imread(photos[i], cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
    REQUIRE(image.type() == CV_8UC3);
    REQUIRE(image.size() == expected.size());
    REQUIRE(cv::norm(image, expected, cv::NORM_INF) == 0);
  }

  cv::Mat grey(30, 40, CV_8UC1);
  cv::randu(grey, 0, 256);
  std::vector<uint8_t> png;
  cv::imencode(".png", grey, png);
  cv::Mat expanded = decoder->decode(png.data(), png.size());
  REQUIRE(expanded.type() == CV_8UC3);
  std::vector<cv::Mat> channels;
  cv::split(expanded, channels);
  for (const auto& c : channels) CHECK(cv::norm(c, grey, cv::NORM_INF) == 0);

  std::vector<uint8_t> garbage(300, 0x41);
  CHECK_THROWS_AS(decoder->decode(garbage.data(), garbage.size()), std::runtime_error);
  CHECK_THROWS_AS(decoder->decode(png.data(), 0), std::runtime_error);
  CHECK_THROWS_AS(decoder->decode(png.data(), 20), std::runtime_error);  // truncated header
}

TEST_CASE("augmentation is a pure function of its key", "[augment]") {
  const auto photos = pic::test::opencv_doc_photos();
  cv::Mat photo = pic::test::small_photo(photos[3], 200);
  pic::AugmentConfig config;  // SimCLR
  config.image_size = 64;
  config.num_crop = 2;
  config.num_crop2 = 1;
  config.image_size2 = 32;
  pic::Augmenter augmenter(config);
  const int s = 64;
  auto crop = [&](uint64_t key, int64_t index) {
    std::vector<float> out(3 * s * s);
    augmenter.augment_crop(photo, key, index, out.data());
    return out;
  };
  const uint64_t key = pic::augment_key(11, 1, 500, 3, 0);
  CHECK(key == pic::hash_key({11, 1, 500, 3, 0}));
  CHECK(crop(key, 0) == crop(key, 0));                                 // bit for bit
  CHECK(crop(key, 0) != crop(pic::augment_key(11, 1, 501, 3, 0), 0));  // another step
  CHECK(crop(key, 0) != crop(pic::augment_key(11, 1, 500, 4, 0), 0));  // another sample
  CHECK(crop(key, 0) != crop(pic::augment_key(11, 1, 500, 3, 1), 1));  // another crop
  CHECK(crop(key, 0) != crop(pic::augment_key(11, 0, 500, 3, 0), 0));  // another rank
  // Many keys all give finite values in the normalised range of [0, 1] pixels.
  for (uint64_t step = 0; step < 50; ++step) {
    auto out = crop(pic::augment_key(0, 0, step, 0, 0), 0);
    for (int c = 0; c < 3; ++c) {
      const float lo = -pic::kImageNetMean[c] / pic::kImageNetStd[c];
      const float hi = (1.0f - pic::kImageNetMean[c]) / pic::kImageNetStd[c];
      for (int i = 0; i < s * s; ++i) {
        REQUIRE(out[c * s * s + i] >= lo - 1e-5f);
        REQUIRE(out[c * s * s + i] <= hi + 1e-5f);
      }
    }
  }
}

TEST_CASE("NULL preset: the crop is the resized region, mirrored when flipped", "[augment]") {
  cv::Mat bgr(90, 120, CV_8UC3);
  cv::randu(bgr, 0, 256);
  pic::CropParams params;
  params.rect = {5, 7, 60, 50};
  const int s = 24;
  std::vector<float> plain(3 * s * s), flipped(3 * s * s);
  pic::render_crop(bgr, params, s, plain.data());
  params.flip = true;
  pic::render_crop(bgr, params, s, flipped.data());
  cv::Mat resized;
  cv::resize(bgr(cv::Rect(5, 7, 60, 50)), resized, cv::Size(s, s), 0, 0, cv::INTER_LINEAR);
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < s; ++y) {
      for (int x = 0; x < s; ++x) {
        float expected = (resized.at<cv::Vec3b>(y, x)[2 - c] / 255.0f - pic::kImageNetMean[c]) /
                         pic::kImageNetStd[c];
        REQUIRE(plain[(c * s + y) * s + x] == Approx(expected).margin(1e-5));
        REQUIRE(flipped[(c * s + y) * s + (s - 1 - x)] == plain[(c * s + y) * s + x]);
      }
    }
  }
}
