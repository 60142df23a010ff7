#include "data/jpeg_region.h"

#include <opencv2/imgproc.hpp>

// jpeglib.h needs FILE and size_t declared first.
#include <jpeglib.h>
#include <cstdio>

#include <algorithm>
#include <csetjmp>
#include <stdexcept>
#include <string>

namespace pic {
namespace {

// libjpeg reports fatal errors through error_exit, which must not return: it longjmps back
// to the setjmp in the decoding function (no C++ object is created between the two).
struct ErrorManager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void on_error(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

// Corrupt-data warnings (level -1): decoding goes on, as OpenCV's and PIL's do; they are
// counted, and the first one is kept for callers that report it (pic-prep).
void on_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;  // trace messages
  auto* errors = reinterpret_cast<ErrorManager*>(cinfo->err);
  if (cinfo->err->num_warnings++ == 0) (*cinfo->err->format_message)(cinfo, errors->message);
}

// A decompressor that owns its libjpeg state; destroy() is safe after any error.
struct Decompressor {
  jpeg_decompress_struct cinfo{};
  ErrorManager errors{};

  Decompressor() {
    cinfo.err = jpeg_std_error(&errors.base);
    errors.base.error_exit = on_error;
    errors.base.emit_message = on_message;
    errors.message[0] = '\0';
    jpeg_create_decompress(&cinfo);
  }
  ~Decompressor() { jpeg_destroy_decompress(&cinfo); }
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;
};

bool handled_colour_space(J_COLOR_SPACE space) {
  return space == JCS_GRAYSCALE || space == JCS_YCbCr || space == JCS_RGB;
}

}  // namespace

std::optional<JpegInfo> read_jpeg_info(const uint8_t* data, size_t size) {
  if (data == nullptr || size < 4 || data[0] != 0xFF || data[1] != 0xD8) return std::nullopt;
  Decompressor d;
  if (setjmp(d.errors.jump)) return std::nullopt;
  jpeg_mem_src(&d.cinfo, data, static_cast<unsigned long>(size));
  if (jpeg_read_header(&d.cinfo, TRUE) != JPEG_HEADER_OK) return std::nullopt;
  if (!handled_colour_space(d.cinfo.jpeg_color_space) || d.cinfo.data_precision != 8) {
    return std::nullopt;
  }
  return JpegInfo{static_cast<int>(d.cinfo.image_width), static_cast<int>(d.cinfo.image_height)};
}

DecodedRegion decode_jpeg_region(const uint8_t* data, size_t size, int x, int y, int width,
                                 int height, int scale) {
  if (scale != 1 && scale != 2 && scale != 4 && scale != 8) {
    throw std::invalid_argument("decode_jpeg_region: scale must be 1, 2, 4 or 8");
  }
  DecodedRegion region;
  region.scale = scale;
  cv::Mat rows;  // created before setjmp: a longjmp must not skip a constructor or destructor
  Decompressor d;
  if (setjmp(d.errors.jump)) {
    throw std::runtime_error(std::string("JPEG decode failed: ") + d.errors.message);
  }
  jpeg_mem_src(&d.cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&d.cinfo, TRUE);
  const bool gray = d.cinfo.jpeg_color_space == JCS_GRAYSCALE;
  d.cinfo.out_color_space = gray ? JCS_GRAYSCALE : JCS_EXT_BGR;
  d.cinfo.scale_num = 1;
  d.cinfo.scale_denom = static_cast<unsigned int>(scale);
  d.cinfo.dct_method = JDCT_ISLOW;  // the accurate IDCT, as OpenCV's and PIL's defaults
  jpeg_start_decompress(&d.cinfo);

  // The wanted rectangle in scaled pixels, rounded outwards, one pixel wider on every side
  // and clipped. The margin matters: libjpeg upsamples the chroma of a cropped region's first
  // and last column and first row without their outer neighbours, so those pixels differ
  // from a full decode (by up to 13 levels measured); with the margin no crop uses them.
  const int out_w = static_cast<int>(d.cinfo.output_width);
  const int out_h = static_cast<int>(d.cinfo.output_height);
  const int left = std::clamp(x / scale - 1, 0, out_w - 1);
  const int top = std::clamp(y / scale - 1, 0, out_h - 1);
  const int right = std::clamp((x + width + scale - 1) / scale + 1, left + 1, out_w);
  const int bottom = std::clamp((y + height + scale - 1) / scale + 1, top + 1, out_h);
  JDIMENSION crop_x = static_cast<JDIMENSION>(left);
  JDIMENSION crop_w = static_cast<JDIMENSION>(right - left);
  if (crop_w < static_cast<JDIMENSION>(out_w)) jpeg_crop_scanline(&d.cinfo, &crop_x, &crop_w);
  if (top > 0) jpeg_skip_scanlines(&d.cinfo, static_cast<JDIMENSION>(top));

  const int channels = d.cinfo.output_components;
  rows.create(bottom - top, static_cast<int>(crop_w), channels == 1 ? CV_8UC1 : CV_8UC3);
  while (static_cast<int>(d.cinfo.output_scanline) < bottom) {
    JSAMPROW row = rows.ptr<uint8_t>(static_cast<int>(d.cinfo.output_scanline) - top);
    jpeg_read_scanlines(&d.cinfo, &row, 1);
  }
  jpeg_abort_decompress(&d.cinfo);  // the rows below the region are never decoded

  region.warnings = static_cast<int>(d.errors.base.num_warnings);
  if (region.warnings > 0) region.first_warning = d.errors.message;
  region.x0 = static_cast<int>(crop_x);
  region.y0 = top;
  if (channels == 1) {
    cv::cvtColor(rows, region.bgr, cv::COLOR_GRAY2BGR);
  } else {
    region.bgr = rows;
  }
  return region;
}

}  // namespace pic
