// pic-linear's option checks that must fail before any feature is extracted.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "train/linear_options.h"

namespace {

pic::LinearOptions parse(std::vector<std::string> words) {
  words.insert(words.begin(), "pic-linear");
  std::vector<const char*> argv;
  for (const auto& word : words) argv.push_back(word.c_str());
  pic::LinearOptions options;
  REQUIRE(pic::parse_linear_options(static_cast<int>(argv.size()), argv.data(), options, false) ==
          -1);
  return options;
}

std::string validation_error(const pic::LinearOptions& options) {
  try {
    pic::validate_linear_options(options, 1);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("linear options: a warm-up longer than the run names both flags") {
  // The default warm-up (5 epochs) against a 2-epoch run.
  auto o = parse({"--random-init", "--epochs", "2"});
  CHECK_THAT(validation_error(o),
             Catch::Contains("--warmup-epoch") && Catch::Contains("more than --epochs 2"));
  o = parse({"--random-init", "--epochs", "2", "--warmup-epoch", "0"});
  CHECK_THAT(validation_error(o), !Catch::Contains("--warmup-epoch"));
}
