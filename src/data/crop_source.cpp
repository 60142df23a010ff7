#include "data/crop_source.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <stdexcept>

#include "data/jpeg_region.h"

namespace pic {
namespace {

// Source-pixel coordinate -> nearest whole scaled pixel.
int to_scaled(int source, int scale) {
  return static_cast<int>(std::lround(static_cast<double>(source) / scale));
}

}  // namespace

int reduced_scale_for(const std::vector<CropRect>& rects, const std::vector<int64_t>& sizes) {
  for (int scale : {8, 4, 2}) {
    bool enough = true;
    for (size_t c = 0; c < rects.size() && enough; ++c) {
      enough = rects[c].width / scale >= sizes[c] && rects[c].height / scale >= sizes[c];
    }
    if (enough) return scale;
  }
  return 1;
}

CropSource decode_for_crops(const uint8_t* data, size_t size, const Augmenter& augmenter,
                            const std::vector<uint64_t>& keys, const ImageDecoder& full_decoder,
                            bool decode_regions) {
  const size_t crops = augmenter.crops().size();
  if (keys.size() != crops) throw std::invalid_argument("decode_for_crops: one key per crop");
  CropSource source;
  const std::optional<JpegInfo> jpeg =
      decode_regions && !augmenter.steps().val ? read_jpeg_info(data, size) : std::nullopt;
  if (!jpeg) {
    source.bgr = full_decoder.decode(data, size);
    if (!augmenter.steps().val) {
      for (size_t c = 0; c < crops; ++c) {
        source.params.push_back(augmenter.crop_params(static_cast<int64_t>(c), source.bgr.rows,
                                                      source.bgr.cols, keys[c]));
      }
    }
    return source;
  }

  std::vector<CropRect> rects;
  std::vector<int64_t> sides;
  for (size_t c = 0; c < crops; ++c) {
    source.params.push_back(
        augmenter.crop_params(static_cast<int64_t>(c), jpeg->height, jpeg->width, keys[c]));
    rects.push_back(source.params.back().rect);
    sides.push_back(augmenter.crops()[c].size);
  }
  int left = jpeg->width, top = jpeg->height, right = 0, bottom = 0;
  for (const CropRect& r : rects) {
    left = std::min(left, r.x);
    top = std::min(top, r.y);
    right = std::max(right, r.x + r.width);
    bottom = std::max(bottom, r.y + r.height);
  }
  const int scale = reduced_scale_for(rects, sides);
  // Tiny images are decoded whole: a break test found narrow crops of images under ~40 px
  // with subsampled chroma whose region decode differed from the full one (up to 55 levels),
  // and decoding all of a small image costs nothing.
  constexpr int kWholeBelow = 64;
  if (jpeg->width / scale < kWholeBelow || jpeg->height / scale < kWholeBelow) {
    left = 0;
    top = 0;
    right = jpeg->width;
    bottom = jpeg->height;
  }
  DecodedRegion region =
      decode_jpeg_region(data, size, left, top, right - left, bottom - top, scale);
  source.scale = scale;
  source.region = true;
  for (CropParams& p : source.params) {
    const CropRect& r = p.rect;
    const int x1 = std::clamp(to_scaled(r.x, scale) - region.x0, 0, region.bgr.cols - 1);
    const int y1 = std::clamp(to_scaled(r.y, scale) - region.y0, 0, region.bgr.rows - 1);
    const int x2 = std::clamp(to_scaled(r.x + r.width, scale) - region.x0, x1 + 1, region.bgr.cols);
    const int y2 =
        std::clamp(to_scaled(r.y + r.height, scale) - region.y0, y1 + 1, region.bgr.rows);
    p.rect = CropRect{x1, y1, x2 - x1, y2 - y1};
  }
  source.bgr = std::move(region.bgr);
  return source;
}

}  // namespace pic
