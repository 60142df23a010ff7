#pragma once
// Flat JSON objects ({"key": value, ...}, no nesting), written and read back.
//
// JsonObject builds one field by field, in insertion order: enough for config.json, the
// configuration stored in checkpoints and one metrics.jsonl line per logged step. Values are
// formatted once when added, so printing the same object as a table shows exactly what
// the JSON holds.
//
// FlatJson reads the shape JsonObject writes: strings, numbers, true/false/null and arrays
// of those; no nested objects. Enough to read back the configuration a pre-training run
// stored in its checkpoints.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace pic {

class JsonObject {
 public:
  JsonObject& add(const std::string& key, const std::string& value);
  JsonObject& add(const std::string& key, const char* value);
  JsonObject& add(const std::string& key, bool value);
  JsonObject& add(const std::string& key, int64_t value);
  JsonObject& add(const std::string& key, int value) { return add(key, int64_t{value}); }
  JsonObject& add(const std::string& key, uint64_t value);
  // %.9g: enough digits to tell float32 values apart; non-finite numbers become null
  // (JSON has no NaN), which a reader must treat as a diverged value.
  JsonObject& add(const std::string& key, double value);
  JsonObject& add(const std::string& key, const std::vector<int64_t>& values);

  // {"key": value, ...} on one line (multi_line: one field per line, for config.json).
  std::string dump(bool multi_line = false) const;
  // (key, JSON text of the value) in insertion order.
  const std::vector<std::pair<std::string, std::string>>& fields() const& { return fields_; }
  // On a temporary (`for (auto& f : make_json().fields())`) the fields are moved out, so
  // the loop never reads a destroyed object.
  std::vector<std::pair<std::string, std::string>> fields() && { return std::move(fields_); }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

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
  // The value as JSON text (strings without quotes); `fallback` when the key is missing.
  std::string text_or(const std::string& key, const std::string& fallback) const;

 private:
  const std::string& raw(const std::string& key) const;

  std::string source_;
  std::map<std::string, std::string> values_;  // key -> value as JSON text (strings unquoted)
  std::map<std::string, bool> is_string_;
};

// The JSON string literal of `text`, quotes included.
std::string json_quote(const std::string& text);
// %.9g, or null when not finite.
std::string json_number(double value);

}  // namespace pic
