// pic-prep on an ImageNet-style folder of real photographs, with broken files among them.
#include <catch2/catch.hpp>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "data/dataset_format.h"
#include "data/dataset_reader.h"
#include "data/hdf5_attributes.h"
#include "prep_test_support.h"

namespace {

using namespace pic;
using namespace pic::test;
namespace fs = std::filesystem;

const std::string kExamples = "/usr/share/doc/opencv-doc/examples";

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

// ROOT/{cats,dogs,misc}: five real JPEGs, a PNG, a BMP, plus an empty .jpg, a truncated JPEG,
// a text file named .jpg and a .txt that is not an image by extension.
struct Tree {
  std::string root;
  std::map<std::string, std::vector<uint8_t>> good;  // relative name -> bytes on disk
};

Tree make_tree(const TempDir& dir) {
  Tree tree;
  tree.root = dir / "train";
  for (const char* c : {"cats", "dogs", "misc"}) fs::create_directories(fs::path(tree.root) / c);
  auto put = [&](const std::string& rel, const std::vector<uint8_t>& data, bool good) {
    write_bytes(tree.root + "/" + rel, data);
    if (good) tree.good[rel] = data;
  };
  const std::vector<uint8_t> plant = read_bytes(kExamples + "/alphamat/input_images/plant.jpg");
  REQUIRE(plant.size() > 1000);
  put("cats/plant.jpg", plant, true);
  put("cats/scene01.JPG", read_bytes(kExamples + "/text/scenetext01.jpg"), true);
  put("cats/scene03.jpeg", read_bytes(kExamples + "/text/scenetext03.jpg"), true);
  put("dogs/scene05.jpg", read_bytes(kExamples + "/text/scenetext05.jpg"), true);
  put("dogs/word02.jpg", read_bytes(kExamples + "/text/scenetext_word02.jpg"), true);

  // PNG (stored as found) and BMP (re-encoded to PNG) made from a real photograph.
  cv::Mat photo = cv::imdecode(plant, cv::IMREAD_COLOR);
  cv::Mat small;
  cv::resize(photo, small, cv::Size(64, 48));
  std::vector<uint8_t> png, bmp;
  cv::imencode(".png", small, png);
  cv::imencode(".bmp", small, bmp);
  put("misc/small.png", png, true);
  put("misc/small.bmp", bmp, true);

  put("misc/empty.jpg", {}, false);
  put("misc/truncated.jpg", std::vector<uint8_t>(plant.begin(), plant.begin() + plant.size() / 2),
      false);
  const std::string text = "this is not a picture\n";
  put("dogs/text.jpg", std::vector<uint8_t>(text.begin(), text.end()), false);
  put("dogs/notes.txt", std::vector<uint8_t>(text.begin(), text.end()), false);
  return tree;
}

TEST_CASE(
    "pic-prep folder: JPEG/PNG stored as found, BMP as PNG, broken files skipped with "
    "reasons",
    "[prep][folder]") {
  TempDir dir;
  Tree tree = make_tree(dir);
  const std::string out = dir / "train.h5";
  PrepRun run = run_prep(
      "--input-format folder --input " + tree.root + " --seed 3 --output " + out + " --threads 2",
      dir);
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  CHECK_THAT(run.output, Catch::Contains("skipped misc/empty.jpg: empty file"));
  CHECK_THAT(run.output, Catch::Contains("skipped misc/truncated.jpg: truncated JPEG"));
  CHECK_THAT(run.output, Catch::Contains("skipped dogs/text.jpg: wrong magic bytes"));
  CHECK_THAT(run.output,
             Catch::Contains("ignored 1 files without an image extension (dogs/notes.txt)"));
  CHECK_THAT(run.output, Catch::Contains("skipped 3 of 10"));
  CHECK_THAT(run.output, Catch::Contains("re-encoded 1 as PNG"));

  DatasetInfo info = read_dataset_info(out);
  CHECK(info.class_names == std::vector<std::string>{"cats", "dogs", "misc"});
  CHECK(info.num_images == 7);
  CHECK(info.source_kind == "folder");

  ensure_mpi();
  DatasetShard all = read_dataset_shard(out, MPI_COMM_SELF);
  H5Id file(H5Fopen(out.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, "open " + out);
  std::vector<std::string> names =
      h5_read_fixed_strings(file.get(), dataset_format::kSourceNames, out);
  std::map<std::string, int> seen;
  for (int64_t i = 0; i < all.size(); ++i) {
    const std::string& name = names[i];
    REQUIRE(tree.good.count(name) == 1);
    ++seen[name];
    const std::string class_name = name.substr(0, name.find('/'));
    CHECK(info.class_names[all.labels[i]] == class_name);
    std::vector<uint8_t> stored(all.image_data(i), all.image_data(i) + all.image_size(i));
    if (name == "misc/small.bmp") {
      // Re-encoded losslessly: PNG magic, same pixels as the BMP.
      CHECK(stored[1] == 'P');
      cv::Mat from_bmp = cv::imdecode(tree.good[name], cv::IMREAD_UNCHANGED);
      cv::Mat from_png = cv::imdecode(stored, cv::IMREAD_UNCHANGED);
      REQUIRE(from_png.size() == from_bmp.size());
      CHECK(cv::norm(from_png, from_bmp, cv::NORM_INF) == 0);
    } else {
      CHECK(stored == tree.good[name]);  // bytes as found
    }
  }
  CHECK(seen.size() == 7);
}

TEST_CASE("pic-prep folder: an empty class folder stays a class, with a warning",
          "[prep][folder]") {
  TempDir dir;
  Tree tree = make_tree(dir);
  fs::create_directories(fs::path(tree.root) / "birds");  // sorts first: label 0, no images
  const std::string out = dir / "train.h5";
  PrepRun run = run_prep("--input-format folder --input " + tree.root + " --output " + out, dir);
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  CHECK_THAT(run.output, Catch::Contains("warning: class folder birds holds no image"));
  DatasetInfo info = read_dataset_info(out);
  CHECK(info.class_names == std::vector<std::string>{"birds", "cats", "dogs", "misc"});
}

TEST_CASE("pic-prep folder --strict: any problem fails and leaves no output", "[prep][folder]") {
  TempDir dir;
  Tree tree = make_tree(dir);
  const std::string out = dir / "train.h5";
  PrepRun run =
      run_prep("--input-format folder --input " + tree.root + " --strict --output " + out, dir);
  INFO(run.output);
  CHECK(run.exit_code != 0);
  CHECK_THAT(run.output, Catch::Contains("--strict"));
  CHECK_FALSE(fs::exists(out));
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    CHECK(entry.path().filename().string().find(".tmp-") == std::string::npos);
  }

  // Without the broken files, --strict succeeds.
  for (const char* bad : {"misc/empty.jpg", "misc/truncated.jpg", "dogs/text.jpg"}) {
    fs::remove(tree.root + "/" + bad);
  }
  run = run_prep("--input-format folder --input " + tree.root + " --strict --output " + out, dir);
  CHECK(run.exit_code == 0);
  CHECK(read_dataset_info(out).num_images == 7);
}

}  // namespace

