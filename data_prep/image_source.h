#pragma once
// A labelled image collection pic-prep converts: a list of items in a fixed enumeration order
// (the order the shuffle permutes), the class names, and a way to fetch one item's bytes.
#include <cstdint>
#include <string>
#include <vector>

namespace pic::prep {

struct SourceItem {
  std::string name;  // stored in /source_names: path relative to the root, zip entry, "file:i"
  int32_t label = 0;
};

class ImageSource {
 public:
  virtual ~ImageSource() = default;
  // "idx", "folder" or "zip" (the file's source_kind attribute).
  virtual std::string kind() const = 0;
  // Encoded bytes of item i as found (IDX: the pixels encoded as PNG). Throws
  // std::runtime_error with the reason when the item cannot be read. Safe to call from
  // several threads at once.
  virtual std::vector<uint8_t> read(size_t i) const = 0;

  const std::vector<SourceItem>& items() const { return items_; }
  const std::vector<std::string>& class_names() const { return class_names_; }
  // Replaces the class names (e.g. from --class-names); they must cover every label.
  void set_class_names(std::vector<std::string> names, const std::string& origin);
  // Rough size of all images, only used to size HDF5 chunks.
  uint64_t estimated_total_bytes() const { return estimated_total_bytes_; }

 protected:
  // Default class names "0", "1", ... up to the largest label.
  void use_numbered_class_names();

  std::vector<SourceItem> items_;
  std::vector<std::string> class_names_;
  uint64_t estimated_total_bytes_ = 0;
};

// Class names from a text file, one per line (trailing empty lines ignored; "\r\n" accepted).
std::vector<std::string> read_class_names_file(const std::string& path);

}  // namespace pic::prep
