#include "idx_source.h"

#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <stdexcept>

namespace pic::prep {
namespace {

uint32_t read_big_endian_u32(const std::vector<uint8_t>& data, size_t at) {
  return (uint32_t{data[at]} << 24) | (uint32_t{data[at + 1]} << 16) |
         (uint32_t{data[at + 2]} << 8) | uint32_t{data[at + 3]};
}

// Checks the IDX magic (unsigned bytes, `dims` dimensions) and returns the dimensions.
std::vector<uint64_t> parse_idx_header(const std::vector<uint8_t>& data, uint32_t dims,
                                       const std::string& path) {
  const uint32_t expected_magic = 0x00000800u | dims;
  if (data.size() < 4 + 4 * dims || read_big_endian_u32(data, 0) != expected_magic) {
    char found[16] = "(short file)";
    if (data.size() >= 4)
      std::snprintf(found, sizeof found, "0x%08x", read_big_endian_u32(data, 0));
    char wanted[16];
    std::snprintf(wanted, sizeof wanted, "0x%08x", expected_magic);
    throw std::runtime_error(path + ": not an unsigned-byte IDX file with " + std::to_string(dims) +
                             " dimensions (magic " + found + ", expected " + wanted + ")");
  }
  std::vector<uint64_t> shape;
  uint64_t elements = 1;
  for (uint32_t d = 0; d < dims; ++d) {
    shape.push_back(read_big_endian_u32(data, 4 + 4 * d));
    elements *= shape.back();
  }
  uint64_t payload = data.size() - 4 - 4 * dims;
  if (payload != elements) {
    throw std::runtime_error(path + ": holds " + std::to_string(payload) +
                             " bytes of data, its header announces " + std::to_string(elements));
  }
  return shape;
}

}  // namespace

std::vector<uint8_t> read_maybe_gzipped(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw std::runtime_error(path + ": cannot open");
  gzbuffer(file, 1 << 20);
  std::vector<uint8_t> data;
  std::vector<uint8_t> chunk(1 << 20);
  for (;;) {
    int got = gzread(file, chunk.data(), static_cast<unsigned>(chunk.size()));
    if (got < 0) {
      int code = 0;
      std::string message = gzerror(file, &code);
      gzclose(file);
      throw std::runtime_error(path + ": read error: " + message);
    }
    if (got == 0) break;
    data.insert(data.end(), chunk.begin(), chunk.begin() + got);
  }
  gzclose(file);
  return data;
}

IdxSource::IdxSource(const std::string& images_path, const std::string& labels_path) {
  std::vector<uint8_t> images = read_maybe_gzipped(images_path);
  std::vector<uint64_t> image_shape = parse_idx_header(images, 3, images_path);
  std::vector<uint8_t> labels = read_maybe_gzipped(labels_path);
  std::vector<uint64_t> label_shape = parse_idx_header(labels, 1, labels_path);
  if (label_shape[0] != image_shape[0]) {
    throw std::runtime_error(labels_path + ": has " + std::to_string(label_shape[0]) +
                             " labels, but " + images_path + " has " +
                             std::to_string(image_shape[0]) + " images");
  }
  rows_ = static_cast<int>(image_shape[1]);
  cols_ = static_cast<int>(image_shape[2]);
  pixels_.assign(images.begin() + 16, images.end());

  // Items in file order, named "<images file>:<index>".
  const std::string base = std::filesystem::path(images_path).filename().string();
  items_.reserve(image_shape[0]);
  for (uint64_t i = 0; i < image_shape[0]; ++i) {
    items_.push_back(SourceItem{base + ":" + std::to_string(i), int32_t{labels[8 + i]}});
  }
  use_numbered_class_names();
  // A PNG of a small grayscale image is about the size of its pixels.
  estimated_total_bytes_ = image_shape[0] * (uint64_t(rows_) * cols_ + 128);
}

std::vector<uint8_t> IdxSource::read(size_t i) const {
  const size_t image_bytes = static_cast<size_t>(rows_) * cols_;
  // The Mat only wraps the pixels (const_cast: imencode does not write to its input).
  cv::Mat image(rows_, cols_, CV_8UC1, const_cast<uint8_t*>(pixels_.data() + i * image_bytes));
  std::vector<uint8_t> png;
  if (!cv::imencode(".png", image, png, {cv::IMWRITE_PNG_COMPRESSION, 6})) {
    throw std::runtime_error("OpenCV cannot encode the image as PNG");
  }
  return png;
}

}  // namespace pic::prep