TEST_CASE("pic-prep --max-side: large images stored resized as JPEG, small ones as found",
          "[prep][folder]") {
  TempDir dir;
  Tree tree = make_tree(dir);
  const std::string out = dir / "train.h5";
  PrepRun run = run_prep("--input-format folder --input " + tree.root + " --seed 3 --output " +
                             out + " --max-side 100 --jpeg-quality 85",
                         dir);
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  ensure_mpi();
  DatasetShard all = read_dataset_shard(out, MPI_COMM_SELF);
  H5Id file(H5Fopen(out.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, "open " + out);
  std::vector<std::string> names =
      h5_read_fixed_strings(file.get(), dataset_format::kSourceNames, out);
  int shrunk = 0;
  for (int64_t i = 0; i < all.size(); ++i) {
    const std::vector<uint8_t> stored(all.image_data(i), all.image_data(i) + all.image_size(i));
    const cv::Mat original = cv::imdecode(tree.good.at(names[i]), cv::IMREAD_COLOR);
    const cv::Mat image = cv::imdecode(stored, cv::IMREAD_COLOR);
    REQUIRE_FALSE(image.empty());
    if (std::max(original.rows, original.cols) <= 100) {
      CHECK(image.size() == original.size());  // the 64 x 48 PNG and BMP
      continue;
    }
    ++shrunk;
    CHECK(std::max(image.rows, image.cols) == 100);  // longer side exactly --max-side
    const double aspect = static_cast<double>(original.cols) / original.rows;
    CHECK(std::abs(static_cast<double>(image.cols) / image.rows - aspect) < 0.05 * aspect);
    CHECK(stored[0] == 0xFF);  // stored as JPEG
    CHECK(stored[1] == 0xD8);
    CHECK(stored.size() < tree.good.at(names[i]).size());
  }
  CHECK(shrunk == 5);
  CHECK_THAT(run.output, Catch::Contains("shrunk 5 to --max-side"));

  PrepRun unused = run_prep("--input-format folder --input " + tree.root + " --output " +
                                (dir / "unused.h5") + " --jpeg-quality 50",
                            dir);
  CHECK(unused.exit_code == 0);
  CHECK_THAT(unused.output, Catch::Contains("--jpeg-quality has no effect without --max-side"));
}

TEST_CASE("pic-prep: a JPEG with damaged scan data is named; kept, or refused with --strict",
          "[prep][folder]") {
  TempDir dir;
  const std::string root = dir / "train";
  fs::create_directories(fs::path(root) / "a");
  const std::vector<uint8_t> plant = read_bytes(kExamples + "/alphamat/input_images/plant.jpg");
  std::vector<uint8_t> damaged = plant;
  // Bytes in the middle of the entropy-coded data: header and end marker stay intact.
  for (size_t i = damaged.size() / 2; i < damaged.size() / 2 + 200; ++i) damaged[i] ^= 0x5A;
  write_bytes(root + "/a/good.jpg", plant);
  write_bytes(root + "/a/damaged.jpg", damaged);

  PrepRun kept = run_prep("--input-format folder --input " + root + " --output " +
                              (dir / "kept.h5"),
                          dir);
  INFO(kept.output);
  REQUIRE(kept.exit_code == 0);
  CHECK_THAT(kept.output, Catch::Contains("warning: a/damaged.jpg: libjpeg: Corrupt JPEG data"));
  CHECK_THAT(kept.output, Catch::Contains("kept (it decodes; --strict refuses it)"));
  CHECK_THAT(kept.output, Catch::Contains("skipped 0 of 2"));
  CHECK(kept.output.find("good.jpg") == std::string::npos);

  PrepRun strict = run_prep("--input-format folder --input " + root + " --strict --output " +
                                (dir / "strict.h5"),
                            dir);
  INFO(strict.output);
  CHECK(strict.exit_code != 0);
  CHECK_THAT(strict.output, Catch::Contains("skipped a/damaged.jpg: libjpeg: Corrupt JPEG data"));
  CHECK_FALSE(fs::exists(dir / "strict.h5"));
}
