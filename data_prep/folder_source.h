#pragma once
// The ImageNet folder layout ROOT/<class>/<image>: one class per sub-folder of ROOT, classes
// sorted by name (label = position), images found recursively below each class folder and
// sorted by path. Files with other extensions than the image ones are counted, not read.
#include <string>
#include <vector>

#include "image_source.h"

namespace pic::prep {

// Lower-case extensions (with the dot) recognised as images.
const std::vector<std::string>& folder_image_extensions();

class FolderSource final : public ImageSource {
 public:
  explicit FolderSource(const std::string& root);
  std::string kind() const override { return "folder"; }
  std::vector<uint8_t> read(size_t i) const override;

  // Files below class folders that were not images by extension.
  int64_t ignored_files() const { return ignored_files_; }
  // The first few of them ("class/file"), for the message.
  const std::vector<std::string>& ignored_examples() const { return ignored_examples_; }
  // Class folders without a single image: still classes (labels follow the sorted names),
  // but most likely a mistake worth a warning.
  const std::vector<std::string>& empty_classes() const { return empty_classes_; }

 private:
  std::string root_;
  int64_t ignored_files_ = 0;
  std::vector<std::string> ignored_examples_;
  std::vector<std::string> empty_classes_;
};

// Whole content of a file; throws with the reason when it cannot be read.
std::vector<uint8_t> read_whole_file(const std::string& path);

}  // namespace pic::prep
