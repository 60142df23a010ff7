#include "zip_source.h"

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <stdexcept>
#include <unordered_map>

namespace pic::prep {
namespace {

// Parses "path<TAB>label"; throws "MAP:LINE: reason" on a malformed line.
SourceItem parse_map_line(const std::string& line, const std::string& map_path, int64_t line_no) {
  auto fail = [&](const std::string& reason) {
    throw std::runtime_error(map_path + ":" + std::to_string(line_no) + ": " + reason);
  };
  size_t tab = line.find('\t');
  if (tab == std::string::npos) fail("expected 'path<TAB>label', found no TAB");
  if (tab == 0) fail("empty path before the TAB");
  std::string label_text = line.substr(tab + 1);
  if (label_text.empty()) fail("missing label after the TAB");
  size_t used = 0;
  long long label = -1;
  try {
    label = std::stoll(label_text, &used);
  } catch (const std::exception&) {
    fail("label '" + label_text + "' is not an integer");
  }
  if (used != label_text.size()) fail("label '" + label_text + "' is not an integer");
  if (label < 0 || label > INT32_MAX) fail("label " + label_text + " is outside [0, 2^31)");
  return SourceItem{line.substr(0, tab), static_cast<int32_t>(label)};
}

}  // namespace

std::string ZipSource::default_map_path(const std::string& zip_path) {
  const std::string suffix = ".zip";
  if (zip_path.size() > suffix.size() &&
      zip_path.compare(zip_path.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return zip_path.substr(0, zip_path.size() - suffix.size()) + "_map.txt";
  }
  return zip_path + "_map.txt";
}

ZipSource::ZipSource(const std::string& zip_path, const std::string& map_path)
    : zip_path_(zip_path) {
  // The map first: a malformed line is an error before any image is touched.
  std::ifstream map(map_path);
  if (!map) throw std::runtime_error(map_path + ": cannot open the map file");
  std::string line;
  std::unordered_map<std::string, int64_t> line_of_path;  // a path listed twice is an error
  for (int64_t line_no = 1; std::getline(map, line); ++line_no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // Editors on some systems start UTF-8 text files with a byte-order mark.
    if (line_no == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank line
    items_.push_back(parse_map_line(line, map_path, line_no));
    auto [it, inserted] = line_of_path.emplace(items_.back().name, line_no);
    if (!inserted) {
      throw std::runtime_error(map_path + ":" + std::to_string(line_no) + ": " +
                               items_.back().name + " is listed already on line " +
                               std::to_string(it->second));
    }
  }
  if (items_.empty()) throw std::runtime_error(map_path + ": no images listed");
  use_numbered_class_names();

  int error = 0;
  archive_ = zip_open(zip_path.c_str(), ZIP_RDONLY, &error);
  if (archive_ == nullptr) {
    zip_error_t zip_error;
    zip_error_init_with_code(&zip_error, error);
    std::string message = zip_error_strerror(&zip_error);
    zip_error_fini(&zip_error);
    throw std::runtime_error(zip_path + ": cannot open the zip archive: " + message);
  }
  for (const SourceItem& item : items_) {
    zip_stat_t stat;
    if (zip_stat(archive_, item.name.c_str(), 0, &stat) == 0 && (stat.valid & ZIP_STAT_SIZE)) {
      estimated_total_bytes_ += stat.size;
    }
  }
}

ZipSource::~ZipSource() {
  if (archive_ != nullptr) zip_discard(archive_);
}

std::vector<uint8_t> ZipSource::read(size_t i) const {
  const std::string& name = items_[i].name;
  std::lock_guard<std::mutex> lock(archive_mutex_);
  zip_stat_t stat;
  if (zip_stat(archive_, name.c_str(), 0, &stat) != 0) {
    throw std::runtime_error("not found in " + zip_path_);
  }
  zip_file_t* file = zip_fopen_index(archive_, stat.index, 0);
  if (file == nullptr) {
    throw std::runtime_error(std::string("cannot open in the zip: ") + zip_strerror(archive_));
  }
  std::vector<uint8_t> data(stat.size);
  zip_int64_t got = stat.size > 0 ? zip_fread(file, data.data(), stat.size) : 0;
  // libzip compares the CRC only when a read reaches the end of the entry: ask for one byte
  // more, so that a damaged entry is reported instead of stored.
  uint8_t past_end = 0;
  if (got >= 0 && zip_fread(file, &past_end, 1) < 0) got = -1;
  std::string message = got < 0 ? zip_file_strerror(file) : "";
  const int close_error = zip_fclose(file);
  if (got < 0) throw std::runtime_error("read error in the zip: " + message);
  if (close_error != 0) {
    zip_error_t error;
    zip_error_init_with_code(&error, close_error);
    std::string text = zip_error_strerror(&error);
    zip_error_fini(&error);
    throw std::runtime_error("read error in the zip: " + text);
  }
  if (static_cast<zip_uint64_t>(got) != stat.size) {
    throw std::runtime_error("short read in the zip (" + std::to_string(got) + " of " +
                             std::to_string(stat.size) + " bytes)");
  }
  return data;
}

}  // namespace pic::prep
