#include "dataset_writer.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "data/dataset_format.h"
#include "data/hdf5_attributes.h"
#include "interrupt_cleanup.h"

namespace pic::prep {
namespace {

namespace fmt = dataset_format;

constexpr size_t kFlushBytes = size_t{32} << 20;  // pending image bytes before a write

template <typename T>
void append_value(std::vector<char>& pending, T value) {
  const char* raw = reinterpret_cast<const char*>(&value);
  pending.insert(pending.end(), raw, raw + sizeof(T));
}

}  // namespace

DatasetWriter::DatasetWriter(std::string output_path, DatasetMetadata metadata)
    : output_path_(std::move(output_path)), metadata_(std::move(metadata)) {
  temporary_path_ = output_path_ + ".tmp-" + std::to_string(::getpid());
  remove_on_interrupt(temporary_path_);
  file_ = h5_file(H5Fcreate(temporary_path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                  "create the output file " + temporary_path_);
  string_type_ = h5_fixed_string_type(std::max<size_t>(1, metadata_.max_source_name_length));

  // Large chunks for the bytes (one read per chunk), but no larger than the data needs:
  // an uncompressed chunk takes its full size on disk even when partly used, so at most an
  // eighth of the estimated total is wasted in the last one.
  const uint64_t image_chunk = std::clamp<uint64_t>(metadata_.expected_total_bytes / 8,
                                                    uint64_t{64} << 10, uint64_t{8} << 20);
  const uint64_t row_chunk =
      std::clamp<uint64_t>(static_cast<uint64_t>(metadata_.expected_images) + 1, 1, 1 << 18);
  const size_t name_width = H5Tget_size(string_type_.get());
  const uint64_t name_chunk = std::clamp<uint64_t>(
      std::min<uint64_t>(row_chunk, (uint64_t{4} << 20) / name_width), 1, 1 << 18);

  images_ = create(fmt::kImages, H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, image_chunk, false);
  offsets_ = create(fmt::kOffsets, H5T_STD_U64LE, H5T_NATIVE_UINT64, 8, row_chunk, false);
  labels_ = create(fmt::kLabels, H5T_STD_I32LE, H5T_NATIVE_INT32, 4, row_chunk, false);
  // Names are NUL-padded to the longest one: compress them (no parallel reader needs them).
  source_names_ = create(fmt::kSourceNames, string_type_.get(), string_type_.get(), name_width,
                         name_chunk, true);
  append_value<uint64_t>(offsets_.pending, 0);
}

DatasetWriter::~DatasetWriter() {
  if (finished_) return;
  // Unfinished: close and remove the temporary file, never leave a partial dataset behind.
  images_ = Appendable();
  offsets_ = Appendable();
  labels_ = Appendable();
  source_names_ = Appendable();
  file_ = H5Id();
  std::error_code ec;
  std::filesystem::remove(temporary_path_, ec);
  forget_on_interrupt();
}

DatasetWriter::Appendable DatasetWriter::create(const char* name, hid_t file_type,
                                                hid_t memory_type, size_t element_size,
                                                uint64_t chunk_elements, bool compress) {
  hsize_t initial[1] = {0};
  hsize_t unlimited[1] = {H5S_UNLIMITED};
  hsize_t chunk[1] = {chunk_elements};
  const std::string what = std::string("dataset '") + name + "' in " + temporary_path_;
  H5Id space = h5_space(H5Screate_simple(1, initial, unlimited), "create the space of " + what);
  H5Id properties = h5_plist(H5Pcreate(H5P_DATASET_CREATE), "create the properties of " + what);
  h5_check(H5Pset_chunk(properties, 1, chunk), "set the chunk size of " + what);
  if (compress && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) {
    h5_check(H5Pset_deflate(properties, 4), "compress " + what);
  }
  Appendable column;
  column.dataset =
      h5_dataset(H5Dcreate2(file_, name, file_type, space, H5P_DEFAULT, properties, H5P_DEFAULT),
                 "create " + what);
  column.type = memory_type;
  column.element_size = element_size;
  return column;
}

void DatasetWriter::append(const std::vector<uint8_t>& encoded, int32_t label,
                           const std::string& source_name) {
  if (encoded.empty()) throw std::logic_error("DatasetWriter::append: empty image");
  images_.pending.insert(images_.pending.end(), encoded.begin(), encoded.end());
  num_bytes_ += encoded.size();
  ++num_images_;
  append_value<uint64_t>(offsets_.pending, num_bytes_);
  append_value<int32_t>(labels_.pending, label);
  // Fixed-width name, NUL-padded (names longer than the width were measured beforehand).
  const size_t width = source_names_.element_size;
  const size_t at = source_names_.pending.size();
  source_names_.pending.resize(at + width, '\0');
  std::memcpy(source_names_.pending.data() + at, source_name.data(),
              std::min(width, source_name.size()));

  if (images_.pending.size() >= kFlushBytes || labels_.pending.size() >= (size_t{1} << 20)) {
    flush_all();
  }
}

void DatasetWriter::flush(Appendable& column) {
  const uint64_t count = column.pending.size() / column.element_size;
  if (count == 0) return;
  hsize_t new_size[1] = {column.length + count};
  h5_check(H5Dset_extent(column.dataset, new_size), "extend a dataset in " + temporary_path_);
  H5Id file_space = h5_space(H5Dget_space(column.dataset), "get a dataspace in " + temporary_path_);
  hsize_t start[1] = {column.length};
  hsize_t piece[1] = {count};
  h5_check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, piece, nullptr),
           "select the new elements in " + temporary_path_);
  H5Id memory_space =
      h5_space(H5Screate_simple(1, piece, nullptr), "create a memory space for " + temporary_path_);
  h5_check(H5Dwrite(column.dataset, column.type, memory_space, file_space, H5P_DEFAULT,
                    column.pending.data()),
           "write " + temporary_path_ + " (disk full?)");
  column.length += count;
  column.pending.clear();
}

