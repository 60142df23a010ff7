// pic-prep: converts a labelled image collection (IDX files, an ImageNet-style folder, or the
// original's train.zip + train_map.txt) into one pic dataset file (docs/dataset-format.md).
// Started alone it is a one-rank MPI job; under `mpirun -n N` the N ranks share the work and
// write the one file together (parallel HDF5); the file is the same either way.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include "collective_failure.h"
#include "comm/mpi_job.h"
#include "convert.h"
#include "folder_source.h"
#include "idx_source.h"
#include "zip_source.h"

namespace {

struct CliOptions {
  std::string input_format;
  std::string input;
  std::string labels;       // idx
  std::string map;          // zip
  std::string class_names;  // idx, zip
  bool overwrite = false;
  pic::prep::ConvertOptions convert;
};

// `log` gets the notes about the listing (rank 0's std::cout, elsewhere a null stream).
std::unique_ptr<pic::prep::ImageSource> open_source(const CliOptions& cli, std::ostream& log) {
  using namespace pic::prep;
  std::unique_ptr<ImageSource> source;
  if (cli.input_format == "idx") {
    if (cli.labels.empty()) throw std::invalid_argument("--input-format idx needs --labels FILE");
    source = std::make_unique<IdxSource>(cli.input, cli.labels);
  } else if (cli.input_format == "folder") {
    if (!cli.class_names.empty()) {
      throw std::invalid_argument(
          "--class-names is for idx and zip; folder classes are the "
          "sub-folder names");
    }
    auto folder = std::make_unique<FolderSource>(cli.input);
    if (folder->ignored_files() > 0) {
      std::string examples;
      for (const std::string& name : folder->ignored_examples()) {
        examples += (examples.empty() ? "" : ", ") + name;
      }
      if (folder->ignored_files() > static_cast<int64_t>(folder->ignored_examples().size())) {
        examples += ", ...";
      }
      log << "pic-prep: ignored " << folder->ignored_files()
          << " files without an image extension (" << examples << ")" << std::endl;
    }
    for (const std::string& name : folder->empty_classes()) {
      log << "pic-prep: warning: class folder " << name
          << " holds no image; it stays a class (its label is kept) with no examples" << std::endl;
    }
    source = std::move(folder);
  } else {
    source = std::make_unique<ZipSource>(
        cli.input, cli.map.empty() ? ZipSource::default_map_path(cli.input) : cli.map);
  }
  if (!cli.class_names.empty()) {
    source->set_class_names(read_class_names_file(cli.class_names), cli.class_names);
  }
  return source;
}

// Fails on every rank or none: checked on each, agreed before anything is read.
void check_output_path(const CliOptions& cli) {
  if (std::filesystem::exists(cli.convert.output) && !cli.overwrite) {
    throw std::invalid_argument(cli.convert.output +
                                ": exists already (pass --overwrite to replace it)");
  }
  // Checked before converting anything, so that a typo costs seconds, not the conversion.
  const std::filesystem::path output(cli.convert.output);
  if (std::filesystem::is_directory(output)) {
    throw std::invalid_argument(cli.convert.output + ": is a folder; --output names a file");
  }
  if (output.has_parent_path() && !std::filesystem::is_directory(output.parent_path())) {
    throw std::invalid_argument(cli.convert.output + ": the folder " +
                                output.parent_path().string() + " does not exist");
  }
}

int run_pic_prep(int argc, char** argv, MPI_Comm comm) {
  int rank = 0, world = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &world);
  std::ostream no_output(nullptr);
  std::ostream& rank0_log = rank == 0 ? std::cout : no_output;

