#pragma once
// The pixels the crops of one image need, decoded as cheaply as they allow.
//
// For a JPEG (jpeg_region.h): the crops' random rectangles are drawn from the header's size
// first, then only the union of the rectangles is decoded, at the largest DCT reduction
// (1/8, 1/4, 1/2) that still leaves every rectangle at least its output side in both
// directions, so the final resize still shrinks (or keeps) and loses no detail the full
// decode would have given it. The rectangles are mapped into the decoded pixels, rounded to
// whole scaled pixels (at most scale/2 source pixels per edge). Anything else (PNG, CMYK,
// the val preset) is decoded in full and the rectangles are drawn from its size, exactly as
// Augmenter::augment_crop does. The random decisions are the same either way: the
// distributions of crop scale, aspect ratio, flip and colour draws do not change.
#include <opencv2/core.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "data/augment.h"
#include "data/image_decoder.h"

namespace pic {

struct CropSource {
  cv::Mat bgr;                     // decoded pixels (maybe a region, maybe reduced)
  std::vector<CropParams> params;  // one per crop, rects in bgr's coordinates
  int scale = 1;                   // 1, 2, 4 or 8
  bool region = false;             // true when only part of a JPEG was decoded
};

// keys[c]: the random key of crop c (augment_key). `full_decoder` handles what the JPEG path
// does not; with `decode_regions` false every image goes through it (the reference path).
CropSource decode_for_crops(const uint8_t* data, size_t size, const Augmenter& augmenter,
                            const std::vector<uint64_t>& keys, const ImageDecoder& full_decoder,
                            bool decode_regions = true);

// The DCT reduction for crops `rects` with output sides `sizes`: the largest of 8, 4, 2 that
// leaves every rect at least its side in both directions, else 1.
int reduced_scale_for(const std::vector<CropRect>& rects, const std::vector<int64_t>& sizes);

}  // namespace pic
