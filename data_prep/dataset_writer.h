#pragma once
// Collective writer of the pic dataset file (docs/dataset-format.md) through parallel HDF5:
// every rank of the communicator opens the one file with the MPI-IO driver. The conversion
// runs in rounds; in each round every rank hands over the good images of its own
// consecutive stretch of the dataset order (rank 0's stretch first). A prefix sum of the
// ranks' image and byte counts (MPI_Exscan) places each rank's rows and bytes, and the
// round's totals (MPI_Allreduce) give the new lengths. Every few rounds (kRoundsPerFlush) or
// when the held bytes grow large, the datasets are extended and every rank writes what it
// holds at its offsets in collective calls. Memory holds a few rounds of images, never the
// whole set, and the datasets come out the same whatever the number of ranks.
//
// Nothing half-written: the file is written as OUTPUT.tmp-<pid of rank 0> and rank 0
// renames it to OUTPUT after the collective close in finish(). When the conversion stops:
// - abandon() (collective; all ranks stop together, e.g. a --strict refusal) closes the file
//   and removes it;
// - the destructor of a writer neither finished nor abandoned means that this rank failed on
//   its own: it removes the temporary file without touching HDF5 (closing is collective and
//   would wait forever for ranks that are elsewhere); the caller then ends the job
//   (abort_mpi_job), which is what run_mpi_program does with an escaping exception.
#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "collective_write.h"
#include "data/hdf5_handles.h"

namespace pic::prep {

struct DatasetMetadata {
  std::vector<std::string> class_names;  // [C]
  uint64_t shuffle_seed = 0;
  std::string source_kind;            // "idx", "folder", "zip"
  std::string source;                 // input path as given
  std::string created_by;             // "pic-prep <version>"
  size_t max_source_name_length = 1;  // width of /source_names
  int64_t expected_images = 0;        // sizes chunks only
  uint64_t expected_total_bytes = 0;  // sizes chunks only
};

// One image as it goes into the file.
struct ImageRow {
  std::vector<uint8_t> bytes;  // encoded image, not empty
  int32_t label = 0;
  std::string source_name;
};

class DatasetWriter {
 public:
  // Collective. `metadata` must be the same on every rank.
  DatasetWriter(MPI_Comm comm, std::string output_path, DatasetMetadata metadata);
  ~DatasetWriter();
  DatasetWriter(const DatasetWriter&) = delete;
  DatasetWriter& operator=(const DatasetWriter&) = delete;

  // Collective, once per round on every rank (`rows` may be empty): this rank's images of
  // the round, in dataset order; they follow the rows of lower ranks in the file.
  void add_round(std::vector<ImageRow> rows);
  // Collective: the rest of the rows, class names and attributes, close, rename to the
  // output path (rank 0).
  void finish();
  // Collective: close and remove the temporary file; the writer is unusable afterwards.
  void abandon();

  // Totals over all ranks so far (the same on every rank).
  int64_t num_images() const { return num_images_; }
  uint64_t num_bytes() const { return num_bytes_; }
  const std::string& temporary_path() const { return temporary_path_; }

 private:
  // One growing 1-D dataset and what this rank holds for it until the next flush.
  struct Column {
    H5Id dataset;
    hid_t memory_type = -1;
    size_t element_size = 0;
    std::string what;               // "'/labels' in OUT.tmp-123", for messages
    std::vector<char> pending;      // this rank's elements not yet written, in file order
    std::vector<FileBlock> blocks;  // where they go
  };
  // Everything HDF5 holds open; released without closing when this rank fails alone.
  struct OpenFile {
    H5Id file;
    H5Id name_type;  // fixed-width string type of /source_names
    Column images, offsets, labels, source_names;
  };

  Column create_column(const char* name, hid_t file_type, hid_t memory_type, size_t element_size,
                       uint64_t chunk_elements, bool compress);
  // Collective: extends `column` to `length` elements and writes every rank's pending ones.
  void flush(Column& column, uint64_t length);
  void flush_all();
  void write_class_names();
  void write_attributes();
  void close_file();
  void remove_temporary_file();

  MPI_Comm comm_;
  int rank_ = 0;
  std::string output_path_;
  std::string temporary_path_;
  DatasetMetadata metadata_;
  std::unique_ptr<OpenFile> open_;
  int64_t num_images_ = 0;  // placed so far, all ranks (written or pending)
  uint64_t num_bytes_ = 0;
  int rounds_since_flush_ = 0;
  uint64_t pending_bytes_ = 0;  // image bytes placed since the last flush, all ranks
  bool finished_ = false;
  bool abandoned_ = false;
};

}  // namespace pic::prep
