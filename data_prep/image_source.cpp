#include "image_source.h"

#include <algorithm>
#include <fstream>
#include <stdexcept>

namespace pic::prep {

void ImageSource::set_class_names(std::vector<std::string> names, const std::string& origin) {
  int32_t max_label = -1;
  for (const SourceItem& item : items_) max_label = std::max(max_label, item.label);
  if (static_cast<int64_t>(names.size()) <= max_label) {
    throw std::runtime_error(origin + ": has " + std::to_string(names.size()) +
                             " class names, but the labels go up to " + std::to_string(max_label));
  }
  class_names_ = std::move(names);
}

void ImageSource::use_numbered_class_names() {
  int32_t max_label = -1;
  for (const SourceItem& item : items_) max_label = std::max(max_label, item.label);
  class_names_.clear();
  for (int32_t c = 0; c <= max_label; ++c) class_names_.push_back(std::to_string(c));
}

std::vector<std::string> read_class_names_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open the class-names file");
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    names.push_back(line);
  }
  while (!names.empty() && names.back().empty()) names.pop_back();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) {
      throw std::runtime_error(path + ":" + std::to_string(i + 1) + ": empty class name");
    }
  }
  if (names.empty()) throw std::runtime_error(path + ": no class names in the file");
  return names;
}

}  // namespace pic::prep
