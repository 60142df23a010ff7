#pragma once
// Serial writer of the pic dataset file (docs/dataset-format.md). Images are streamed into
// extendible chunked datasets as they come, so memory holds only a bounded buffer. The file is
// written as OUTPUT.tmp-<pid> and renamed to OUTPUT by finish(); a writer destroyed before
// finish() removes its temporary file, so OUTPUT appears only when complete.
#include <cstdint>
#include <string>
#include <vector>

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

class DatasetWriter {
 public:
  DatasetWriter(std::string output_path, DatasetMetadata metadata);
  ~DatasetWriter();
  DatasetWriter(const DatasetWriter&) = delete;
  DatasetWriter& operator=(const DatasetWriter&) = delete;

  void append(const std::vector<uint8_t>& encoded, int32_t label, const std::string& source_name);
  // Flushes, writes the counts, closes and renames to the output path.
  void finish();

  int64_t num_images() const { return num_images_; }
  uint64_t num_bytes() const { return num_bytes_; }
  const std::string& temporary_path() const { return temporary_path_; }

 private:
  // One growing 1-D dataset and its not-yet-written tail.
  struct Appendable {
    H5Id dataset;
    H5Id memory_type;  // owned only for strings
    hid_t type = -1;   // memory element type
    size_t element_size = 0;
    uint64_t length = 0;  // elements in the file
    std::vector<char> pending;
  };
  Appendable create(const char* name, hid_t file_type, hid_t memory_type, size_t element_size,
                    uint64_t chunk_elements, bool compress);
  void flush(Appendable& column);
  void flush_all();

  std::string output_path_;
  std::string temporary_path_;
  DatasetMetadata metadata_;
  H5Id file_;
  H5Id string_type_;
  Appendable images_, offsets_, labels_, source_names_;
  int64_t num_images_ = 0;
  uint64_t num_bytes_ = 0;
  bool finished_ = false;
};

}  // namespace pic::prep
