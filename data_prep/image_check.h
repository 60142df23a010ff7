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
  bool shrunk = false;         // true when bytes are a JPEG made smaller (ShrinkPolicy)
  std::string warning;         // a JPEG that decodes with libjpeg's corrupt-data warnings
};

// --max-side: an image whose longer side exceeds max_side is resized (area interpolation) to
// that longer side and stored as a JPEG of this quality, as fast ImageNet loaders pre-shrink
// their data: fewer bytes to store and read, fewer pixels to decode. 0: keep every size.
struct ShrinkPolicy {
  int max_side = 0;
  int jpeg_quality = 90;
};

PreparedImage prepare_image(std::vector<uint8_t> data, const ShrinkPolicy& shrink = {});

}  // namespace pic::prep
