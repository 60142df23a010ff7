#pragma once
// The conversion itself: shuffle the source's items once with the seed, then convert them in
// rounds. In each round every rank of the communicator reads and checks its own consecutive
// share of the next images of the shuffled order on a few threads and hands the good ones to
// the collective writer, which stores them in the one file in shuffled order; the next
// round is read while one is written. Problems are
// reported one line each by the rank that met them ("skipped NAME: reason") and summed up at
// the end; rank 0 prints progress and the summary. Without mpirun the job is one rank.
#include <mpi.h>

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
  int threads = 2;              // decode/verify threads per rank
  double progress_seconds = 5;  // interval between progress lines
  // Keep only the first max_images of the shuffled order (0: all): a uniformly random
  // subset, e.g. for a short demonstration run. Skipped images are not replaced.
  int64_t max_images = 0;
  // Images each rank reads and checks per round: bounds the memory held in encoded images
  // (per rank: the round being read, the one being checked, and what waits to be written,
  // at most 4 rounds or about 64 MiB; see dataset_writer.cpp).
  int round_images = 256;
  ShrinkPolicy shrink;  // --max-side, --jpeg-quality
};

// Totals over all ranks (the same on every rank).
struct ConvertSummary {
  int64_t candidates = 0;  // items the source listed
  int64_t written = 0;
  int64_t skipped = 0;
  int64_t reencoded = 0;  // BMP/PPM/TIFF... stored as PNG
  int64_t shrunk = 0;     // stored smaller as JPEG (--max-side)
  int64_t damaged = 0;    // kept with libjpeg's corrupt-data warnings (named in the log)
  uint64_t bytes = 0;     // size of /images
  double seconds = 0;     // rank 0's wall time
};

// Collective over `comm`; every rank passes the same source (listed alike) and options.
// Throws CollectiveError on every rank when the conversion fails as a whole (--strict after
// any problem, no usable image); the output file then does not exist. Any other exception
// is this rank's own failure: its temporary file is removed and the caller must end the job.
// Every rank writes its own image lines to `log`; rank 0 also its progress lines.
ConvertSummary convert_to_dataset(const ImageSource& source, const ConvertOptions& options,
                                  MPI_Comm comm, std::ostream& log);

}  // namespace pic::prep
