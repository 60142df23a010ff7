#pragma once
// Image decoding behind one small interface, so that a faster decoder (region of interest,
// reduced DCT scale) can replace OpenCV's full decode without touching the loader.
#include <opencv2/core.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace pic {

class ImageDecoder {
 public:
  virtual ~ImageDecoder();
  // Decodes encoded image bytes (JPEG, PNG, ... as stored in the dataset) into an 8-bit,
  // 3-channel BGR image; grayscale becomes three equal channels, 16-bit is scaled to 8-bit.
  // Throws std::runtime_error on bytes it cannot decode. Safe to call from several threads.
  virtual cv::Mat decode(const uint8_t* data, size_t size) const = 0;
};

// Full decode with cv::imdecode (libjpeg-turbo / libpng underneath).
std::unique_ptr<ImageDecoder> make_opencv_decoder();

// JPEGs straight through libjpeg-turbo with BGR output (jpeg_region.h; the same pixels as
// OpenCV's decode, 1.9x faster on the opencv-doc photographs: Debian's OpenCV swaps RGB to
// BGR byte by byte afterwards), everything else through OpenCV. The loader's decoder.
std::unique_ptr<ImageDecoder> make_fast_decoder();

}  // namespace pic
