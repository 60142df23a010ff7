// pic-prep under a real mpiexec: the file written by N ranks must hold exactly the datasets
// and attributes of the file written by pic-prep started alone, and a --strict refusal must
// end every rank with no file left. Not itself an MPI program: it starts mpiexec.
//
//   prep_ranks_test reference DIR PIC_PREP
//       DIR/photos: the 81 opencv-doc photographs (symlinks) in three classes, plus an empty
//       file, a truncated JPEG, a text file named .jpg and a JPEG with damaged scan data
//       (85 items); DIR/alone.h5 from pic-prep without mpiexec.
//   prep_ranks_test ranks DIR PIC_PREP N MPIEXEC ARGS... (ARGS ending in its -n flag)
//       mpiexec ARGS N pic-prep in rounds of 5 images per rank (85 images: 17, 9 and 6
//       rounds on 1, 2 and 3 ranks, the last one split unevenly on 2 and 3; the writer
//       writes every 4 rounds, so several times) into DIR/ranks_N/out.h5: identical to
//       DIR/alone.h5 (one round of 85); every problem named once, by the rank whose share
//       held the image.
//   prep_ranks_test strict DIR PIC_PREP N MPIEXEC ARGS...
//       the same with --strict: exits non-zero within 20 s without MPI_Abort, names the
//       refused images, leaves neither the file nor a temporary one.
//   prep_ranks_test interrupt DIR PIC_PREP N MPIEXEC ARGS...
//       Ctrl-C (SIGINT to mpiexec) while N ranks convert the 60 000 Fashion-MNIST training
//       images: the job ends within 20 s and leaves no file behind.
//   prep_ranks_test disk-full DIR PIC_PREP N MPIEXEC ARGS...
//       rank 0 alone may not write more than 2 MB (ulimit -f, SIGXFSZ ignored: writes fail
//       as on a full disk) while N ranks convert the 10 000 Fashion-MNIST test images: that
//       rank's HDF5 error ends the whole job within 20 s and no file is left.
// Prints "OK: <mode> <N> ranks" and exits 0 when every check holds.
#include <hdf5.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "core/counter_rng.h"
#include "core/sampler.h"
#include "data/dataset_format.h"
#include "data/hdf5_attributes.h"
#include "data/hdf5_handles.h"

namespace {

namespace fs = std::filesystem;

const std::string kExamples = "/usr/share/doc/opencv-doc/examples";
constexpr uint64_t kSeed = 11;
constexpr int kRoundImages = 5;

int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    std::cerr << "FAILED: " << what << std::endl;
    ++failures;
  }
}

std::vector<uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& path, const std::vector<uint8_t>& data) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

// ---- the input ------------------------------------------------------------------------
// The images whose problems the log must name: file -> the start of its message.
const std::map<std::string, std::string> kProblems = {
    {"other/empty.jpg", "skipped other/empty.jpg: empty file"},
    {"text/truncated.jpg", "skipped text/truncated.jpg: truncated JPEG"},
    {"data/notes.jpg", "skipped data/notes.jpg: wrong magic bytes"},
    {"other/damaged.jpg", "warning: other/damaged.jpg: libjpeg: Corrupt JPEG data"},
};

void make_photo_tree(const fs::path& root) {
  fs::remove_all(root);
  for (const char* name : {"data", "other", "text"}) fs::create_directories(root / name);
  std::vector<fs::path> photos;
  for (const auto& entry : fs::recursive_directory_iterator(kExamples)) {
    if (entry.path().extension() == ".jpg") photos.push_back(entry.path());
  }
  std::sort(photos.begin(), photos.end());
  for (const fs::path& photo : photos) {
    const std::string folder = photo.parent_path().filename().string();
    const std::string class_name = folder == "data" || folder == "text" ? folder : "other";
    fs::create_symlink(photo, root / class_name / photo.filename());
  }
  expect(photos.size() == 81,
         "81 photographs under " + kExamples + ", found " + std::to_string(photos.size()));

  const std::vector<uint8_t> plant = read_bytes(kExamples + "/alphamat/input_images/plant.jpg");
  write_bytes(root / "other/empty.jpg", {});
  write_bytes(root / "text/truncated.jpg",
              std::vector<uint8_t>(plant.begin(), plant.begin() + plant.size() / 2));
  const std::string text = "not a picture\n";
  write_bytes(root / "data/notes.jpg", std::vector<uint8_t>(text.begin(), text.end()));
  // Damaged entropy-coded data, header and end marker intact: decodes with warnings.
  std::vector<uint8_t> damaged = plant;
  for (size_t i = damaged.size() / 2; i < damaged.size() / 2 + 200; ++i) damaged[i] ^= 0x5A;
  write_bytes(root / "other/damaged.jpg", damaged);
}

