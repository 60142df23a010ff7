#pragma once
// The original implementation's zip layout: train.zip plus a map file (default: train_map.txt
// next to it), each line "path-inside-zip<TAB>integer label". A malformed map line fails the
// whole conversion with "MAP:LINE: reason"; an entry missing from the zip is a per-image
// problem. Classes: "0".."max label" unless --class-names names them.
#include <zip.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "image_source.h"

namespace pic::prep {

class ZipSource final : public ImageSource {
 public:
  ZipSource(const std::string& zip_path, const std::string& map_path);
  ~ZipSource() override;
  std::string kind() const override { return "zip"; }
  std::vector<uint8_t> read(size_t i) const override;

  // "dir/train.zip" -> "dir/train_map.txt".
  static std::string default_map_path(const std::string& zip_path);

 private:
  std::string zip_path_;
  zip_t* archive_ = nullptr;
  mutable std::mutex archive_mutex_;  // libzip archives are not thread-safe
};

}  // namespace pic::prep
