#include "train/json_object.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace pic {

std::string json_quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string json_number(double value) {
  if (!std::isfinite(value)) return "null";
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

JsonObject& JsonObject::add(const std::string& key, const std::string& value) {
  fields_.emplace_back(key, json_quote(value));
  return *this;
}

JsonObject& JsonObject::add(const std::string& key, const char* value) {
  return add(key, std::string(value));
}

JsonObject& JsonObject::add(const std::string& key, bool value) {
  fields_.emplace_back(key, value ? "true" : "false");
  return *this;
}

JsonObject& JsonObject::add(const std::string& key, int64_t value) {
  fields_.emplace_back(key, std::to_string(value));
  return *this;
}

JsonObject& JsonObject::add(const std::string& key, uint64_t value) {
  fields_.emplace_back(key, std::to_string(value));
  return *this;
}

JsonObject& JsonObject::add(const std::string& key, double value) {
  fields_.emplace_back(key, json_number(value));
  return *this;
}

JsonObject& JsonObject::add(const std::string& key, const std::vector<int64_t>& values) {
  std::string text = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) text += ", ";
    text += std::to_string(values[i]);
  }
  fields_.emplace_back(key, text + "]");
  return *this;
}

std::string JsonObject::dump(bool multi_line) const {
  std::string out = "{";
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (i) out += ",";
    if (multi_line)
      out += "\n  ";
    else if (i)
      out += " ";
    out += json_quote(fields_[i].first) + ": " + fields_[i].second;
  }
  if (multi_line && !fields_.empty()) out += "\n";
  return out + "}";
}

// ---- reading ----------------------------------------------------------------------------

namespace {

class Scanner {
 public:
  Scanner(const std::string& text, const std::string& source) : text_(text), source_(source) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(source_ + ": malformed JSON at offset " + std::to_string(pos_) + ": " +
                             what);
  }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  char peek() {
    skip_space();
    if (pos_ >= text_.size()) fail("unexpected end");
    return text_[pos_];
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  bool at_end() {
    skip_space();
    return pos_ >= text_.size();
  }

  std::string string_literal() {
    expect('"');
    std::string out;
    while (true) {
      if (pos_ >= text_.size()) fail("unterminated string");
      char c = text_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) fail("unterminated escape");
      char e = text_[pos_++];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'u': {
          if (pos_ + 4 > text_.size()) fail("short \\u escape");
          const long code = std::strtol(text_.substr(pos_, 4).c_str(), nullptr, 16);
          pos_ += 4;
          // Configuration values are ASCII; other code points are kept as '?'.
          out += code < 128 ? static_cast<char>(code) : '?';
          break;
        }
        default:
          out += e;
      }
    }
  }

  // A scalar or an array of scalars, returned as its JSON text.
  std::string bare_value() {
    const size_t begin = pos_;
    if (peek() == '[') {
      int depth = 0;
      bool in_string = false;
      for (; pos_ < text_.size(); ++pos_) {
        char c = text_[pos_];
        if (in_string) {
          if (c == '\\')
            ++pos_;
          else if (c == '"')
            in_string = false;
        } else if (c == '"') {
          in_string = true;
        } else if (c == '[') {
          ++depth;
        } else if (c == ']' && --depth == 0) {
          ++pos_;
          return text_.substr(begin, pos_ - begin);
        } else if (c == '{') {
          fail("nested objects are not supported");
        }
      }
      fail("unterminated array");
    }
    if (text_[pos_] == '{') fail("nested objects are not supported");
    while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '}' &&
           !std::isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
    if (pos_ == begin) fail("empty value");
    return text_.substr(begin, pos_ - begin);
  }

 private:
  const std::string& text_;
  const std::string& source_;
  size_t pos_ = 0;
};

}  // namespace

FlatJson::FlatJson(const std::string& text, const std::string& source) : source_(source) {
  Scanner scan(text, source);
  scan.expect('{');
  if (scan.peek() == '}') {
    scan.expect('}');
  } else {
    while (true) {
      std::string key = scan.string_literal();
      scan.expect(':');
      const bool quoted = scan.peek() == '"';
      values_[key] = quoted ? scan.string_literal() : scan.bare_value();
      is_string_[key] = quoted;
      if (scan.peek() == ',') {
        scan.expect(',');
        continue;
      }
      scan.expect('}');
      break;
    }
  }
  if (!scan.at_end()) scan.fail("text after the closing '}'");
}

const std::string& FlatJson::raw(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) throw std::runtime_error(source_ + ": no key \"" + key + "\"");
  return it->second;
}

std::string FlatJson::text_or(const std::string& key, const std::string& fallback) const {
  auto it = values_.find(key);
  return it == values_.end() ? fallback : it->second;
}

std::string FlatJson::get_string(const std::string& key) const {
  const std::string& value = raw(key);
  if (!is_string_.at(key)) {
    throw std::runtime_error(source_ + ": \"" + key + "\" is " + value + ", expected a string");
  }
  return value;
}

double FlatJson::get_double(const std::string& key) const {
  const std::string& value = raw(key);
  char* end = nullptr;
  const double number = std::strtod(value.c_str(), &end);
  if (is_string_.at(key) || value.empty() || *end != '\0') {
    throw std::runtime_error(source_ + ": \"" + key + "\" is '" + value + "', expected a number");
  }
  return number;
}

int64_t FlatJson::get_int(const std::string& key) const {
  const std::string& value = raw(key);
  char* end = nullptr;
  const long long number = std::strtoll(value.c_str(), &end, 10);
  if (is_string_.at(key) || value.empty() || *end != '\0') {
    throw std::runtime_error(source_ + ": \"" + key + "\" is '" + value + "', expected an integer");
  }
  return number;
}

bool FlatJson::get_bool(const std::string& key) const {
  const std::string& value = raw(key);
  if (!is_string_.at(key) && (value == "true" || value == "false")) return value == "true";
  throw std::runtime_error(source_ + ": \"" + key + "\" is '" + value + "', expected true/false");
}

}  // namespace pic
