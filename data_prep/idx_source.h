#pragma once
// MNIST-style IDX files (gzipped or not): an unsigned-byte image file [N, rows, cols] (magic
// 0x00000803) and an unsigned-byte label file [N] (magic 0x00000801). Each image is encoded
// losslessly as an 8-bit grayscale PNG when read. IDX files carry no class names: the
// default names are "0".."9"; pass --class-names for the real ones.
#include <string>
#include <vector>

#include "image_source.h"

namespace pic::prep {

class IdxSource final : public ImageSource {
 public:
  IdxSource(const std::string& images_path, const std::string& labels_path);
  std::string kind() const override { return "idx"; }
  std::vector<uint8_t> read(size_t i) const override;

  int rows() const { return rows_; }
  int cols() const { return cols_; }

 private:
  int rows_ = 0;
  int cols_ = 0;
  std::vector<uint8_t> pixels_;  // [N, rows, cols]
};

// Whole content of a file, gunzipped when it is gzip-compressed (zlib reads plain files as is).
std::vector<uint8_t> read_maybe_gzipped(const std::string& path);

}  // namespace pic::prep
