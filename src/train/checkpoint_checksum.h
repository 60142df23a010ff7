#pragma once
// CRC-32 checksums of checkpoint datasets (docs/checkpoint-format.md, "Checksums").
//
// Why CRC-32, zlib's (the checksum of gzip and PNG): zlib is already a dependency and runs
// it at GB/s; Python checks a dataset with zlib.crc32(f[name][()].tobytes()); and two CRCs
// combine: crc(A || B) follows from crc(A), crc(B) and len(B) alone. That last property
// makes ONE checksum per dataset that does not depend on the rank count: each rank
// checksums the contiguous rows it wrote or read, and the parts are combined in row order.
//
// What is covered: the dataset's bytes in dataset order as stored in the file, i.e.
// little-endian elements, row-major. pic checksums the tensor's memory, which holds those
// very bytes on the little-endian hosts it builds for (checked at compile time).
#include <mpi.h>
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace pic {

// The checksum of `bytes` bytes that start `offset` bytes into a dataset.
struct ChecksumPart {
  int64_t offset = 0;
  int64_t bytes = 0;
  uint32_t crc = 0;  // CRC-32 of those bytes alone
};

// CRC-32 of a buffer (0 for an empty one, as zlib.crc32(b"")).
uint32_t crc32_of_bytes(const void* data, int64_t bytes);

// CRC-32 of a contiguous CPU tensor's bytes.
uint32_t crc32_of_tensor(const torch::Tensor& tensor);

// The CRC-32 of the concatenation of `parts`, taken in offset order. They must tile
// [0, total) without gaps or overlaps (empty parts are ignored); throws otherwise.
uint32_t combine_crc32_parts(std::vector<ChecksumPart> parts);

// Collective: every rank passes the part it holds (bytes = 0 for none); every rank gets the
// checksum of the whole dataset.
uint32_t crc32_over_ranks(const ChecksumPart& mine, MPI_Comm comm);

// "0x1a2b3c4d"
std::string crc32_text(uint32_t crc);

}  // namespace pic
