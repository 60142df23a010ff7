#pragma once
// The files of a checkpoint folder and their life cycle (docs/checkpoint-format.md, "Files
// in the checkpoint directory"): names, the `latest` pointer, which file to resume from,
// and which old ones to delete. Serial: rank 0 calls these, other ranks get its answer.
//
//   ckpt_XXXXXXXX.h5        a complete checkpoint, XXXXXXXX = the step, 8 digits
//   latest                  text: the file name of the newest published checkpoint
//   .ckpt_XXXXXXXX.h5.tmp   a checkpoint being written (never read; left by a crash)
//   .latest.tmp             the pointer being replaced
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace pic {

// "ckpt_00001234.h5" for step 1234.
std::string checkpoint_file_name(int64_t step);

// The step of "ckpt_00001234.h5", or -1 for any other name.
int64_t step_of_checkpoint_file(const std::string& file_name);

// Rank 0, after every rank has closed `temporary`: fsync it, rename it to dir/name, fsync
// the folder, then replace dir/latest through .latest.tmp (written, fsynced, renamed).
// Throws naming the file whose step failed; what was published before stays.
void publish_checkpoint(const std::filesystem::path& dir, const std::filesystem::path& temporary,
                        const std::string& name);

// The checkpoints to try, best first: the file `latest` names (if it is complete), then every
// other complete ckpt_*.h5, most images seen first (then by step: runs on other rank counts
// number their steps differently). `note` is empty when the pointer named a
// complete checkpoint; otherwise it says why not and which files were skipped (incomplete,
// unreadable). "Complete" is what the root attributes say; checksums are verified by the
// loader, which is why a caller may need the second and third candidates.
struct CheckpointCandidates {
  std::vector<std::string> paths;
  std::string note;
};
CheckpointCandidates list_checkpoint_candidates(const std::string& dir);

struct LatestCheckpoint {
  std::string path;
  // Empty when the pointer file named a complete checkpoint; otherwise says why it was not
  // used and which file was chosen instead (the caller logs it from rank 0).
  std::string note;
};

// The first of list_checkpoint_candidates, nullopt if there is none.
std::optional<LatestCheckpoint> find_latest_checkpoint(const std::string& dir);

// --keep-last: deletes every ckpt_*.h5 of `dir` but the `keep_last` with the most images seen,
// never the one `latest` names. keep_last <= 0 keeps all. Returns the deleted paths.
// Temporaries of crashed writes (.ckpt_*.h5.tmp) are not touched.
std::vector<std::string> remove_old_checkpoints(const std::string& dir, int64_t keep_last);

}  // namespace pic
