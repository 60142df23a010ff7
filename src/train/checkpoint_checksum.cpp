#include "train/checkpoint_checksum.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "pic checksums tensor memory as the file's little-endian bytes: little-endian hosts only"
#endif

namespace pic {

// crc32_combine takes the second length as z_off_t: 64 bits on the LP64 systems pic targets.
static_assert(sizeof(z_off_t) >= 8, "zlib's z_off_t must hold 64-bit lengths");

uint32_t crc32_of_bytes(const void* data, int64_t bytes) {
  uLong crc = crc32_z(0L, Z_NULL, 0);
  const auto* next = static_cast<const Bytef*>(data);
  // crc32_z takes size_t lengths; one call per GiB keeps each one well inside any limit.
  constexpr int64_t kPiece = int64_t{1} << 30;
  for (int64_t done = 0; done < bytes; done += kPiece) {
    const int64_t piece = std::min(kPiece, bytes - done);
    crc = crc32_z(crc, next + done, static_cast<z_size_t>(piece));
  }
  return static_cast<uint32_t>(crc);
}

uint32_t crc32_of_tensor(const torch::Tensor& tensor) {
  if (!tensor.device().is_cpu() || !tensor.is_contiguous()) {
    throw std::invalid_argument("crc32_of_tensor: the tensor must be contiguous and on the CPU");
  }
  const int64_t bytes = tensor.numel() * static_cast<int64_t>(tensor.element_size());
  return crc32_of_bytes(bytes > 0 ? tensor.data_ptr() : nullptr, bytes);
}

uint32_t combine_crc32_parts(std::vector<ChecksumPart> parts) {
  parts.erase(std::remove_if(parts.begin(), parts.end(),
                             [](const ChecksumPart& p) { return p.bytes == 0; }),
              parts.end());
  std::sort(parts.begin(), parts.end(),
            [](const ChecksumPart& a, const ChecksumPart& b) { return a.offset < b.offset; });
  uLong crc = crc32_z(0L, Z_NULL, 0);
  int64_t expected_offset = 0;
  for (const ChecksumPart& part : parts) {
    if (part.offset != expected_offset || part.bytes < 0) {
      throw std::invalid_argument("combine_crc32_parts: parts leave a gap or overlap at byte " +
                                  std::to_string(expected_offset) + " (next part starts at " +
                                  std::to_string(part.offset) + ")");
    }
    crc = crc32_combine(crc, part.crc, static_cast<z_off_t>(part.bytes));
    expected_offset += part.bytes;
  }
  return static_cast<uint32_t>(crc);
}

uint32_t crc32_over_ranks(const ChecksumPart& mine, MPI_Comm comm) {
  int world = 1;
  MPI_Comm_size(comm, &world);
  // Three int64 per rank: offset, bytes, crc.
  const int64_t local[3] = {mine.offset, mine.bytes, static_cast<int64_t>(mine.crc)};
  std::vector<int64_t> all(static_cast<size_t>(3 * world));
  MPI_Allgather(local, 3, MPI_INT64_T, all.data(), 3, MPI_INT64_T, comm);
  std::vector<ChecksumPart> parts(static_cast<size_t>(world));
  for (int r = 0; r < world; ++r) {
    const int64_t* p = &all[static_cast<size_t>(3 * r)];
    parts[static_cast<size_t>(r)] = {p[0], p[1], static_cast<uint32_t>(p[2])};
  }
  return combine_crc32_parts(std::move(parts));
}

std::string crc32_text(uint32_t crc) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", crc);
  return text;
}

}  // namespace pic