void DatasetWriter::flush_all() {
  flush(images_);
  flush(offsets_);
  flush(labels_);
  flush(source_names_);
}

void DatasetWriter::finish() {
  flush_all();

  // Class names and the attributes that make the file a pic dataset.
  const std::vector<std::string>& names = metadata_.class_names;
  size_t width = 1;
  for (const std::string& name : names) width = std::max(width, name.size());
  H5Id name_type = h5_fixed_string_type(width);
  std::vector<char> packed(names.size() * width, '\0');
  for (size_t c = 0; c < names.size(); ++c) {
    std::memcpy(packed.data() + c * width, names[c].data(), names[c].size());
  }
  hsize_t dims[1] = {names.size()};
  H5Id space = h5_space(H5Screate_simple(1, dims, nullptr),
                        "create the space of /class_names in " + temporary_path_);
  H5Id dataset = h5_dataset(
      H5Dcreate2(file_, fmt::kClassNames, name_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      "create /class_names in " + temporary_path_);
  h5_check(H5Dwrite(dataset, name_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, packed.data()),
           "write /class_names in " + temporary_path_);
  dataset.close("close /class_names in " + temporary_path_);

  const hid_t root = file_.get();
  h5_write_string_attribute(root, fmt::kAttrFormat, fmt::kFormatName, temporary_path_);
  h5_write_scalar_attribute<int32_t>(root, fmt::kAttrFormatVersion, fmt::kFormatVersion,
                                     temporary_path_);
  h5_write_scalar_attribute<int64_t>(root, fmt::kAttrNumImages, num_images_, temporary_path_);
  h5_write_scalar_attribute<int64_t>(root, fmt::kAttrNumClasses, static_cast<int64_t>(names.size()),
                                     temporary_path_);
  h5_write_scalar_attribute<uint64_t>(root, fmt::kAttrShuffleSeed, metadata_.shuffle_seed,
                                      temporary_path_);
  h5_write_string_attribute(root, fmt::kAttrSourceKind, metadata_.source_kind, temporary_path_);
  h5_write_string_attribute(root, fmt::kAttrSource, metadata_.source, temporary_path_);
  h5_write_string_attribute(root, fmt::kAttrCreatedBy, metadata_.created_by, temporary_path_);

  // Close everything, then publish under the final name in one rename.
  images_ = Appendable();
  offsets_ = Appendable();
  labels_ = Appendable();
  source_names_ = Appendable();
  file_.close("close the output file " + temporary_path_);
  std::error_code ec;
  std::filesystem::rename(temporary_path_, output_path_, ec);
  if (ec) {
    throw std::runtime_error(temporary_path_ + ": cannot rename to " + output_path_ + ": " +
                             ec.message());
  }
  forget_on_interrupt();
  finished_ = true;
}

}  // namespace pic::prep
