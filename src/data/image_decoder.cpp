#include "data/image_decoder.h"

#include "data/jpeg_region.h"

#include <opencv2/imgcodecs.hpp>

#include <limits>
#include <stdexcept>
#include <string>

namespace pic {

ImageDecoder::~ImageDecoder() = default;

namespace {

class OpenCvDecoder final : public ImageDecoder {
 public:
  cv::Mat decode(const uint8_t* data, size_t size) const override {
    if (data == nullptr || size == 0) throw std::runtime_error("cannot decode an empty image");
    if (size > static_cast<size_t>(std::numeric_limits<int>::max())) {
      throw std::runtime_error("cannot decode an image of " + std::to_string(size) +
                               " bytes: OpenCV takes at most 2^31 - 1");
    }
    // imdecode does not modify the buffer; the Mat header only wraps it.
    const cv::Mat encoded(1, static_cast<int>(size), CV_8UC1, const_cast<uint8_t*>(data));
    // IMREAD_COLOR: 8-bit BGR whatever the source depth or channel count. EXIF orientation
    // is ignored, as PIL (the original's loader) ignores it.
    cv::Mat image = cv::imdecode(encoded, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
    if (image.empty()) {
      throw std::runtime_error("cannot decode image of " + std::to_string(size) +
                               " bytes (not a JPEG/PNG/... OpenCV can read, or truncated)");
    }
    return image;
  }
};

class FastDecoder final : public ImageDecoder {
 public:
  cv::Mat decode(const uint8_t* data, size_t size) const override {
    if (const auto jpeg = read_jpeg_info(data, size)) {
      return decode_jpeg_region(data, size, 0, 0, jpeg->width, jpeg->height, 1).bgr;
    }
    return fallback_.decode(data, size);
  }

 private:
  OpenCvDecoder fallback_;
};

}  // namespace

std::unique_ptr<ImageDecoder> make_opencv_decoder() { return std::make_unique<OpenCvDecoder>(); }

std::unique_ptr<ImageDecoder> make_fast_decoder() { return std::make_unique<FastDecoder>(); }

}  // namespace pic