// The folder source's enumeration order: classes by name, then paths within each class.
std::vector<std::string> enumeration_order(const fs::path& root) {
  std::vector<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_directory())
      names.push_back(entry.path().lexically_relative(root).generic_string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// The rank that reads each image: pic-prep's shuffle, then rounds of round_images per rank
// split by shard_range (docs/dataset-format.md "Order"; data_prep/convert.cpp).
std::map<std::string, int> owners(const std::vector<std::string>& names, int world) {
  std::vector<size_t> order(names.size());
  std::iota(order.begin(), order.end(), size_t{0});
  pic::shuffle_with_key(order.begin(), order.end(),
                        pic::hash_key({kSeed, pic::dataset_format::kShuffleDomain}));
  std::map<std::string, int> owner;
  const size_t round = static_cast<size_t>(kRoundImages) * world;
  for (size_t position = 0; position < order.size(); ++position) {
    const size_t first = position / round * round;
    const int64_t in_round = static_cast<int64_t>(std::min(order.size(), first + round) - first);
    for (int r = 0; r < world; ++r) {
      const pic::ShardRange share = pic::shard_range(in_round, r, world);
      const auto offset = static_cast<int64_t>(position - first);
      if (offset >= share.begin && offset < share.end) owner[names[order[position]]] = r;
    }
  }
  return owner;
}

// ---- running pic-prep -----------------------------------------------------------------
struct Run {
  int exit_code = -1;
  double seconds = 0;
  std::string output;
};

Run run(const std::string& command, const fs::path& log) {
  const auto start = std::chrono::steady_clock::now();
  const int status = std::system((command + " >" + log.string() + " 2>&1").c_str());
  Run result;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  result.output = text.str();
  std::cout << "$ " << command << "\n"
            << result.output << "(exit " << result.exit_code << ", " << result.seconds << " s)"
            << std::endl;
  return result;
}

std::string prep_arguments(const fs::path& dir, const fs::path& output) {
  return " --input-format folder --input " + (dir / "photos").string() + " --seed " +
         std::to_string(kSeed) + " --threads 2 --output " + output.string();
}

// ---- what a reader sees in a file -----------------------------------------------------
// Every root dataset and root attribute: its type (H5Tencode), its shape and its bytes as
// stored, read with the file's own type so that nothing is converted.
using Contents = std::map<std::string, std::string>;

std::string encode_type(hid_t type) {
  size_t size = 0;
  H5Tencode(type, nullptr, &size);
  std::string encoded(size, '\0');
  H5Tencode(type, encoded.data(), &size);
  return encoded;
}

Contents read_contents(const fs::path& path) {
  Contents contents;
  pic::H5Id file =
      pic::h5_file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "open " + path.string());
  std::vector<std::string> links;
  H5Literate(
      file, H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
        static_cast<std::vector<std::string>*>(data)->push_back(name);
        return 0;
      },
      &links);
  for (const std::string& name : links) {
    pic::H5Id dataset = pic::h5_dataset(H5Dopen2(file, name.c_str(), H5P_DEFAULT), "open " + name);
    pic::H5Id type = pic::h5_type(H5Dget_type(dataset), "type of " + name);
    pic::H5Id space = pic::h5_space(H5Dget_space(dataset), "space of " + name);
    const hssize_t elements = H5Sget_simple_extent_npoints(space);
    std::string bytes(static_cast<size_t>(elements) * H5Tget_size(type), '\0');
    if (elements > 0) {
      pic::h5_check(H5Dread(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()),
                    "read " + name);
    }
    contents["dataset " + name] = encode_type(type) + "|" + std::to_string(elements) + "|" + bytes;
  }
  pic::H5Id root = pic::h5_group(H5Gopen2(file, "/", H5P_DEFAULT), "open /");
  H5O_info_t info;
  pic::h5_check(H5Oget_info(root, &info), "count the attributes of /");
  for (hsize_t i = 0; i < info.num_attrs; ++i) {
    pic::H5Id attribute = pic::h5_attribute(
        H5Aopen_by_idx(root, ".", H5_INDEX_NAME, H5_ITER_INC, i, H5P_DEFAULT, H5P_DEFAULT),
        "open attribute " + std::to_string(i));
    char name[256] = {};
    H5Aget_name(attribute, sizeof name, name);
    pic::H5Id type = pic::h5_type(H5Aget_type(attribute), std::string("type of ") + name);
    pic::H5Id space = pic::h5_space(H5Aget_space(attribute), std::string("space of ") + name);
    std::string bytes(static_cast<size_t>(H5Sget_simple_extent_npoints(space)) * H5Tget_size(type),
                      '\0');
    pic::h5_check(H5Aread(attribute, type, bytes.data()), std::string("read ") + name);
    contents[std::string("attribute ") + name] = encode_type(type) + "|" + bytes;
  }
  return contents;
}

