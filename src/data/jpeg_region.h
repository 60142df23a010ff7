#pragma once
// Decoding only what the crops need from a JPEG, with libjpeg-turbo's libjpeg API:
//   - reduced DCT scale: the IDCT produces 1/2, 1/4 or 1/8 of the pixels in each direction
//     for a fraction of the work (PIL's "draft" mode does the same for JPEGs);
//   - region: jpeg_crop_scanline decodes only the columns of the wanted region (widened to
//     whole iMCU columns), jpeg_skip_scanlines skips the rows above it, and decoding stops
//     after its last row.
// Random-resized crops of ImageNet photographs use on average about half of the image and
// are then shrunk to 224 px or less, so most of a full decode is thrown away.
#include <opencv2/core.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace pic {

struct JpegInfo {
  int width = 0;
  int height = 0;
};

// The size of a JPEG this decoder handles (8-bit, grayscale or YCbCr/RGB colour); nullopt
// for anything else (PNG, CMYK JPEG, unreadable header): decode those in full.
std::optional<JpegInfo> read_jpeg_info(const uint8_t* data, size_t size);

// A region of the image decoded at 1/scale of its resolution.
struct DecodedRegion {
  cv::Mat bgr;    // 8-bit BGR
  int scale = 1;  // 1, 2, 4 or 8: one decoded pixel stands for scale x scale source pixels
  int x0 = 0;     // position of bgr(0, 0) in the scaled image's pixels
  int y0 = 0;
  int warnings = 0;           // libjpeg's corrupt-data warnings (decoding went on)
  std::string first_warning;  // the first of them, e.g. "Corrupt JPEG data: ..."
};

// Decodes at least the source-pixel rectangle [x, x + width) x [y, y + height) (clipped to
// the image) at 1/scale, with a margin of one scaled pixel where the image has one; inside
// the rectangle the pixels are those of a full decode at the same scale (tested on the
// opencv-doc photographs; on images under ~40 px with subsampled chroma, rectangles one or
// a few pixels wide can differ, so crop_source.h decodes images under 64 px whole).
// Throws std::runtime_error with libjpeg's message on corrupt data.
DecodedRegion decode_jpeg_region(const uint8_t* data, size_t size, int x, int y, int width,
                                 int height, int scale);

}  // namespace pic
