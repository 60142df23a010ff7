#pragma once
// Reads a flat JSON object ({"key": value, ...}, the shape JsonObject writes): strings,
// numbers, true/false/null and arrays of those; no nested objects. Enough to read back the
// configuration a pre-training run stored in its checkpoints.
#include <cstdint>
#include <map>
#include <string>

namespace pic {

class FlatJson {
 public:
  // Throws std::runtime_error naming `source` and the character offset on malformed text.
  FlatJson(const std::string& text, const std::string& source);

  bool has(const std::string& key) const { return values_.count(key) > 0; }
  // Typed getters throw std::runtime_error naming the source and key when the key is missing
  // or its value has another type.
  std::string get_string(const std::string& key) const;
  double get_double(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  bool get_bool(const std::string& key) const;

 private:
  const std::string& raw(const std::string& key) const;

  std::string source_;
  std::map<std::string, std::string> values_;  // key -> value as JSON text (strings unquoted)
  std::map<std::string, bool> is_string_;
};

}  // namespace pic
