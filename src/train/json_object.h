#pragma once
// A flat JSON object built field by field, in insertion order: enough for config.json, the
// configuration stored in checkpoints and one metrics.jsonl line per logged step. Values are
// formatted once when added, so printing the same object as a table shows exactly what
// the JSON holds.
#include <cstdint>
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

// The JSON string literal of `text`, quotes included.
std::string json_quote(const std::string& text);
// %.9g, or null when not finite.
std::string json_number(double value);

}  // namespace pic
