// pic-prep on the original's zip layout: train.zip + train_map.txt.
#include <catch2/catch.hpp>
#include <map>

#include "data/dataset_format.h"
#include "data/dataset_reader.h"
#include "data/hdf5_attributes.h"
#include "prep_test_support.h"

namespace {

using namespace pic;
using namespace pic::test;

const std::string kExamples = "/usr/share/doc/opencv-doc/examples";

// train.zip with real JPEGs under n01/ and n02/ (stored, and one deflated), written by
// Python's zipfile.
std::string make_zip(const TempDir& dir) {
  std::ofstream script(dir / "make_zip.py");
  script << "import sys, zipfile\n"
            "z = zipfile.ZipFile(sys.argv[1], 'w')\n"
            "z.write(sys.argv[2], 'n01/a.JPEG', zipfile.ZIP_STORED)\n"
            "z.write(sys.argv[3], 'n01/b.JPEG', zipfile.ZIP_DEFLATED)\n"
            "z.write(sys.argv[4], 'n02/c.JPEG', zipfile.ZIP_STORED)\n"
            "z.writestr('n02/broken.JPEG', b'not an image')\n"
            "z.close()\n";
  script.close();
  const std::string zip = dir / "train.zip";
  std::string command = "/usr/bin/python3 " + (dir / "make_zip.py") + " " + zip + " " + kExamples +
                        "/text/scenetext01.jpg " + kExamples + "/text/scenetext03.jpg " +
                        kExamples + "/alphamat/input_images/plant.jpg";
  REQUIRE(std::system(command.c_str()) == 0);
  return zip;
}

TEST_CASE("pic-prep zip: entries and labels from the map, problems skipped", "[prep][zip]") {
  TempDir dir;
  const std::string zip = make_zip(dir);
  // A byte-order mark before the first path, CRLF on one line, a blank line at the end.
  std::ofstream(dir / "train_map.txt") << "\xEF\xBB\xBFn01/a.JPEG\t0\nn01/b.JPEG\t0\r\n"
                                          "n02/c.JPEG\t2\nn02/broken.JPEG\t2\n"
                                          "n02/missing.JPEG\t1\n\n";
  const std::string out = dir / "train.h5";
  PrepRun run = run_prep("--input-format zip --input " + zip + " --output " + out, dir);
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  CHECK_THAT(run.output, Catch::Contains("skipped n02/broken.JPEG: wrong magic bytes"));
  CHECK_THAT(run.output, Catch::Contains("skipped n02/missing.JPEG: unreadable: not found in"));

  DatasetInfo info = read_dataset_info(out);
  CHECK(info.num_images == 3);
  CHECK(info.num_classes == 3);  // labels 0..2
  CHECK(info.class_names == std::vector<std::string>{"0", "1", "2"});
  CHECK(info.source_kind == "zip");

  ensure_mpi();
  DatasetShard all = read_dataset_shard(out, MPI_COMM_SELF);
  H5Id file(H5Fopen(out.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, "open " + out);
  std::vector<std::string> names =
      h5_read_fixed_strings(file.get(), dataset_format::kSourceNames, out);
  const std::map<std::string, std::pair<std::string, int>> expected = {
      {"n01/a.JPEG", {kExamples + "/text/scenetext01.jpg", 0}},
      {"n01/b.JPEG", {kExamples + "/text/scenetext03.jpg", 0}},
      {"n02/c.JPEG", {kExamples + "/alphamat/input_images/plant.jpg", 2}}};
  for (int64_t i = 0; i < all.size(); ++i) {
    REQUIRE(expected.count(names[i]) == 1);
    const auto& [original, label] = expected.at(names[i]);
    std::ifstream in(original, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    CHECK(std::vector<uint8_t>(all.image_data(i), all.image_data(i) + all.image_size(i)) == bytes);
    CHECK(all.labels[i] == label);
  }
}

TEST_CASE("pic-prep zip: a bad map line fails with its line number", "[prep][zip]") {
  TempDir dir;
  const std::string zip = make_zip(dir);
  const std::string out = dir / "train.h5";
  struct Case {
    std::string map, expected;
  };
  for (const Case& c :
       {Case{"n01/a.JPEG\t0\nn01/b.JPEG\t0\nn02/c.JPEG 2\n",
             "train_map.txt:3: expected 'path<TAB>label', found no TAB"},
        Case{"n01/a.JPEG\t0\nn01/b.JPEG\tcat\n", "train_map.txt:2: label 'cat' is not an integer"},
        Case{"n01/a.JPEG\t-1\n", "train_map.txt:1: label -1 is outside"},
        Case{"n01/a.JPEG\t0\nn01/b.JPEG\t0\nn01/a.JPEG\t1\n",
             "train_map.txt:3: n01/a.JPEG is listed already on line 1"}}) {
    std::ofstream(dir / "train_map.txt") << c.map;
    PrepRun run = run_prep("--input-format zip --input " + zip + " --output " + out, dir);
    INFO(run.output);
    CHECK(run.exit_code != 0);
    CHECK_THAT(run.output, Catch::Contains(c.expected));
    CHECK_FALSE(std::filesystem::exists(out));
  }
}

TEST_CASE("pic-prep zip: an entry whose bytes fail the zip's CRC is skipped", "[prep][zip]") {
  TempDir dir;
  const std::string zip = make_zip(dir);
  // Flip one byte in the middle of the stored entry n02/c.JPEG: the JPEG may still decode,
  // but the bytes are not the ones that were archived.
  std::ofstream script(dir / "damage.py");
  script << "import sys, zipfile\n"
            "z = zipfile.ZipFile(sys.argv[1])\n"
            "info = z.getinfo('n02/c.JPEG')\n"
            "z.close()\n"
            "data = bytearray(open(sys.argv[1], 'rb').read())\n"
            "h = info.header_offset\n"
            "name_len = int.from_bytes(data[h + 26:h + 28], 'little')\n"
            "extra_len = int.from_bytes(data[h + 28:h + 30], 'little')\n"
            "start = h + 30 + name_len + extra_len\n"
            "data[start + info.compress_size // 2] ^= 0x55\n"
            "open(sys.argv[1], 'wb').write(data)\n";
  script.close();
  REQUIRE(std::system(("/usr/bin/python3 " + (dir / "damage.py") + " " + zip).c_str()) == 0);
  std::ofstream(dir / "train_map.txt") << "n01/a.JPEG\t0\nn02/c.JPEG\t1\n";
  const std::string out = dir / "train.h5";
  PrepRun run = run_prep("--input-format zip --input " + zip + " --output " + out, dir);
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  CHECK_THAT(run.output, Catch::Contains("skipped n02/c.JPEG: "));
  CHECK_THAT(run.output, Catch::Contains("CRC"));
  CHECK(read_dataset_info(out).num_images == 1);

  PrepRun strict = run_prep("--input-format zip --strict --input " + zip + " --output " +
                                (dir / "strict.h5"), dir);
  CHECK(strict.exit_code != 0);
  CHECK_FALSE(std::filesystem::exists(dir / "strict.h5"));
}

}  // namespace
