// read_dataset_info / read_dataset_shard refuse files that are not valid pic datasets, with
// messages that name the file and the problem.
#include <catch2/catch.hpp>

#include "data/dataset_format.h"
#include "data/dataset_reader.h"
#include "data/hdf5_attributes.h"
#include "prep_test_support.h"

namespace {

using namespace pic;
using namespace pic::test;

std::string convert_subset(const TempDir& dir, uint32_t count) {
  IdxSubset subset = make_idx_subset(dir, "t10k", count);
  const std::string out = dir / "good.h5";
  PrepRun run = run_prep("--input-format idx --input " + subset.images_path + " --labels " +
                             subset.labels_path + " --output " + out,
                         dir);
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  return out;
}

// Copies `good` to `name` and lets `edit` change the copy through the HDF5 C API.
template <typename Edit>
std::string edited_copy(const TempDir& dir, const std::string& good, const std::string& name,
                        Edit edit) {
  const std::string path = dir / name;
  std::filesystem::copy_file(good, path);
  H5Id file(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose, "open " + path);
  edit(file.get());
  return path;
}

TEST_CASE("read_dataset_info rejects missing, foreign and newer files by name",
          "[dataset_reader]") {
  TempDir dir;
  const std::string good = convert_subset(dir, 30);
  CHECK(read_dataset_info(good).num_images == 30);

  CHECK_THROWS_WITH(read_dataset_info(dir / "nope.h5"),
                    Catch::Contains("nope.h5") && Catch::Contains("no such dataset file"));
  std::ofstream(dir / "text.h5") << "hello";
  CHECK_THROWS_WITH(read_dataset_info(dir / "text.h5"),
                    Catch::Contains("text.h5") && Catch::Contains("not an HDF5 file"));

  const std::string other = edited_copy(dir, good, "other.h5", [](hid_t f) {
    H5Adelete(f, dataset_format::kAttrFormat);
    h5_write_string_attribute(f, dataset_format::kAttrFormat, "something-else", "other.h5");
  });
  CHECK_THROWS_WITH(read_dataset_info(other), Catch::Contains("other.h5") &&
                                                  Catch::Contains("not a pic dataset") &&
                                                  Catch::Contains("something-else"));

  const std::string newer = edited_copy(dir, good, "newer.h5", [](hid_t f) {
    int32_t version = 2;
    H5Id attr(H5Aopen(f, dataset_format::kAttrFormatVersion, H5P_DEFAULT), H5Aclose,
              "open an attribute");
    H5Awrite(attr.get(), H5T_NATIVE_INT32, &version);
  });
  CHECK_THROWS_WITH(read_dataset_info(newer),
                    Catch::Contains("newer.h5") && Catch::Contains("format_version 2"));

  const std::string short_count = edited_copy(dir, good, "count.h5", [](hid_t f) {
    int64_t n = 31;
    H5Id attr(H5Aopen(f, dataset_format::kAttrNumImages, H5P_DEFAULT), H5Aclose,
              "open an attribute");
    H5Awrite(attr.get(), H5T_NATIVE_INT64, &n);
  });
  CHECK_THROWS_WITH(read_dataset_info(short_count),
                    Catch::Contains("'/offsets' has 31 elements, expected 32"));
}

TEST_CASE("read_dataset_shard rejects offsets that go backwards and labels out of range",
          "[dataset_reader]") {
  TempDir dir;
  const std::string good = convert_subset(dir, 30);
  ensure_mpi();

  const std::string backwards = edited_copy(dir, good, "backwards.h5", [](hid_t f) {
    H5Id dset(H5Dopen2(f, dataset_format::kOffsets, H5P_DEFAULT), H5Dclose, "open a dataset");
    std::vector<uint64_t> offsets(31);
    H5Dread(dset.get(), H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, offsets.data());
    offsets[10] = offsets[12];
    H5Dwrite(dset.get(), H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, offsets.data());
  });
  CHECK_THROWS_WITH(read_dataset_shard(backwards, MPI_COMM_SELF),
                    Catch::Contains("rank 0") && Catch::Contains("backwards.h5") &&
                        Catch::Contains("offsets not increasing at image 10"));

  const std::string bad_label = edited_copy(dir, good, "label.h5", [](hid_t f) {
    H5Id dset(H5Dopen2(f, dataset_format::kLabels, H5P_DEFAULT), H5Dclose, "open a dataset");
    std::vector<int32_t> labels(30);
    H5Dread(dset.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels.data());
    labels[5] = 10;
    H5Dwrite(dset.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels.data());
  });
  CHECK_THROWS_WITH(read_dataset_shard(bad_label, MPI_COMM_SELF),
                    Catch::Contains("label 10 of image 5 is outside [0, 10)"));
}

}  // namespace
