// FlatJson reads back what JsonObject writes (the configuration stored in checkpoints).
#include <catch2/catch.hpp>

#include "train/json_object.h"

TEST_CASE("FlatJson reads JsonObject's output", "[flat_json]") {
  pic::JsonObject json;
  json.add("arch", "resnet18_d")
      .add("width", 0.25)
      .add("small_stem", true)
      .add("mlp_head", false)
      .add("feature_dim", int64_t{128})
      .add("lr_decay_epochs", std::vector<int64_t>{120, 160})
      .add("output_dir", "a \"quoted\"\\path");
  for (bool multi_line : {false, true}) {
    pic::FlatJson read(json.dump(multi_line), "test");
    CHECK(read.get_string("arch") == "resnet18_d");
    CHECK(read.get_double("width") == 0.25);
    CHECK(read.get_bool("small_stem"));
    CHECK_FALSE(read.get_bool("mlp_head"));
    CHECK(read.get_int("feature_dim") == 128);
    CHECK(read.get_string("output_dir") == "a \"quoted\"\\path");
    CHECK(read.has("lr_decay_epochs"));
    CHECK_FALSE(read.has("image_size"));
  }
}

TEST_CASE("FlatJson names the key and the problem", "[flat_json]") {
  pic::FlatJson read(R"({"arch": "resnet50", "width": 1, "flag": true})", "ckpt.h5 (config)");
  CHECK_THROWS_WITH(read.get_int("image_size"),
                    Catch::Contains("ckpt.h5 (config): no key \"image_size\""));
  CHECK_THROWS_WITH(read.get_double("arch"), Catch::Contains("expected a number"));
  CHECK_THROWS_WITH(read.get_bool("width"), Catch::Contains("expected true/false"));
  CHECK_THROWS_WITH(read.get_string("flag"), Catch::Contains("expected a string"));
  CHECK_THROWS_WITH(pic::FlatJson(R"({"a": 1)", "x"), Catch::Contains("malformed JSON"));
  CHECK_THROWS_WITH(pic::FlatJson(R"({"a": {"b": 1}})", "x"), Catch::Contains("nested"));
  CHECK_THROWS_WITH(pic::FlatJson(R"({"a": 1} extra)", "x"), Catch::Contains("after"));
}
