#include "folder_source.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace pic::prep {

const std::vector<std::string>& folder_image_extensions() {
  static const std::vector<std::string> extensions = {".jpg", ".jpeg", ".png", ".ppm",
                                                      ".bmp", ".pgm",  ".tif", ".tiff"};
  return extensions;
}

namespace {

bool has_image_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const auto& known = folder_image_extensions();
  return std::find(known.begin(), known.end(), ext) != known.end();
}

}  // namespace

std::vector<uint8_t> read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(std::string("cannot open: ") + std::strerror(errno));
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size < 0) throw std::runtime_error("cannot determine the file size");
  in.seekg(0, std::ios::beg);
  std::vector<uint8_t> data(static_cast<size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(data.data()), size)) {
    throw std::runtime_error(std::string("read error: ") + std::strerror(errno));
  }
  return data;
}

FolderSource::FolderSource(const std::string& root) : root_(root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    throw std::runtime_error(root + ": not a directory (expected ROOT/<class>/<image>)");
  }

  // Classes: the sub-folders of ROOT, sorted by name.
  for (const fs::directory_entry& entry : fs::directory_iterator(root)) {
    if (entry.is_directory()) class_names_.push_back(entry.path().filename().string());
  }
  std::sort(class_names_.begin(), class_names_.end());
  if (class_names_.empty()) {
    throw std::runtime_error(root + ": has no class sub-folders (expected ROOT/<class>/<image>)");
  }

  // Images: every file with an image extension below a class folder, sorted by path.
  for (size_t label = 0; label < class_names_.size(); ++label) {
    std::vector<std::string> files;
    const fs::path class_dir = fs::path(root) / class_names_[label];
    for (auto it = fs::recursive_directory_iterator(
             class_dir, fs::directory_options::follow_directory_symlink);
         it != fs::recursive_directory_iterator(); ++it) {
      if (!it->is_regular_file()) continue;
      if (!has_image_extension(it->path())) {
        constexpr size_t kExamples = 3;
        if (ignored_examples_.size() < kExamples) {
          ignored_examples_.push_back(
              (fs::path(class_names_[label]) / it->path().lexically_relative(class_dir))
                  .generic_string());
        }
        ++ignored_files_;
        continue;
      }
      // Lexically: a symlinked image keeps the name it has under ROOT, not its target's path.
      const fs::path in_class = it->path().lexically_relative(class_dir);
      files.push_back((fs::path(class_names_[label]) / in_class).generic_string());
      estimated_total_bytes_ += it->file_size(ec);
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) empty_classes_.push_back(class_names_[label]);
    for (std::string& file : files) {
      items_.push_back(SourceItem{std::move(file), static_cast<int32_t>(label)});
    }
  }
}

std::vector<uint8_t> FolderSource::read(size_t i) const {
  return read_whole_file((fs::path(root_) / items_[i].name).string());
}

}  // namespace pic::prep
