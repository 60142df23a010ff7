#pragma once
// Serial (no MPI) reading of checkpoints, for tools such as linear evaluation and for
// choosing which file to resume from. Plain HDF5 opens, no collectives.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "core/sgd.h"  // NamedTensors

namespace pic {

// The file cannot be used: missing, not HDF5 or truncated, not a (complete) pic checkpoint,
// or a dataset whose bytes do not match its checksum. load_checkpoint throws it on every
// rank alike. An older checkpoint may still be good: --auto-resume falls back on this
// error, and only on this one (a model that does not match the file is another error).
class CheckpointDamaged : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The resolved options the checkpoint's run was started with (the root attribute `config`,
// JSON); throws naming the file when it cannot be read.
std::string read_checkpoint_config(const std::string& path);

// Empty when `path` is a complete pic checkpoint of a readable format version, else the
// reason (no such file, unreadable or truncated, not a pic checkpoint, incomplete). Looks at
// the root attributes only; checksums are verified when tensors are read.
std::string checkpoint_incomplete_reason(const std::string& path);

// The root attribute `images_seen` (format version 2), or -1 when the file has none or
// cannot be read. Orders checkpoints written on different rank counts by progress.
int64_t read_checkpoint_images_seen(const std::string& path);

// Every dataset under `prefix` ("model/encoder." or "optimizer/momentum/"), the part up to
// the last '/' naming the group. Names are returned without the group
// ("encoder.conv1.weight"), sorted. Refuses an incomplete checkpoint, and a dataset whose
// bytes do not match its crc32 (naming the file and the dataset).
NamedTensors read_checkpoint_tensors(const std::string& path, const std::string& prefix);

// Copies `source` into `target` by name (in place, no autograd). Every target name must be in
// source with the same shape; otherwise an error listing missing / mis-shaped names,
// prefixed by `context` (e.g. the checkpoint path).
void copy_tensors_by_name(const NamedTensors& source, const NamedTensors& target,
                          const std::string& context);

}  // namespace pic