  CliOptions cli;
  CLI::App app{
      "pic-prep: convert labelled images into a pic dataset file (HDF5), "
      "see docs/dataset-format.md. Runs alone or as `mpirun -n N pic-prep ...`: the ranks "
      "share the images and write the one file together; it comes out the same."};
  app.add_option("--input-format", cli.input_format, "idx, folder or zip")
      ->required()
      ->check(CLI::IsMember({"idx", "folder", "zip"}));
  app.add_option("--input", cli.input,
                 "idx: the images IDX file (.gz or raw); folder: ROOT of ROOT/<class>/<image>; "
                 "zip: the .zip archive")
      ->required();
  app.add_option("--labels", cli.labels, "idx: the labels IDX file (.gz or raw)");
  app.add_option("--map", cli.map,
                 "zip: map file, lines 'path<TAB>label' (default: X_map.txt next to X.zip)");
  app.add_option("--class-names", cli.class_names,
                 "idx/zip: text file with one class name per line (default: 0, 1, ...)");
  app.add_option("--output", cli.convert.output, "dataset file to write (.h5)")->required();
  app.add_option("--seed", cli.convert.seed, "seed of the one shuffle of the image order")
      ->capture_default_str();
  app.add_flag("--strict", cli.convert.strict,
               "fail on any per-image problem instead of skipping the image");
  app.add_option("--threads", cli.convert.threads,
                 "threads that read and check images (per rank under mpirun)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--progress-seconds", cli.convert.progress_seconds,
                 "seconds between progress lines")
      ->capture_default_str();
  app.add_option("--max-images", cli.convert.max_images,
                 "keep only the first N images of the shuffled order (0: all)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--max-side", cli.convert.shrink.max_side,
                 "store images whose longer side exceeds this many pixels resized to it, as "
                 "JPEG (0: keep every size)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 20));
  CLI::Option* quality = app.add_option("--jpeg-quality", cli.convert.shrink.jpeg_quality,
                                        "JPEG quality of the images --max-side resizes")
                             ->capture_default_str()
                             ->check(CLI::Range(1, 100));
  app.add_option("--round-images", cli.convert.round_images,
                 "images each rank reads and checks per round (memory per rank: two rounds of "
                 "encoded images, plus at most 4 rounds or ~64 MiB waiting to be written)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  app.add_flag("--overwrite", cli.overwrite, "replace an existing output file");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Every rank parses the same arguments; rank 0 alone prints help or the error.
    return rank == 0 ? app.exit(e) : app.exit(e, no_output, no_output);
  }

  try {
    std::unique_ptr<pic::prep::ImageSource> source;
    std::string error;
    try {
      check_output_path(cli);
      if (quality->count() > 0 && cli.convert.shrink.max_side == 0) {
        rank0_log << "pic-prep: warning: --jpeg-quality has no effect without --max-side "
                     "(images are stored as found)"
                  << std::endl;
      }
      cli.convert.source = cli.input;
      cli.convert.created_by = std::string("pic-prep ") + PIC_VERSION;
      source = open_source(cli, rank0_log);
    } catch (const std::exception& e) {
      error = e.what();
    }
    pic::prep::agree_on_failure(comm, error);
    rank0_log << "pic-prep: " << source->items().size() << " images in "
              << source->class_names().size() << " classes from " << cli.input << " ("
              << source->kind() << "), seed " << cli.convert.seed << ", " << cli.convert.threads
              << " threads" << (world > 1 ? " on each of " + std::to_string(world) + " ranks" : "")
              << std::endl;

    pic::prep::ConvertSummary summary =
        pic::prep::convert_to_dataset(*source, cli.convert, comm, std::cout);

    char line[320];
    std::snprintf(
        line, sizeof line,
        "pic-prep: wrote %s: %lld images, %.1f MB; skipped %lld of %lld; "
        "re-encoded %lld as PNG; shrunk %lld to --max-side; %.1f s, %.0f images/s",
        cli.convert.output.c_str(), static_cast<long long>(summary.written), summary.bytes / 1e6,
        static_cast<long long>(summary.skipped), static_cast<long long>(summary.candidates),
        static_cast<long long>(summary.reencoded), static_cast<long long>(summary.shrunk),
        summary.seconds, summary.seconds > 0 ? summary.candidates / summary.seconds : 0.0);
    rank0_log << line << std::endl;
    return 0;
  } catch (const pic::prep::CollectiveError& e) {
    // Every rank stopped here together; the temporary file is gone. Other exceptions are one
    // rank's own failure: run_mpi_program takes the job down with that rank's message.
    if (rank == 0) std::cerr << "pic-prep: error: " << e.what() << std::endl;
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  return pic::run_mpi_program(argc, argv,
                              [&](MPI_Comm comm) { return run_pic_prep(argc, argv, comm); });
}
