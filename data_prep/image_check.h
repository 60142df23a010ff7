#pragma once
// Decides what pic-prep stores for one image: JPEG and PNG bytes as found, after checking the
// magic bytes, the end marker and a full decode with OpenCV; BMP, PPM/PGM and TIFF decoded and
// re-encoded losslessly as PNG. Anything else is a problem with a one-line reason.
#include <cstdint>
#include <string>
#include <vector>

namespace pic::prep {

enum class ImageFormat { kUnknown, kJpeg, kPng, kBmp, kPnm, kTiff };

// Format named by the first bytes of the data (not by the file name).
ImageFormat sniff_image_format(const std::vector<uint8_t>& data);
const char* image_format_name(ImageFormat format);

struct PreparedImage {
  bool ok = false;
  std::string problem;         // why the image is skipped, when !ok
  std::vector<uint8_t> bytes;  // what goes into /images, when ok
  bool reencoded = false;      // true when bytes are a PNG made from another format
};

PreparedImage prepare_image(std::vector<uint8_t> data);

}  // namespace pic::prep
