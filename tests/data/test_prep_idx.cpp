// pic-prep on IDX input: the first 200 real Fashion-MNIST test images round-trip exactly.
#include <catch2/catch.hpp>
#include <numeric>
#include <opencv2/imgcodecs.hpp>

#include "core/counter_rng.h"
#include "data/dataset_format.h"
#include "data/dataset_reader.h"
#include "data/hdf5_attributes.h"
#include "prep_test_support.h"

namespace {

using namespace pic;
using namespace pic::test;

std::string write_class_names(const TempDir& dir) {
  std::ofstream out(dir / "classes.txt");
  for (const char* name : kFashionClassNames) out << name << "\n";
  return dir / "classes.txt";
}

std::vector<std::string> source_names_of(const std::string& path) {
  H5Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, "open " + path);
  return h5_read_fixed_strings(file.get(), dataset_format::kSourceNames, path);
}

TEST_CASE(
    "pic-prep idx: decoded pixels and labels equal the IDX files, order is the recorded "
    "shuffle",
    "[prep][idx]") {
  TempDir dir;
  const uint32_t count = 200;
  IdxSubset subset = make_idx_subset(dir, "t10k", count);
  const std::string out = dir / "fm.h5";
  PrepRun run = run_prep("--input-format idx --input " + subset.images_path + " --labels " +
                             subset.labels_path + " --class-names " + write_class_names(dir) +
                             " --seed 11 --output " + out,
                         dir);
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  CHECK_THAT(run.output, Catch::Contains("skipped 0 of 200"));

  DatasetInfo info = read_dataset_info(out);
  CHECK(info.num_images == count);
  CHECK(info.num_classes == 10);
  CHECK(info.class_names[0] == "T-shirt/top");
  CHECK(info.class_names[9] == "Ankle boot");
  CHECK(info.shuffle_seed == 11);
  CHECK(info.format_version == 1);
  CHECK(info.source_kind == "idx");

  ensure_mpi();
  DatasetShard all = read_dataset_shard(out, MPI_COMM_SELF);
  REQUIRE(all.size() == count);
  std::vector<std::string> names = source_names_of(out);

  // The stored order is the documented permutation of the IDX order.
  std::vector<size_t> expected_order(count);
  std::iota(expected_order.begin(), expected_order.end(), size_t{0});
  shuffle_with_key(expected_order.begin(), expected_order.end(),
                   hash_key({11, dataset_format::kShuffleDomain}));
  size_t moved = 0;
  for (int64_t i = 0; i < all.size(); ++i) {
    const size_t source_index = expected_order[i];
    moved += source_index != static_cast<size_t>(i) ? 1 : 0;
    REQUIRE(names[i] == "images.idx:" + std::to_string(source_index));
    CHECK(all.labels[i] == subset.labels[source_index]);

    // Lossless PNG: every pixel equal.
    std::vector<uint8_t> encoded(all.image_data(i), all.image_data(i) + all.image_size(i));
    REQUIRE(encoded[0] == 0x89);
    cv::Mat decoded = cv::imdecode(encoded, cv::IMREAD_UNCHANGED);
    REQUIRE(decoded.type() == CV_8UC1);
    REQUIRE(decoded.rows == 28);
    REQUIRE(decoded.cols == 28);
    REQUIRE(
        std::equal(decoded.datastart, decoded.dataend, subset.pixels.begin() + source_index * 784));
  }
  CHECK(moved > count * 9 / 10);

  // Reading in tiny transfers gives the same shard (the < 1 GiB splitting path).
  DatasetShard pieces = read_dataset_shard(out, MPI_COMM_SELF, 1000);
  CHECK(pieces.bytes == all.bytes);
  CHECK(pieces.offsets == all.offsets);
  CHECK(pieces.labels == all.labels);
}