void expect_same_contents(const fs::path& expected_path, const fs::path& actual_path) {
  const Contents expected = read_contents(expected_path);
  const Contents actual = read_contents(actual_path);
  expect(expected.size() == 13, expected_path.string() + ": 5 datasets and 8 attributes, got " +
                                    std::to_string(expected.size()) + " entries");
  for (const auto& [name, value] : expected) {
    auto found = actual.find(name);
    if (found == actual.end()) {
      expect(false, actual_path.string() + " lacks " + name);
    } else if (found->second != value) {
      size_t at = 0;
      while (at < value.size() && at < found->second.size() && value[at] == found->second[at]) {
        ++at;
      }
      expect(false, name + " differs from " + expected_path.string() + " (sizes " +
                        std::to_string(value.size()) + " and " +
                        std::to_string(found->second.size()) + ", first difference at byte " +
                        std::to_string(at) + ")");
    }
  }
  expect(actual.size() == expected.size(),
         actual_path.string() + " has " + std::to_string(actual.size()) + " entries, " +
             expected_path.string() + " " + std::to_string(expected.size()));
}

bool no_temporary_files(const fs::path& dir) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename().string().find(".tmp-") != std::string::npos) return false;
  }
  return true;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

size_t count_of(const std::string& text, const std::string& part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
    ++count;
  }
  return count;
}

