#include "image_check.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>

#include "data/jpeg_region.h"

namespace pic::prep {
namespace {

bool starts_with(const std::vector<uint8_t>& data, std::initializer_list<uint8_t> magic) {
  return data.size() >= magic.size() && std::equal(magic.begin(), magic.end(), data.begin());
}

// libjpeg decodes a truncated JPEG with a warning and grey fill, so a decode alone cannot
// see truncation. Entropy-coded data never contains FF D9 (FF is byte-stuffed), so a complete
// file has an end-of-image marker after its last start-of-scan marker.
bool jpeg_has_end_marker(const std::vector<uint8_t>& data) {
  size_t last_sos = 0, last_eoi = 0;
  bool seen_sos = false, seen_eoi = false;
  for (size_t i = 0; i + 1 < data.size(); ++i) {
    if (data[i] != 0xFF) continue;
    if (data[i + 1] == 0xDA) last_sos = i, seen_sos = true;
    if (data[i + 1] == 0xD9) last_eoi = i, seen_eoi = true;
  }
  return seen_sos && seen_eoi && last_eoi > last_sos;
}

// A complete PNG ends with the IEND chunk (some writers append a few bytes after it).
bool png_has_end_chunk(const std::vector<uint8_t>& data) {
  const size_t tail = std::min<size_t>(data.size(), 1024);
  static const uint8_t kIend[] = {'I', 'E', 'N', 'D'};
  return std::search(data.end() - tail, data.end(), std::begin(kIend), std::end(kIend)) !=
         data.end();
}

std::string first_bytes_hex(const std::vector<uint8_t>& data) {
  std::string hex;
  for (size_t i = 0; i < std::min<size_t>(data.size(), 4); ++i) {
    char byte[4];
    std::snprintf(byte, sizeof byte, "%s%02x", i ? " " : "", data[i]);
    hex += byte;
  }
  return hex;
}

PreparedImage problem(std::string reason) {
  PreparedImage result;
  result.problem = std::move(reason);
  return result;
}

}  // namespace

ImageFormat sniff_image_format(const std::vector<uint8_t>& data) {
  if (starts_with(data, {0xFF, 0xD8, 0xFF})) return ImageFormat::kJpeg;
  if (starts_with(data, {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A})) return ImageFormat::kPng;
  if (starts_with(data, {'B', 'M'})) return ImageFormat::kBmp;
  if (data.size() >= 2 && data[0] == 'P' && data[1] >= '1' && data[1] <= '6') {
    return ImageFormat::kPnm;
  }
  if (starts_with(data, {'I', 'I', 42, 0}) || starts_with(data, {'M', 'M', 0, 42})) {
    return ImageFormat::kTiff;
  }
  return ImageFormat::kUnknown;
}

const char* image_format_name(ImageFormat format) {
  switch (format) {
    case ImageFormat::kJpeg:
      return "JPEG";
    case ImageFormat::kPng:
      return "PNG";
    case ImageFormat::kBmp:
      return "BMP";
    case ImageFormat::kPnm:
      return "PPM/PGM";
    case ImageFormat::kTiff:
      return "TIFF";
    case ImageFormat::kUnknown:
      break;
  }
  return "unknown";
}

namespace {

// The image resized so that its longer side is policy.max_side, as an 8-bit JPEG (grey or
// BGR; an alpha channel is dropped, 16-bit samples scaled down).
PreparedImage shrunk_jpeg(cv::Mat image, const ShrinkPolicy& policy) {
  PreparedImage result;
  if (image.depth() == CV_16U) image.convertTo(image, CV_8U, 1.0 / 257.0);
  if (image.depth() != CV_8U || image.channels() == 2) {
    result.problem = "unsupported pixel format for --max-side";
    return result;
  }
  if (image.channels() == 4) cv::cvtColor(image, image, cv::COLOR_BGRA2BGR);
  const double scale = static_cast<double>(policy.max_side) / std::max(image.rows, image.cols);
  const cv::Size size(std::max(1, static_cast<int>(std::lround(image.cols * scale))),
                      std::max(1, static_cast<int>(std::lround(image.rows * scale))));
  cv::resize(image, image, size, 0, 0, cv::INTER_AREA);
  if (!cv::imencode(".jpg", image, result.bytes, {cv::IMWRITE_JPEG_QUALITY, policy.jpeg_quality})) {
    result.problem = "OpenCV cannot re-encode it as JPEG for --max-side";
    return result;
  }
  result.ok = true;
  result.shrunk = true;
  return result;
}

}  // namespace

PreparedImage prepare_image(std::vector<uint8_t> data, const ShrinkPolicy& shrink) {
  // Magic bytes first: they decide the format, whatever the file is called.
  if (data.empty()) return problem("empty file");
  const ImageFormat format = sniff_image_format(data);
  if (format == ImageFormat::kUnknown) {
    return problem("wrong magic bytes (starts with " + first_bytes_hex(data) +
                   "; not JPEG, PNG, BMP, PPM/PGM or TIFF)");
  }
  if (format == ImageFormat::kJpeg && !jpeg_has_end_marker(data)) {
    return problem("truncated JPEG (no end-of-image marker after the last scan)");
  }
  if (format == ImageFormat::kPng && !png_has_end_chunk(data)) {
    return problem("truncated PNG (no IEND chunk)");
  }

  // JPEGs the trainer decodes through libjpeg-turbo get that decode here too, so that
  // corrupt-data warnings are counted for this image and reported with its name (OpenCV's
  // decode prints them to stderr without one).
  std::string warning;
  const auto jpeg =
      format == ImageFormat::kJpeg ? read_jpeg_info(data.data(), data.size()) : std::nullopt;
  if (jpeg) {
    try {
      const DecodedRegion full =
          decode_jpeg_region(data.data(), data.size(), 0, 0, jpeg->width, jpeg->height, 1);
      if (full.warnings > 0) {
        warning = "libjpeg: " + full.first_warning + " (" + std::to_string(full.warnings) +
                  (full.warnings == 1 ? " warning)" : " warnings)");
      }
    } catch (const std::exception& e) {
      return problem(std::string("libjpeg cannot decode the JPEG: ") + e.what());
    }
    if (!(shrink.max_side > 0 && std::max(jpeg->width, jpeg->height) > shrink.max_side)) {
      PreparedImage result;
      result.ok = true;
      result.warning = warning;
      result.bytes = std::move(data);
      return result;
    }
  }

  // A real decode: the trainer must be able to decode every stored image.
  cv::Mat image;
  try {
    image = cv::imdecode(data, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    return problem(std::string("OpenCV cannot decode the ") + image_format_name(format) + ": " +
                   e.what());
  }
  if (image.empty()) {
    return problem(std::string("OpenCV cannot decode the ") + image_format_name(format));
  }

  PreparedImage result;
  result.ok = true;
  result.warning = warning;
  if (shrink.max_side > 0 && std::max(image.rows, image.cols) > shrink.max_side) {
    PreparedImage shrunk = shrunk_jpeg(image, shrink);
    shrunk.warning = warning;
    return shrunk;
  }
  if (format == ImageFormat::kJpeg || format == ImageFormat::kPng) {
    result.bytes = std::move(data);
    return result;
  }

  // Other formats become 8-bit PNG (16-bit TIFF/PNM scaled down), 1, 3 or 4 channels.
  if (image.depth() == CV_16U) {
    image.convertTo(image, CV_8U, 1.0 / 257.0);
  } else if (image.depth() != CV_8U) {
    return problem(std::string("unsupported pixel depth in the ") + image_format_name(format));
  }
  if (image.channels() == 2) return problem("unsupported 2-channel image");
  if (!cv::imencode(".png", image, result.bytes, {cv::IMWRITE_PNG_COMPRESSION, 6})) {
    return problem("OpenCV cannot re-encode it as PNG");
  }
  result.reencoded = true;
  return result;
}

}  // namespace pic::prep
