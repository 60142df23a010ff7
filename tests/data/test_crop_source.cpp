// Region and reduced-scale JPEG decoding (jpeg_region.h, crop_source.h) on the opencv-doc
// photographs, against the plain path: full decode with OpenCV, then the same crop.
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "data/augment.h"
#include "data/crop_source.h"
#include "data/image_decoder.h"
#include "data/jpeg_region.h"
#include "photo_shard.h"

namespace {

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Mean and max absolute difference of two 8-bit images of the same size.
std::pair<double, double> difference(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat diff;
  cv::absdiff(a, b, diff);
  double max = 0;
  cv::minMaxLoc(diff.reshape(1), nullptr, &max);
  const cv::Scalar mean = cv::mean(diff);
  return {(mean[0] + mean[1] + mean[2]) / 3.0, max};
}

}  // namespace

TEST_CASE("read_jpeg_info: JPEG sizes as OpenCV decodes them, nullopt for other formats",
          "[jpeg_region]") {
  const auto photos = pic::test::opencv_doc_photos();
  REQUIRE(photos.size() >= 20);
  for (size_t i = 0; i < photos.size(); i += 8) {
    const auto bytes = file_bytes(photos[i]);
    const auto info = pic::read_jpeg_info(bytes.data(), bytes.size());
    REQUIRE(info);
    const cv::Mat full = cv::imread(photos[i], cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
    CHECK(info->width == full.cols);
    CHECK(info->height == full.rows);
  }
  std::vector<uint8_t> png;
  cv::imencode(".png", cv::Mat(8, 8, CV_8UC3, cv::Scalar(1, 2, 3)), png);
  CHECK_FALSE(pic::read_jpeg_info(png.data(), png.size()));
  const std::vector<uint8_t> junk = {0xFF, 0xD8, 0x00, 0x01, 0x02};
  CHECK_FALSE(pic::read_jpeg_info(junk.data(), junk.size()));
}

TEST_CASE("decode_jpeg_region at full scale is the same pixels as the full decode",
          "[jpeg_region]") {
  const auto decoder = pic::make_opencv_decoder();
  const auto photos = pic::test::opencv_doc_photos();
  double worst_mean = 0;
  for (size_t i = 0; i < photos.size(); i += 5) {
    const auto bytes = file_bytes(photos[i]);
    const cv::Mat full = decoder->decode(bytes.data(), bytes.size());
    const int x = full.cols / 3, y = full.rows / 4, w = full.cols / 2, h = full.rows / 2;
    const pic::DecodedRegion region =
        pic::decode_jpeg_region(bytes.data(), bytes.size(), x, y, w, h, 1);
    // The region covers the rectangle (its columns start at an iMCU boundary before x).
    REQUIRE(region.x0 < x);
    REQUIRE(region.y0 == y - 1);
    REQUIRE(region.x0 + region.bgr.cols > x + w);
    REQUIRE(region.y0 + region.bgr.rows > y + h);
    const cv::Rect rect(x, y, w, h);
    const cv::Mat ours = region.bgr(rect - cv::Point(region.x0, region.y0));
    const auto [mean, max] = difference(ours, full(rect));
    worst_mean = std::max(worst_mean, mean);
    CHECK(max == 0);
  }
  CHECK(worst_mean == 0);
}

TEST_CASE("the fast decoder gives OpenCV's pixels: JPEG (colour and grey) and PNG",
          "[jpeg_region]") {
  const auto opencv = pic::make_opencv_decoder();
  const auto fast = pic::make_fast_decoder();
  for (const auto& path : pic::test::opencv_doc_photos()) {
    const auto bytes = file_bytes(path);
    const cv::Mat a = fast->decode(bytes.data(), bytes.size());
    const cv::Mat b = opencv->decode(bytes.data(), bytes.size());
    REQUIRE(a.size() == b.size());
    REQUIRE(difference(a, b).second == 0);
  }
  const cv::Mat photo = pic::test::small_photo(pic::test::opencv_doc_photos()[3], 64);
  cv::Mat grey;
  cv::cvtColor(photo, grey, cv::COLOR_BGR2GRAY);
  for (const char* format : {".jpg", ".png"}) {
    std::vector<uint8_t> bytes;
    cv::imencode(format, grey, bytes);
    const cv::Mat a = fast->decode(bytes.data(), bytes.size());
    REQUIRE(a.type() == CV_8UC3);
    REQUIRE(difference(a, opencv->decode(bytes.data(), bytes.size())).second == 0);
  }
  const std::vector<uint8_t> truncated = {0xFF, 0xD8, 0xFF};
  CHECK_THROWS(fast->decode(truncated.data(), truncated.size()));
}

TEST_CASE("reduced_scale_for keeps every crop at least its output side", "[jpeg_region]") {
  CHECK(pic::reduced_scale_for({{0, 0, 1800, 1800}}, {224}) == 8);
  CHECK(pic::reduced_scale_for({{0, 0, 1800, 1700}}, {224}) == 4);
  CHECK(pic::reduced_scale_for({{0, 0, 500, 900}}, {224}) == 2);
  CHECK(pic::reduced_scale_for({{0, 0, 447, 900}}, {224}) == 1);
  CHECK(pic::reduced_scale_for({{0, 0, 1800, 1800}, {0, 0, 400, 400}}, {224, 96}) == 4);
}

TEST_CASE("decode_for_crops: the same draws, and crops close to the full-decode path",
          "[jpeg_region]") {
  const auto decoder = pic::make_opencv_decoder();
  const auto photos = pic::test::opencv_doc_photos();
  pic::AugmentConfig config;
  config.preset = "MultiCrop";
  config.image_size = 160;
  config.image_size2 = 96;
  config.crop = 0.08;
  config.crop2 = 0.14;
  config.num_crop = 1;
  config.num_crop2 = 3;
  const pic::Augmenter augmenter(config);
  int regions = 0, reduced = 0;
  double worst_mean = 0, total_mean = 0;  // over the crops of reduced-scale decodes
  int crops = 0;
  for (size_t i = 0; i < photos.size(); ++i) {
    const auto bytes = file_bytes(photos[i]);
    std::vector<uint64_t> keys;
    for (int64_t c = 0; c < 4; ++c)
      keys.push_back(pic::augment_key(5, 0, 7, static_cast<int64_t>(i), c));
    const pic::CropSource fast =
        pic::decode_for_crops(bytes.data(), bytes.size(), augmenter, keys, *decoder, true);
    const pic::CropSource plain =
        pic::decode_for_crops(bytes.data(), bytes.size(), augmenter, keys, *decoder, false);
    REQUIRE(fast.params.size() == 4);
    regions += fast.region;
    reduced += fast.scale > 1;
    for (size_t c = 0; c < 4; ++c) {
      // Every random decision but the rectangle's coordinates is the same.
      CHECK(fast.params[c].flip == plain.params[c].flip);
      CHECK(fast.params[c].grayscale == plain.params[c].grayscale);
      CHECK(fast.params[c].blur_sigma == plain.params[c].blur_sigma);
      CHECK(fast.params[c].jitter_params.hue == plain.params[c].jitter_params.hue);
      // The rectangle is the same part of the photograph, in scaled pixels.
      const pic::CropRect& a = fast.params[c].rect;
      const pic::CropRect& b = plain.params[c].rect;
      CHECK(std::abs(a.width * fast.scale - b.width) <= fast.scale);
      CHECK(std::abs(a.height * fast.scale - b.height) <= fast.scale);
      // The crops themselves: resize both to the output side and compare (before colour
      // steps, which act the same on both).
      const int side = static_cast<int>(augmenter.crops()[c].size);
      cv::Mat fast_crop, plain_crop;
      cv::resize(fast.bgr(cv::Rect(a.x, a.y, a.width, a.height)), fast_crop, {side, side}, 0, 0,
                 cv::INTER_AREA);
      cv::resize(plain.bgr(cv::Rect(b.x, b.y, b.width, b.height)), plain_crop, {side, side}, 0, 0,
                 cv::INTER_AREA);
      const auto [mean, max] = difference(fast_crop, plain_crop);
      if (fast.scale == 1) {
        CHECK(max == 0);  // the same rectangle of the same pixels
        continue;
      }
      worst_mean = std::max(worst_mean, mean);
      total_mean += mean;
      ++crops;
    }
  }
  WARN("region path on " << photos.size() << " photographs: " << regions << " decoded as a "
                         << "region, " << reduced
                         << " at a reduced scale; their crops differ from the full "
                         << "decode's by " << total_mean / crops
                         << " grey levels on average (worst crop " << worst_mean << ")");
  CHECK(regions == static_cast<int>(photos.size()));
  REQUIRE(reduced >= 5);
  // At a reduced scale a rectangle's edges move by up to half a scaled pixel, which is at
  // most half an output pixel (the scale leaves every crop at least its output side): on
  // textured photographs that alone is several grey levels per pixel for the worst crops,
  // plus the DCT's own downscaling instead of an area resize.
  CHECK(total_mean / crops < 4.0);
  CHECK(worst_mean < 16.0);
}

TEST_CASE("decode_for_crops on tiny colour JPEGs equals the full-decode path", "[jpeg_region]") {
  // Found by a break test: narrow rectangles of images under ~40 px with 4:2:0 chroma came
  // out of a region decode with other colours; such images are now decoded whole.
  const auto decoder = pic::make_opencv_decoder();
  pic::AugmentConfig config;
  config.preset = "NULL";
  config.image_size = 24;  // no rectangle of these images allows a reduced scale
  config.crop = 0.01;
  const pic::Augmenter augmenter(config);
  const auto photos = pic::test::opencv_doc_photos();
  for (int side : {7, 17, 32, 40}) {
    const cv::Mat photo = pic::test::small_photo(photos[10], side);
    std::vector<uint8_t> bytes;
    cv::imencode(".jpg", photo, bytes);  // libjpeg's default colour sampling: 4:2:0
    for (int64_t k = 0; k < 200; ++k) {
      const std::vector<uint64_t> keys = {pic::augment_key(1, 0, k, 0, 0)};
      const pic::CropSource fast =
          pic::decode_for_crops(bytes.data(), bytes.size(), augmenter, keys, *decoder, true);
      const pic::CropSource plain =
          pic::decode_for_crops(bytes.data(), bytes.size(), augmenter, keys, *decoder, false);
      const pic::CropRect& a = fast.params[0].rect;
      const pic::CropRect& b = plain.params[0].rect;
      REQUIRE(fast.scale == 1);
      const cv::Mat ours = fast.bgr(cv::Rect(a.x, a.y, a.width, a.height));
      const cv::Mat theirs = plain.bgr(cv::Rect(b.x, b.y, b.width, b.height));
      REQUIRE(ours.size() == theirs.size());
      REQUIRE(difference(ours, theirs).second == 0);
    }
  }
}
