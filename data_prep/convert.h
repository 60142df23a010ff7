#pragma once
// The conversion itself: shuffle the source's items once with the seed, check/encode them on
// a few threads, and stream the good ones into the dataset file in shuffled order. Problems
// are reported one line each ("skipped NAME: reason") and summarised at the end.
#include <cstdint>
#include <ostream>
#include <string>

#include "image_check.h"

#include "image_source.h"

namespace pic::prep {

struct ConvertOptions {
  std::string output;           // final path of the .h5 file
  std::string source;           // input path as given, recorded in the file
  std::string created_by;       // recorded in the file
  uint64_t seed = 0;            // shuffle seed, recorded in the file
  bool strict = false;          // any problem fails the conversion, no output is written
  int threads = 2;              // decode/verify threads
  double progress_seconds = 5;  // interval between progress lines
  // Keep only the first max_images of the shuffled order (0: all): a uniformly random
  // subset, e.g. for a short demonstration run. Skipped images are not replaced.
  int64_t max_images = 0;
  ShrinkPolicy shrink;  // --max-side, --jpeg-quality
};

struct ConvertSummary {
  int64_t candidates = 0;  // items the source listed
  int64_t written = 0;
  int64_t skipped = 0;
  int64_t reencoded = 0;  // BMP/PPM/TIFF... stored as PNG
  int64_t shrunk = 0;     // stored smaller as JPEG (--max-side)
  int64_t damaged = 0;    // kept with libjpeg's corrupt-data warnings (named in the log)
  uint64_t bytes = 0;     // size of /images
  double seconds = 0;
};

// Throws std::runtime_error when the conversion fails (in --strict mode: after any problem);
// the output file then does not exist.
ConvertSummary convert_to_dataset(const ImageSource& source, const ConvertOptions& options,
                                  std::ostream& log);

}  // namespace pic::prep
