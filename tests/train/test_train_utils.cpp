// Small pieces of the training loop: stop signals, metrics lines, JSON.
#include <catch2/catch.hpp>

#include <csignal>

#include "train/json_object.h"
#include "train/metrics_log.h"
#include "train/stop_signal.h"

TEST_CASE("stop signals: the strongest request wins and is taken once") {
  pic::install_stop_signal_handlers();
  CHECK(pic::take_stop_request() == pic::StopRequest::kNone);
  std::raise(SIGUSR2);
  CHECK(pic::take_stop_request() == pic::StopRequest::kCheckpoint);
  CHECK(pic::take_stop_request() == pic::StopRequest::kNone);
  std::raise(SIGUSR2);
  std::raise(SIGTERM);
  std::raise(SIGUSR2);
  CHECK(pic::take_stop_request() == pic::StopRequest::kCheckpointAndExit);
  std::raise(SIGUSR1);
  CHECK(pic::take_stop_request() == pic::StopRequest::kCheckpointAndExit);
}

TEST_CASE("metrics: one fixed-field line and one JSON line per logged step") {
  pic::StepMetrics m;
  m.step = 1200;
  m.total_steps = 9000;
  m.epoch = 3;
  m.lr = 0.03;
  m.loss = 7.98123456789;
  m.loss_avg = 8.1;
  m.images_per_second = 812.34;
  m.data_wait_fraction = 0.031;
  m.eta_seconds = 3731;
  CHECK(pic::format_step_line(m) ==
        "epoch 3  step 1200/9000  lr 0.0300000  loss 7.9812 (8.1000)  img/s 812.3  wait 3.1%  "
        "ETA 1:02:11");
  const std::string json = pic::step_metrics_json(m);
  CHECK_THAT(json, Catch::StartsWith("{\"step\": 1200, \"total_steps\": 9000, \"epoch\": 3"));
  CHECK_THAT(json, Catch::Contains("\"loss\": 7.98123457"));
  m.loss = std::nan("");
  CHECK_THAT(pic::step_metrics_json(m), Catch::Contains("\"loss\": null"));
  CHECK(pic::format_duration(59.6) == "0:01:00");
}

TEST_CASE("JsonObject escapes strings and keeps insertion order") {
  pic::JsonObject json;
  json.add("b", std::string("x\ny\t\"z\"\\")).add("a", int64_t{-3}).add("c", true);
  CHECK(json.dump() == "{\"b\": \"x\\ny\\t\\\"z\\\"\\\\\", \"a\": -3, \"c\": true}");
  CHECK(json.dump(true) ==
        "{\n  \"b\": \"x\\ny\\t\\\"z\\\"\\\\\",\n  \"a\": -3,\n  \"c\": true\n}");
}
