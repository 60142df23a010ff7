#pragma once
// Names and constants of the pic dataset file (docs/dataset-format.md), shared by the
// writer (pic-prep) and the reader, so that the two can never disagree on a spelling.
//
// One HDF5 file per split. Every dataset has a fixed-size element type (no variable-length
// strings anywhere: parallel HDF5 cannot write them, and the reader must not need them).
#include <cstdint>

namespace pic::dataset_format {

// Root attributes.
inline constexpr const char* kAttrFormat = "format";                 // fixed string
inline constexpr const char* kAttrFormatVersion = "format_version";  // int32 scalar
inline constexpr const char* kAttrNumImages = "num_images";          // int64 scalar, N
inline constexpr const char* kAttrNumClasses = "num_classes";        // int64 scalar, C
inline constexpr const char* kAttrShuffleSeed = "shuffle_seed";      // uint64 scalar
inline constexpr const char* kAttrSourceKind = "source_kind";        // "idx" | "folder" | "zip"
inline constexpr const char* kAttrSource = "source";                 // input path, as given
inline constexpr const char* kAttrCreatedBy = "created_by";          // e.g. "pic-prep 0.1.0"

inline constexpr const char* kFormatName = "pic-dataset";
inline constexpr int32_t kFormatVersion = 1;

// Datasets at the root.
inline constexpr const char* kImages = "/images";             // uint8 [total_bytes]
inline constexpr const char* kOffsets = "/offsets";           // uint64 [N + 1]
inline constexpr const char* kLabels = "/labels";             // int32 [N], in [0, C)
inline constexpr const char* kClassNames = "/class_names";    // fixed string [C]
inline constexpr const char* kSourceNames = "/source_names";  // fixed string [N]

// The stored order is the source's enumeration order permuted by
// shuffle_with_key(..., hash_key({shuffle_seed, kShuffleDomain})), with skipped images
// removed afterwards; the domain word keeps this stream apart from training's.
inline constexpr uint64_t kShuffleDomain = 0x7069632d70726570ull;  // "pic-prep"

}  // namespace pic::dataset_format
