#pragma once
// Range checks for command-line options, shared by pic-pretrain and pic-linear. Each failure
// throws std::invalid_argument("<program>: <option>: <what is expected, what was given>").
#include <sstream>
#include <stdexcept>
#include <string>

namespace pic {

class OptionChecks {
 public:
  constexpr explicit OptionChecks(const char* program) : program_(program) {}

  [[noreturn]] void invalid(const std::string& option, const std::string& message) const {
    throw std::invalid_argument(std::string(program_) + ": " + option + ": " + message);
  }

  template <typename T>
  void at_least(const std::string& option, T value, T minimum) const {
    if (value < minimum) {
      std::ostringstream text;
      text << "must be at least " << minimum << ", got " << value;
      invalid(option, text.str());
    }
  }

  // Area fractions such as --crop: (0, 1].
  void fraction(const std::string& option, double value) const {
    if (!(value > 0.0 && value <= 1.0)) {
      invalid(option, "must be in (0, 1], got " + std::to_string(value));
    }
  }

 private:
  const char* program_;
};

}  // namespace pic
