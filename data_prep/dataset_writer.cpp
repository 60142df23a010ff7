#include "dataset_writer.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "collective_failure.h"
#include "comm/mpi_job.h"
#include "data/dataset_format.h"
#include "data/hdf5_attributes.h"
#include "interrupt_cleanup.h"

namespace pic::prep {
namespace {

namespace fmt = dataset_format;

// Compressed chunks of /source_names are rewritten whole whenever a flush adds names to
// them, so they stay small: a flush costs at most one such chunk, not a growing one.
constexpr uint64_t kNameChunkBytes = uint64_t{64} << 10;

// Rounds between writes: fewer collective calls (each one waits for the slowest rank) ...
constexpr int kRoundsPerFlush = 4;
// ... but no more held than this many image bytes per rank on average.
constexpr uint64_t kFlushBytesPerRank = uint64_t{64} << 20;

template <typename T>
void append_value(std::vector<char>& pending, T value) {
  const char* raw = reinterpret_cast<const char*>(&value);
  pending.insert(pending.end(), raw, raw + sizeof(T));
}

}  // namespace

DatasetWriter::DatasetWriter(MPI_Comm comm, std::string output_path, DatasetMetadata metadata)
    : comm_(comm), output_path_(std::move(output_path)), metadata_(std::move(metadata)) {
  MPI_Comm_rank(comm_, &rank_);
  // One temporary name on every rank: rank 0's process id.
  int64_t pid = ::getpid();
  check_mpi(MPI_Bcast(&pid, 1, MPI_INT64_T, 0, comm_), "MPI_Bcast", rank_);
  temporary_path_ = output_path_ + ".tmp-" + std::to_string(pid);
  remove_on_interrupt(temporary_path_);

  open_ = std::make_unique<OpenFile>();
  try {
    // Creating the file fails on every rank or none (an unwritable folder): say it once.
    std::string create_error;
    try {
      H5Id access = h5_plist(H5Pcreate(H5P_FILE_ACCESS), "create a file access property list");
      h5_check(H5Pset_fapl_mpio(access, comm_, MPI_INFO_NULL), "use the MPI-IO driver");
      open_->file = h5_file(H5Fcreate(temporary_path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access),
                            "create the output file " + temporary_path_);
    } catch (const std::exception& e) {
      create_error = e.what();
    }
    agree_on_failure(comm_, create_error);

    open_->name_type = h5_fixed_string_type(std::max<size_t>(1, metadata_.max_source_name_length));
    // Large chunks for the bytes (one read per chunk), but no larger than the data needs:
    // an uncompressed chunk takes its full size on disk even when partly used, so at most an
    // eighth of the estimated total is wasted in the last one.
    const uint64_t image_chunk = std::clamp<uint64_t>(metadata_.expected_total_bytes / 8,
                                                      uint64_t{64} << 10, uint64_t{8} << 20);
    const uint64_t row_chunk =
        std::clamp<uint64_t>(static_cast<uint64_t>(metadata_.expected_images) + 1, 1, 1 << 18);
    const size_t name_width = H5Tget_size(open_->name_type.get());
    const uint64_t name_chunk = std::clamp<uint64_t>(
        std::min<uint64_t>(row_chunk, kNameChunkBytes / name_width), 1, 1 << 18);

    open_->images =
        create_column(fmt::kImages, H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, image_chunk, false);
    open_->offsets =
        create_column(fmt::kOffsets, H5T_STD_U64LE, H5T_NATIVE_UINT64, 8, row_chunk, false);
    open_->labels =
        create_column(fmt::kLabels, H5T_STD_I32LE, H5T_NATIVE_INT32, 4, row_chunk, false);
    // Names are NUL-padded to the longest one: compress them (no parallel reader needs them).
    // Parallel HDF5 compresses only in collective writes, which is how every write is made.
    open_->source_names = create_column(fmt::kSourceNames, open_->name_type.get(),
                                        open_->name_type.get(), name_width, name_chunk, true);

    // offsets[0] = 0, from rank 0 with its first rows.
    if (rank_ == 0) {
      append_value<uint64_t>(open_->offsets.pending, 0);
      append_block(open_->offsets.blocks, 0, 1);
    }
  } catch (...) {
    // The destructor does not run for a half-built writer: the same cleanup as there.
    (void)open_.release();  // NOLINT(bugprone-unused-return-value): leaked on purpose
    remove_temporary_file();
    throw;
  }
}

DatasetWriter::~DatasetWriter() {
  if (finished_ || abandoned_) return;
  // This rank failed on its own: closing HDF5 objects is collective and would wait for ranks
  // that are not closing. Leave them open (the job is about to be aborted) and remove the
  // temporary file, so nothing half-written stays behind.
  (void)open_.release();  // NOLINT(bugprone-unused-return-value): leaked on purpose
  remove_temporary_file();
}

DatasetWriter::Column DatasetWriter::create_column(const char* name, hid_t file_type,
                                                   hid_t memory_type, size_t element_size,
                                                   uint64_t chunk_elements, bool compress) {
  hsize_t initial[1] = {0};
  hsize_t unlimited[1] = {H5S_UNLIMITED};
  hsize_t chunk[1] = {chunk_elements};
  Column column;
  column.what = std::string("'") + name + "' in " + temporary_path_;
  H5Id space =
      h5_space(H5Screate_simple(1, initial, unlimited), "create the space of " + column.what);
  H5Id properties =
      h5_plist(H5Pcreate(H5P_DATASET_CREATE), "create the properties of " + column.what);
  h5_check(H5Pset_chunk(properties, 1, chunk), "set the chunk size of " + column.what);
  if (compress && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) {
    h5_check(H5Pset_deflate(properties, 4), "compress " + column.what);
  } else {
    // Parallel HDF5 allocates uncompressed chunks when the dataset grows; every element is
    // written right after, so filling them first would only write the data twice.
    h5_check(H5Pset_fill_time(properties, H5D_FILL_TIME_NEVER),
             "turn off fill values of " + column.what);
  }
  column.dataset = h5_dataset(
      H5Dcreate2(open_->file, name, file_type, space, H5P_DEFAULT, properties, H5P_DEFAULT),
      "create " + column.what);
  column.memory_type = memory_type;
  column.element_size = element_size;
  return column;
}

void DatasetWriter::add_round(std::vector<ImageRow> rows) {
  // Place this rank's rows after those of lower ranks: a prefix sum of [images, bytes].
  uint64_t mine[2] = {rows.size(), 0};
  for (const ImageRow& row : rows) {
    if (row.bytes.empty()) throw std::logic_error("DatasetWriter::add_round: empty image");
    mine[1] += row.bytes.size();
  }
  uint64_t before[2] = {0, 0};
  uint64_t total[2] = {0, 0};
  check_mpi(MPI_Exscan(mine, before, 2, MPI_UINT64_T, MPI_SUM, comm_), "MPI_Exscan", rank_);
  if (rank_ == 0) before[0] = before[1] = 0;  // MPI_Exscan leaves rank 0's result undefined
  check_mpi(MPI_Allreduce(mine, total, 2, MPI_UINT64_T, MPI_SUM, comm_), "MPI_Allreduce", rank_);
  const uint64_t first_row = static_cast<uint64_t>(num_images_) + before[0];
  const uint64_t first_byte = num_bytes_ + before[1];

  // Hold this rank's part of each column, in file order; offsets[i + 1] is where image i ends.
  OpenFile& file = *open_;
  const size_t name_width = file.source_names.element_size;
  uint64_t end = first_byte;
  for (ImageRow& row : rows) {
    file.images.pending.insert(file.images.pending.end(), row.bytes.begin(), row.bytes.end());
    end += row.bytes.size();
    append_value<uint64_t>(file.offsets.pending, end);
    append_value<int32_t>(file.labels.pending, row.label);
    // Fixed-width name, NUL-padded (the width was measured on every name beforehand).
    const size_t at = file.source_names.pending.size();
    file.source_names.pending.resize(at + name_width, '\0');
    std::memcpy(file.source_names.pending.data() + at, row.source_name.data(),
                std::min(name_width, row.source_name.size()));
    row.bytes = std::vector<uint8_t>();  // held once, in the column
  }
  append_block(file.images.blocks, first_byte, mine[1]);
  append_block(file.offsets.blocks, first_row + 1, mine[0]);
  append_block(file.labels.blocks, first_row, mine[0]);
  append_block(file.source_names.blocks, first_row, mine[0]);
  num_images_ += static_cast<int64_t>(total[0]);
  num_bytes_ += total[1];

  // Write every few rounds, or sooner when the ranks hold many bytes (alike on all ranks).
  pending_bytes_ += total[1];
  ++rounds_since_flush_;
  int world = 1;
  MPI_Comm_size(comm_, &world);
  if (rounds_since_flush_ >= kRoundsPerFlush ||
      pending_bytes_ >= kFlushBytesPerRank * static_cast<uint64_t>(world)) {
    flush_all();
  }
}

void DatasetWriter::flush(Column& column, uint64_t length) {
  hsize_t size[1] = {length};
  h5_check(H5Dset_extent(column.dataset, size), "extend " + column.what);
  write_blocks_collectively(column.dataset, column.memory_type, column.element_size, column.blocks,
                            column.pending.data(), comm_, column.what);
  column.pending = std::vector<char>();
  column.blocks.clear();
}

void DatasetWriter::flush_all() {
  OpenFile& file = *open_;
  const auto rows = static_cast<uint64_t>(num_images_);
  flush(file.images, num_bytes_);
  flush(file.offsets, rows + 1);
  flush(file.labels, rows);
  flush(file.source_names, rows);
  rounds_since_flush_ = 0;
  pending_bytes_ = 0;
}

void DatasetWriter::write_class_names() {
  const std::vector<std::string>& names = metadata_.class_names;
  size_t width = 1;
  for (const std::string& name : names) width = std::max(width, name.size());
  H5Id name_type = h5_fixed_string_type(width);
  std::vector<char> packed(names.size() * width, '\0');
  for (size_t c = 0; c < names.size(); ++c) {
    std::memcpy(packed.data() + c * width, names[c].data(), names[c].size());
  }
  const std::string what = std::string("'") + fmt::kClassNames + "' in " + temporary_path_;
  hsize_t dims[1] = {names.size()};
  H5Id space = h5_space(H5Screate_simple(1, dims, nullptr), "create the space of " + what);
  H5Id dataset = h5_dataset(H5Dcreate2(open_->file, fmt::kClassNames, name_type, space, H5P_DEFAULT,
                                       H5P_DEFAULT, H5P_DEFAULT),
                            "create " + what);
  // Every rank holds the names; rank 0 writes them.
  std::vector<FileBlock> blocks;
  if (rank_ == 0) append_block(blocks, 0, names.size());
  write_blocks_collectively(dataset, name_type, width, blocks, packed.data(), comm_, what);
  dataset.close("close " + what);
}

void DatasetWriter::write_attributes() {
  // Attribute writes are collective in parallel HDF5: every rank passes the same values.
  const hid_t root = open_->file.get();
  const std::string& path = temporary_path_;
  h5_write_string_attribute(root, fmt::kAttrFormat, fmt::kFormatName, path);
  h5_write_scalar_attribute<int32_t>(root, fmt::kAttrFormatVersion, fmt::kFormatVersion, path);
  h5_write_scalar_attribute<int64_t>(root, fmt::kAttrNumImages, num_images_, path);
  h5_write_scalar_attribute<int64_t>(root, fmt::kAttrNumClasses,
                                     static_cast<int64_t>(metadata_.class_names.size()), path);
  h5_write_scalar_attribute<uint64_t>(root, fmt::kAttrShuffleSeed, metadata_.shuffle_seed, path);
  h5_write_string_attribute(root, fmt::kAttrSourceKind, metadata_.source_kind, path);
  h5_write_string_attribute(root, fmt::kAttrSource, metadata_.source, path);
  h5_write_string_attribute(root, fmt::kAttrCreatedBy, metadata_.created_by, path);
}

void DatasetWriter::close_file() {
  std::unique_ptr<OpenFile> file = std::move(open_);
  file->images = Column();
  file->offsets = Column();
  file->labels = Column();
  file->source_names = Column();
  file->file.close("close the output file " + temporary_path_);
}

void DatasetWriter::finish() {
  flush_all();
  write_class_names();
  write_attributes();

  // Publish under the final name in one rename, once every rank has closed the file.
  std::string error;
  try {
    close_file();
  } catch (const std::exception& e) {
    error = e.what();
  }
  agree_on_failure(comm_, error);
  if (rank_ == 0) {
    std::error_code ec;
    std::filesystem::rename(temporary_path_, output_path_, ec);
    if (ec) error = temporary_path_ + ": cannot rename to " + output_path_ + ": " + ec.message();
  }
  agree_on_failure(comm_, error);
  forget_on_interrupt();
  finished_ = true;
}

void DatasetWriter::abandon() {
  if (finished_ || abandoned_) return;
  abandoned_ = true;
  // Every rank is here: the collective close is safe. Its errors no longer matter.
  if (open_) {
    try {
      close_file();
    } catch (const std::exception&) {
    }
  }
  remove_temporary_file();
}

void DatasetWriter::remove_temporary_file() {
  std::error_code ec;
  std::filesystem::remove(temporary_path_, ec);  // already gone on another rank's say: fine
  forget_on_interrupt();
}

}  // namespace pic::prep