// ---- the modes ------------------------------------------------------------------------
void reference(const fs::path& dir, const std::string& prep) {
  fs::create_directories(dir);
  make_photo_tree(dir / "photos");
  fs::remove(dir / "alone.h5");
  const Run alone = run(prep + prep_arguments(dir, dir / "alone.h5"), dir / "alone.log");
  expect(alone.exit_code == 0, "pic-prep alone succeeds");
  expect(contains(alone.output, "wrote " + (dir / "alone.h5").string() + ": 82 images"),
         "82 of 85 images written");
  expect(contains(alone.output, "skipped 3 of 85"), "3 of 85 skipped");
  for (const auto& [name, message] : kProblems) {
    expect(count_of(alone.output, "pic-prep: " + message) == 1, "one line: " + message);
  }

  // Symlinked photographs are named as they are under ROOT ("data/fruits.jpg"), not by
  // their targets' paths.
  const std::vector<std::string> listed = enumeration_order(dir / "photos");
  pic::H5Id file = pic::h5_file(H5Fopen((dir / "alone.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT),
                                "open alone.h5");
  for (const std::string& name :
       pic::h5_read_fixed_strings(file, pic::dataset_format::kSourceNames, "alone.h5")) {
    expect(std::find(listed.begin(), listed.end(), name) != listed.end(),
           "stored source name '" + name + "' is a path under ROOT");
  }
}

// `mpiexec` ends in the launcher's process-count flag.
std::string mpiexec_command(const std::string& mpiexec, int ranks) {
  return mpiexec + std::to_string(ranks) + " ";
}

// A folder of its own for each run: tests of other rank counts run at the same time.
fs::path fresh_folder(const fs::path& dir, const std::string& mode, int world) {
  fs::path folder = dir / (mode + "_" + std::to_string(world));
  fs::remove_all(folder);
  fs::create_directories(folder);
  return folder;
}

void ranks(const fs::path& dir, const std::string& prep, int world, const std::string& mpiexec) {
  const fs::path folder = fresh_folder(dir, "ranks", world);
  const fs::path output = folder / "out.h5";
  const Run job = run(mpiexec_command(mpiexec, world) + prep + prep_arguments(dir, output) +
                          " --round-images " + std::to_string(kRoundImages),
                      folder / "log.txt");
  expect(job.exit_code == 0, "pic-prep on " + std::to_string(world) + " ranks succeeds");
  expect(contains(job.output, "skipped 3 of 85"), "3 of 85 skipped");
  expect(count_of(job.output, "pic-prep: wrote ") == 1, "rank 0 alone prints the summary");
  expect(no_temporary_files(folder), "no temporary file left");
  if (fs::exists(output)) expect_same_contents(dir / "alone.h5", output);

  // Each problem named once, by the rank whose share of the round held the image.
  const std::map<std::string, int> owner = owners(enumeration_order(dir / "photos"), world);
  int named_by_others = 0;
  for (const auto& [name, message] : kProblems) {
    const int rank = owner.at(name);
    const std::string prefix =
        world == 1 ? "pic-prep: " : "pic-prep: rank " + std::to_string(rank) + ": ";
    expect(count_of(job.output, message) == 1, "one line: " + message);
    expect(contains(job.output, prefix + message), "'" + prefix + message + "'");
    named_by_others += rank > 0 ? 1 : 0;
  }
  if (world > 1) expect(named_by_others > 0, "some problem images belong to ranks above 0");
}

void strict(const fs::path& dir, const std::string& prep, int world, const std::string& mpiexec) {
  const fs::path folder = fresh_folder(dir, "strict", world);
  const fs::path output = folder / "out.h5";
  const Run job = run(mpiexec_command(mpiexec, world) + prep + prep_arguments(dir, output) +
                          " --round-images " + std::to_string(kRoundImages) + " --strict",
                      folder / "log.txt");
  expect(job.exit_code != 0, "--strict with damaged images fails");
  expect(job.seconds < 20, "and ends within 20 s");
  expect(contains(job.output, "pic-prep: error: "), "rank 0 reports the error");
  expect(contains(job.output,
                  "image(s) with problems so far (listed above by the ranks that read them); "
                  "no output written"),
         "the error says why");
  expect(!contains(job.output, "MPI_ABORT"), "every rank stops together, without MPI_Abort");
  expect(contains(job.output, "(--strict refuses damaged images that decode)") ||
             contains(job.output, "skipped "),
         "the refused images are named");
  expect(!fs::exists(output), "no output file");
  expect(no_temporary_files(folder), "no temporary file left");
}

const std::string kFashion = "/usr/share/datasets/fashion-mnist/";

std::string idx_arguments(const std::string& split, const std::string& output) {
  return " --input-format idx --input " + kFashion + split + "-images-idx3-ubyte.gz --labels " +
         kFashion + split + "-labels-idx1-ubyte.gz --threads 1 --output " + output;
}

void interrupt(const fs::path& dir, const std::string& prep, int world,
               const std::string& mpiexec) {
  const fs::path folder = fresh_folder(dir, "interrupt", world);
  // The signal goes out once the temporary file exists, so it lands mid-conversion.
  const std::string script =
      "cd " + folder.string() + " && { " + mpiexec_command(mpiexec, world) + prep +
      idx_arguments("train", "out.h5") +
      " > log.txt 2>&1 & pid=$!; "
      "for i in $(seq 400); do ls out.h5.tmp-* >/dev/null 2>&1 && break; sleep 0.05; done; "
      "sleep 0.3; kill -INT $pid; wait $pid; echo $? > status.txt; }";
  const fs::path script_path = folder / "interrupt.sh";
  std::ofstream(script_path) << script << "\n";
  const Run job = run("bash " + script_path.string(), folder / "driver.txt");
  std::ifstream status_file(folder / "status.txt");
  int status = 0;
  status_file >> status;
  std::ifstream log_file(folder / "log.txt");
  std::stringstream log;
  log << log_file.rdbuf();
  std::cout << log.str() << "(pic-prep exit status " << status << ")" << std::endl;
  expect(job.exit_code == 0, "the interrupt script ran");
  expect(status != 0, "the interrupted job fails");
  expect(!contains(log.str(), "pic-prep: wrote"), "the signal came before the end");
  expect(job.seconds < 20, "and ends within 20 s");
  expect(!fs::exists(folder / "out.h5"), "no output file");
  expect(no_temporary_files(folder), "no temporary file left");
}

void disk_full(const fs::path& dir, const std::string& prep, int world,
               const std::string& mpiexec) {
  const fs::path folder = fresh_folder(dir, "disk_full", world);
  const std::string output = (folder / "out.h5").string();
  // MPMD launch: rank 0 in a shell with the size limit, the others as usual. The launcher
  // string ends in its process-count flag ("-n "), which the second program needs as well.
  const std::string trimmed = mpiexec.substr(0, mpiexec.find_last_not_of(' ') + 1);
  const std::string count_flag = trimmed.substr(trimmed.find_last_of(' ') + 1);
  std::string command = mpiexec + "1 bash -c \"trap '' XFSZ; ulimit -f 2000; exec " + prep +
                        idx_arguments("t10k", output) + "\"";
  if (world > 1) {
    command += " : " + count_flag + " " + std::to_string(world - 1) + " " + prep +
               idx_arguments("t10k", output);
  }
  const Run job = run(command, folder / "log.txt");
  expect(job.exit_code != 0, "the job fails");
  expect(job.seconds < 20, "and ends within 20 s");
  expect(contains(job.output, "pic: rank 0: error: HDF5: cannot write"),
         "rank 0's write error is the job's message");
  expect(!fs::exists(output), "no output file");
  expect(no_temporary_files(folder), "no temporary file left");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: prep_ranks_test reference|ranks|strict|interrupt|disk-full DIR PIC_PREP "
                 "[N MPIEXEC ARGS...]"
              << std::endl;
    return 2;
  }
  const std::string mode = argv[1];
  const fs::path dir = argv[2];
  const std::string prep = argv[3];
  int world = 1;
  std::string mpiexec;
  if (mode != "reference") {
    if (argc < 6) {
      std::cerr << "prep_ranks_test " << mode << ": needs N and the mpiexec command" << std::endl;
      return 2;
    }
    world = std::stoi(argv[4]);
    for (int i = 5; i < argc; ++i) mpiexec += std::string(argv[i]) + " ";
  }
  try {
    if (mode == "reference") {
      reference(dir, prep);
    } else if (mode == "ranks") {
      ranks(dir, prep, world, mpiexec);
    } else if (mode == "strict") {
      strict(dir, prep, world, mpiexec);
    } else if (mode == "interrupt") {
      interrupt(dir, prep, world, mpiexec);
    } else if (mode == "disk-full") {
      disk_full(dir, prep, world, mpiexec);
    } else {
      std::cerr << "unknown mode " << mode << std::endl;
      return 2;
    }
  } catch (const std::exception& e) {
    std::cerr << "FAILED: " << e.what() << std::endl;
    return 1;
  }
  if (failures > 0) return 1;
  std::cout << "OK: " << mode << " " << world << " ranks" << std::endl;
  return 0;
}
