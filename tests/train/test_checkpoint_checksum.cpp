// CRC-32 of checkpoint datasets: zlib's value, and parts combined in any split give the
// checksum of the whole (what makes one checksum per dataset for any rank count).
#include <zlib.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "train/checkpoint_checksum.h"

TEST_CASE("crc32 of bytes is zlib's CRC-32 (the value Python's zlib.crc32 gives)") {
  const std::string text = "123456789";
  CHECK(pic::crc32_of_bytes(text.data(), 9) == 0xCBF43926u);  // the CRC-32 check value
  CHECK(pic::crc32_of_bytes(nullptr, 0) == 0u);
  CHECK(pic::crc32_text(0xCBF43926u) == "0xcbf43926");
  const auto tensor = torch::arange(1000, torch::kFloat32);
  CHECK(pic::crc32_of_tensor(tensor) ==
        crc32(0L, static_cast<const Bytef*>(tensor.data_ptr()), 4000));
}

TEST_CASE("crc32 parts combine to the checksum of the whole, however the bytes are split") {
  std::vector<uint8_t> bytes(1237);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 37 + i / 7);
  const uint32_t whole = pic::crc32_of_bytes(bytes.data(), static_cast<int64_t>(bytes.size()));
  // Splits like 1, 2, 3 and 5 ranks would make (uneven), plus empty parts, given out of order.
  for (const std::vector<int64_t>& cuts :
       {std::vector<int64_t>{}, {600}, {413, 825}, {1, 2, 3, 1236}, {0, 0, 700, 700, 1237}}) {
    std::vector<int64_t> edges = {0};
    edges.insert(edges.end(), cuts.begin(), cuts.end());
    edges.push_back(static_cast<int64_t>(bytes.size()));
    std::vector<pic::ChecksumPart> parts;
    for (size_t i = 0; i + 1 < edges.size(); ++i) {
      const int64_t n = edges[i + 1] - edges[i];
      parts.push_back({edges[i], n, pic::crc32_of_bytes(bytes.data() + edges[i], n)});
    }
    std::reverse(parts.begin(), parts.end());
    CHECK(pic::combine_crc32_parts(parts) == whole);
  }
  // One flipped byte anywhere changes the checksum.
  bytes[618] ^= 0x10;
  CHECK(pic::crc32_of_bytes(bytes.data(), static_cast<int64_t>(bytes.size())) != whole);
}

TEST_CASE("crc32 parts that leave a gap or overlap are refused") {
  const std::vector<pic::ChecksumPart> gap = {{0, 10, 1}, {12, 5, 2}};
  CHECK_THROWS_WITH(pic::combine_crc32_parts(gap), Catch::Contains("gap or overlap at byte 10"));
  const std::vector<pic::ChecksumPart> overlap = {{0, 10, 1}, {8, 5, 2}};
  CHECK_THROWS_WITH(pic::combine_crc32_parts(overlap), Catch::Contains("at byte 10"));
}
