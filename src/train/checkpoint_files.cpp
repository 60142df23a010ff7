#include "train/checkpoint_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <utility>
#include <vector>
#include <stdexcept>

#include "train/checkpoint_read.h"

namespace pic {
namespace {

namespace fs = std::filesystem;

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) throw std::runtime_error("cannot open " + path + " to fsync it");
  const int status = ::fsync(fd);
  ::close(fd);
  if (status != 0) throw std::runtime_error("fsync of " + path + " failed");
}

// The file name `dir`/latest holds ("" when there is no pointer or it is empty).
std::string pointer_target(const fs::path& dir) {
  std::ifstream in(dir / "latest");
  std::string name;
  std::getline(in, name);
  while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.pop_back();
  return name;
}

// Every ckpt_*.h5 of `dir`, most progress first: by images seen (step numbers of runs on
// different rank counts do not compare), then by step. Unusable files come first, so that
// the note on the way to a usable one names them; format 1 files, which lack images_seen,
// come last.
struct CheckpointFile {
  int64_t images_seen = 0;  // the sort key; max() for an unusable file
  int64_t step = 0;
  fs::path path;
  std::string unusable;  // checkpoint_incomplete_reason; empty for a usable file
};
std::vector<CheckpointFile> checkpoint_files_by_progress(const fs::path& dir) {
  std::vector<CheckpointFile> files;
  for (const auto& item : fs::directory_iterator(dir)) {
    const int64_t step = step_of_checkpoint_file(item.path().filename().string());
    if (step < 0 || !item.is_regular_file()) continue;
    CheckpointFile file{0, step, item.path(), checkpoint_incomplete_reason(item.path().string())};
    file.images_seen = file.unusable.empty() ? read_checkpoint_images_seen(file.path.string())
                                             : std::numeric_limits<int64_t>::max();
    files.push_back(std::move(file));
  }
  std::sort(files.begin(), files.end(), [](const CheckpointFile& a, const CheckpointFile& b) {
    return a.images_seen != b.images_seen ? a.images_seen > b.images_seen : a.step > b.step;
  });
  return files;
}

}  // namespace

std::string checkpoint_file_name(int64_t step) {
  char name[32];
  std::snprintf(name, sizeof(name), "ckpt_%08lld.h5", static_cast<long long>(step));
  return name;
}

int64_t step_of_checkpoint_file(const std::string& name) {
  const std::string head = "ckpt_", tail = ".h5";
  if (name.size() <= head.size() + tail.size() || name.compare(0, head.size(), head) != 0 ||
      name.compare(name.size() - tail.size(), tail.size(), tail) != 0) {
    return -1;
  }
  const std::string digits = name.substr(head.size(), name.size() - head.size() - tail.size());
  if (!std::all_of(digits.begin(), digits.end(), ::isdigit)) return -1;
  return std::stoll(digits);
}

void publish_checkpoint(const fs::path& dir, const fs::path& temporary, const std::string& name) {
  // The data is on disk before any name points at it; the names change by atomic renames.
  fsync_path(temporary.string(), false);
  fs::rename(temporary, dir / name);
  fsync_path(dir.string(), true);

  const fs::path pointer_temporary = dir / ".latest.tmp";
  {
    std::ofstream out(pointer_temporary, std::ios::trunc);
    out << name << '\n';
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + pointer_temporary.string());
  }
  fsync_path(pointer_temporary.string(), false);
  fs::rename(pointer_temporary, dir / "latest");
  fsync_path(dir.string(), true);
}

CheckpointCandidates list_checkpoint_candidates(const std::string& dir) {
  CheckpointCandidates candidates;
  const fs::path directory(dir);
  if (!fs::is_directory(directory)) return candidates;

  // 1. The pointer file, when it names a complete checkpoint.
  std::string first, pointer_name;
  const fs::path pointer = directory / "latest";
  if (fs::exists(pointer)) {
    const std::string name = pointer_target(directory);
    pointer_name = name;
    const std::string named = (directory / name).string();
    const std::string reason =
        name.empty() ? "the pointer file is empty" : checkpoint_incomplete_reason(named);
    if (reason.empty()) {
      first = named;
      candidates.paths.push_back(named);
    } else {
      candidates.note = pointer.string() + " names '" + name + "', which is not usable: " + reason;
    }
  } else {
    candidates.note = "no pointer file " + pointer.string();
  }

  // 2. Then every other complete ckpt_*.h5, most images seen first.
  for (const CheckpointFile& file : checkpoint_files_by_progress(directory)) {
    // The pointer's file was looked at above.
    if (!pointer_name.empty() && file.path.filename().string() == pointer_name) continue;
    if (file.unusable.empty()) {
      if (candidates.paths.empty()) {
        candidates.note += "; using " + file.path.string() + " (step " +
                           std::to_string(file.step) + ") instead";
      }
      candidates.paths.push_back(file.path.string());
    } else if (first.empty() && candidates.paths.empty()) {
      // Skipped files matter to the user only on the way to the file used instead.
      candidates.note += "; skipped " + file.path.string() + ": " + file.unusable;
    }
  }
  return candidates;
}

std::optional<LatestCheckpoint> find_latest_checkpoint(const std::string& dir) {
  CheckpointCandidates candidates = list_checkpoint_candidates(dir);
  if (candidates.paths.empty()) return std::nullopt;
  return LatestCheckpoint{candidates.paths.front(), candidates.note};
}

std::vector<std::string> remove_old_checkpoints(const std::string& dir, int64_t keep_last) {
  std::vector<std::string> removed;
  if (keep_last <= 0) return removed;
  const fs::path directory(dir);
  const std::string protected_name = pointer_target(directory);
  int64_t kept = 0;
  for (const CheckpointFile& file : checkpoint_files_by_progress(directory)) {
    if (kept < keep_last || file.path.filename().string() == protected_name) {
      ++kept;
      continue;
    }
    // A file that cannot be removed now is an old one again at the next save: no error.
    std::error_code error;
    if (fs::remove(file.path, error)) removed.push_back(file.path.string());
  }
  return removed;
}

}  // namespace pic
