// pic-prep: converts a labelled image collection (IDX files, an ImageNet-style folder, or the
// original's train.zip + train_map.txt) into one pic dataset file (docs/dataset-format.md).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

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

std::unique_ptr<pic::prep::ImageSource> open_source(const CliOptions& cli) {
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
      std::cout << "pic-prep: ignored " << folder->ignored_files()
                << " files without an image extension" << std::endl;
    }
    for (const std::string& name : folder->empty_classes()) {
      std::cout << "pic-prep: warning: class folder " << name
                << " holds no image; it stays a class (its label is kept) with no examples"
                << std::endl;
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

}  // namespace

int main(int argc, char** argv) {
  CliOptions cli;
  CLI::App app{
      "pic-prep: convert labelled images into a pic dataset file (HDF5), "
      "see docs/dataset-format.md"};
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
  app.add_option("--threads", cli.convert.threads, "threads that read and check images")
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
  app.add_flag("--overwrite", cli.overwrite, "replace an existing output file");
  CLI11_PARSE(app, argc, argv);

  try {
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
    if (quality->count() > 0 && cli.convert.shrink.max_side == 0) {
      std::cout << "pic-prep: warning: --jpeg-quality has no effect without --max-side "
                   "(images are stored as found)"
                << std::endl;
    }
    cli.convert.source = cli.input;
    cli.convert.created_by = std::string("pic-prep ") + PIC_VERSION;
    std::unique_ptr<pic::prep::ImageSource> source = open_source(cli);
    std::cout << "pic-prep: " << source->items().size() << " images in "
              << source->class_names().size() << " classes from " << cli.input << " ("
              << source->kind() << "), seed " << cli.convert.seed << ", " << cli.convert.threads
              << " threads" << std::endl;

    pic::prep::ConvertSummary summary =
        pic::prep::convert_to_dataset(*source, cli.convert, std::cout);

    char line[320];
    std::snprintf(
        line, sizeof line,
        "pic-prep: wrote %s: %lld images, %.1f MB; skipped %lld of %lld; "
        "re-encoded %lld as PNG; shrunk %lld to --max-side; %.1f s, %.0f images/s",
        cli.convert.output.c_str(), static_cast<long long>(summary.written), summary.bytes / 1e6,
        static_cast<long long>(summary.skipped), static_cast<long long>(summary.candidates),
        static_cast<long long>(summary.reencoded), static_cast<long long>(summary.shrunk),
        summary.seconds, summary.seconds > 0 ? summary.candidates / summary.seconds : 0.0);
    std::cout << line << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "pic-prep: error: " << e.what() << std::endl;
    return 1;
  }
}