TEST_CASE("pic-prep idx: the file opens with h5py and h5ls, and reads as documented",
          "[prep][idx]") {
  TempDir dir;
  IdxSubset subset = make_idx_subset(dir, "train", 50);
  const std::string out = dir / "fm.h5";
  PrepRun run = run_prep("--input-format idx --input " + subset.images_path + " --labels " +
                             subset.labels_path + " --class-names " + write_class_names(dir) +
                             " --output " + out,
                         dir);
  INFO(run.output);
  REQUIRE(run.exit_code == 0);

  // docs/dataset-format.md's Python recipe, checked against the IDX pixels.
  std::ofstream script(dir / "check.py");
  script << "import h5py, io, sys, numpy as np\n"
            "from PIL import Image\n"
            "f = h5py.File(sys.argv[1], 'r')\n"
            "assert f.attrs['format'] == b'pic-dataset', f.attrs['format']\n"
            "assert f.attrs['format_version'] == 1\n"
            "n = int(f.attrs['num_images']); assert n == 50\n"
            "raw = open(sys.argv[2], 'rb').read()[16:]\n"
            "off = f['offsets'][:]\n"
            "for i in range(n):\n"
            "    img = np.array(Image.open(io.BytesIO(f['images'][off[i]:off[i + 1]].tobytes())))\n"
            "    k = int(f['source_names'][i].decode().split(':')[1])\n"
            "    want = np.frombuffer(raw[k * 784:(k + 1) * 784], np.uint8).reshape(28, 28)\n"
            "    assert (img == want).all(), i\n"
            "assert f['class_names'][f['labels'][0]].decode() in sys.argv[3:]\n"
            "print('h5py OK')\n";
  script.close();
  std::string classes;
  for (const char* name : kFashionClassNames) classes += " '" + std::string(name) + "'";
  std::string command = "/usr/bin/python3 " + (dir / "check.py") + " " + out + " " +
                        subset.images_path + classes + " > " + (dir / "py.log") + " 2>&1";
  int status = std::system(command.c_str());
  std::ifstream log(dir / "py.log");
  std::string py_output((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  INFO(py_output);
  CHECK(status == 0);
  CHECK_THAT(py_output, Catch::Contains("h5py OK"));

  std::string h5ls = "h5ls " + out + " > " + (dir / "h5ls.log") + " 2>&1";
  CHECK(std::system(h5ls.c_str()) == 0);
}

TEST_CASE("pic-prep idx: mismatched label count and a short class list are clear errors",
          "[prep][idx]") {
  TempDir dir;
  IdxSubset subset = make_idx_subset(dir, "t10k", 20);
  std::vector<uint8_t> labels = gunzip_file(subset.labels_path);
  labels[7] = 19;  // header says 19 labels, 20 follow
  write_gzip(dir / "bad-labels.gz", labels);
  PrepRun run = run_prep("--input-format idx --input " + subset.images_path + " --labels " +
                             (dir / "bad-labels.gz") + " --output " + (dir / "x.h5"),
                         dir);
  CHECK(run.exit_code != 0);
  CHECK_THAT(run.output, Catch::Contains("bad-labels.gz"));
  CHECK_FALSE(std::filesystem::exists(dir / "x.h5"));

  std::ofstream(dir / "three.txt") << "a\nb\nc\n";
  run = run_prep("--input-format idx --input " + subset.images_path + " --labels " +
                     subset.labels_path + " --class-names " + (dir / "three.txt") + " --output " +
                     (dir / "x.h5"),
                 dir);
  CHECK(run.exit_code != 0);
  CHECK_THAT(run.output, Catch::Contains("has 3 class names"));
}

TEST_CASE("pic-prep interrupted by SIGTERM or SIGHUP leaves no file behind", "[prep][idx]") {
  TempDir dir;
  const std::string fm = "/usr/share/datasets/fashion-mnist/";
  for (const char* signal_name : {"TERM", "HUP"}) {
    // The whole train split on one thread takes seconds; the signal is sent once the
    // temporary file exists, so it lands mid-conversion.
    const std::string command =
        "cd " + dir.path().string() + " && { " + PIC_PREP_EXE +
        " --input-format idx --input " + fm + "train-images-idx3-ubyte.gz --labels " + fm +
        "train-labels-idx1-ubyte.gz --threads 1 --output out.h5 > log.txt 2>&1 & pid=$!; "
        "for i in $(seq 200); do ls out.h5.tmp-* >/dev/null 2>&1 && break; sleep 0.05; done; "
        "kill -" + signal_name + " $pid; wait $pid; echo $? > status.txt; }";
    REQUIRE(std::system(("bash -c '" + command + "'").c_str()) == 0);
    std::ifstream status_file(dir / "status.txt");
    int status = 0;
    status_file >> status;
    INFO("signal " << signal_name << ", exit status " << status);
    CHECK(status > 128);  // killed by the signal, not finished
    CHECK_FALSE(std::filesystem::exists(dir / "out.h5"));
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
      CHECK(entry.path().filename().string().find(".tmp-") == std::string::npos);
    }
  }
}

}  // namespace
