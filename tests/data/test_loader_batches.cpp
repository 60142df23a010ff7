// The threaded batch loader: batch layout, independence of the thread count, exact restart,
// errors reaching next(), clean shutdown, and the sequential evaluation loader.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "data/batch_loader.h"
#include "data/image_decoder.h"
#include "photo_shard.h"

namespace {

pic::AugmentConfig small_multicrop() {
  pic::AugmentConfig aug;
  aug.preset = "MultiCrop";
  aug.image_size = 48;
  aug.image_size2 = 24;
  aug.num_crop = 2;
  aug.num_crop2 = 2;
  return aug;
}

std::shared_ptr<pic::Sampler> window_sampler(int64_t n) {
  pic::SlidingWindowConfig c;
  c.shard_size = n;
  c.window = 16;
  c.stride = 4;
  c.batch_size = 4;
  c.shuffle_per_epoch = true;
  c.seed = 3;
  c.rank = 1;
  return std::make_shared<pic::SlidingWindowSampler>(c);
}

pic::LoaderOptions options(int threads, int prefetch = 3) {
  pic::LoaderOptions o;
  o.num_threads = threads;
  o.prefetch_batches = prefetch;
  o.seed = 3;
  o.rank = 1;
  return o;
}

std::vector<pic::LoadedBatch> load(const pic::DatasetShard& shard, int threads, int64_t first,
                                   int64_t end) {
  pic::BatchLoader loader(shard, window_sampler(shard.size()), small_multicrop(), options(threads),
                          first, end);
  std::vector<pic::LoadedBatch> batches;
  while (!loader.done()) batches.push_back(loader.next());
  return batches;
}

void require_same(const pic::LoadedBatch& a, const pic::LoadedBatch& b) {
  REQUIRE(a.step == b.step);
  REQUIRE(a.crops.groups.size() == b.crops.groups.size());
  for (size_t g = 0; g < a.crops.groups.size(); ++g) {
    REQUIRE(torch::equal(a.crops.groups[g], b.crops.groups[g]));
  }
  REQUIRE(torch::equal(a.crops.instance_ids, b.crops.instance_ids));
  REQUIRE(torch::equal(a.labels, b.labels));
}

}  // namespace

TEST_CASE("loader batches: layout, ids, labels and crops as keyed", "[loader]") {
  const int64_t begin = 1000;
  const auto shard = pic::test::make_photo_shard(24, begin);
  auto sampler = window_sampler(shard.size());
  pic::BatchLoader loader(shard, window_sampler(shard.size()), small_multicrop(), options(2), 5, 7);
  pic::LoadedBatch batch = loader.next();
  REQUIRE(batch.step == 5);
  const auto local = sampler->indices_for_step(5);
  const int64_t b = 4;
  REQUIRE(batch.crops.groups.size() == 3);
  REQUIRE(batch.crops.groups[0].sizes() == torch::IntArrayRef({2 * b, 3, 48, 48}));
  REQUIRE(batch.crops.groups[1].sizes() == torch::IntArrayRef({b, 3, 24, 24}));
  REQUIRE(batch.crops.groups[2].sizes() == torch::IntArrayRef({b, 3, 24, 24}));
  REQUIRE(batch.crops.instance_ids.dtype() == torch::kInt64);
  REQUIRE(batch.labels.dtype() == torch::kInt64);

  // Row c * B + i of the large group is crop c of sample i, made with its own key.
  const auto decoder = pic::make_opencv_decoder();
  pic::Augmenter augmenter(small_multicrop());
  for (int64_t i = 0; i < b; ++i) {
    REQUIRE(batch.crops.instance_ids[i].item<int64_t>() == begin + local[i]);
    REQUIRE(batch.labels[i].item<int64_t>() == shard.labels[local[i]]);
    cv::Mat image = decoder->decode(shard.image_data(local[i]), shard.image_size(local[i]));
    for (int64_t c = 0; c < 4; ++c) {
      const int64_t s = c < 2 ? 48 : 24;
      auto expected = torch::empty({3, s, s});
      augmenter.augment_crop(image, pic::augment_key(3, 1, 5, i, c), c, expected.data_ptr<float>());
      torch::Tensor got = c < 2 ? batch.crops.groups[0][c * b + i] : batch.crops.groups[c - 1][i];
      REQUIRE(torch::equal(got, expected));
    }
  }
  REQUIRE(loader.next().step == 6);
  REQUIRE(loader.done());
  REQUIRE_THROWS_AS(loader.next(), std::out_of_range);
  REQUIRE(loader.total_wait_seconds() >= 0.0);
}

TEST_CASE("loader: same batches with 1 and 3 threads and after a restart", "[loader]") {
  const auto shard = pic::test::make_photo_shard(24, 40);
  const auto one_thread = load(shard, 1, 0, 12);
  const auto three_threads = load(shard, 3, 0, 12);
  REQUIRE(one_thread.size() == 12);
  REQUIRE(three_threads.size() == 12);
  for (size_t t = 0; t < one_thread.size(); ++t) require_same(one_thread[t], three_threads[t]);

  // A loader started at step 7 (a resumed run) yields exactly the uninterrupted batches.
  const auto resumed = load(shard, 2, 7, 12);
  REQUIRE(resumed.size() == 5);
  for (size_t t = 0; t < resumed.size(); ++t) require_same(resumed[t], one_thread[7 + t]);
  // And batches of different steps differ.
  REQUIRE_FALSE(torch::equal(one_thread[0].crops.groups[0], one_thread[1].crops.groups[0]));
}

TEST_CASE("loader: a batch the trainer holds is never overwritten", "[loader]") {
  const auto shard = pic::test::make_photo_shard(24, 0);
  // 40 steps: under a loaded machine the workers may run ahead with other pool buffers for a
  // while before the released one comes round (10 steps failed once beside a training run).
  pic::BatchLoader loader(shard, window_sampler(shard.size()), small_multicrop(), options(2, 2), 0,
                          40);
  pic::LoadedBatch held = loader.next();
  torch::Tensor copy = held.crops.groups[0].clone();
  torch::Tensor view = loader.next().crops.groups[0].narrow(0, 0, 1);  // a view outlives its batch
  torch::Tensor view_copy = view.clone();
  const void* released = nullptr;
  for (int i = 0; i < 6; ++i) {
    auto batch = loader.next();
    if (i == 0) released = batch.crops.groups[0].data_ptr();
  }
  REQUIRE(torch::equal(held.crops.groups[0], copy));
  REQUIRE(torch::equal(view, view_copy));
  // Buffers let go of are reused (the pool keeps allocation off the trainer's path).
  bool reused = false;
  while (!loader.done()) reused |= loader.next().crops.groups[0].data_ptr() == released;
  CHECK(reused);
}

TEST_CASE("loader: a corrupt image reaches next() with its global index", "[loader]") {
  const int64_t begin = 500, corrupt = 9;
  const auto shard = pic::test::make_photo_shard(24, begin, 64, corrupt);
  auto sampler = window_sampler(shard.size());
  pic::BatchLoader loader(shard, window_sampler(shard.size()), small_multicrop(), options(3), 0,
                          12);
  int failures = 0;
  for (int64_t step = 0; step < 12; ++step) {
    const auto local = sampler->indices_for_step(step);
    const bool has_corrupt = std::find(local.begin(), local.end(), corrupt) != local.end();
    if (has_corrupt) {
      try {
        loader.next();
        FAIL("step " << step << " holds the corrupt image but did not throw");
      } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        CHECK(what.find("image " + std::to_string(begin + corrupt)) != std::string::npos);
        CHECK(what.find("step " + std::to_string(step)) != std::string::npos);
        ++failures;
      }
    } else {
      REQUIRE(loader.next().step == step);
    }
  }
  CHECK(failures >= 1);
}

TEST_CASE("loader: destroying it mid-run stops and joins promptly", "[loader]") {
  const auto shard = pic::test::make_photo_shard(24, 0);
  const auto start = std::chrono::steady_clock::now();
  {
    pic::BatchLoader loader(shard, window_sampler(shard.size()), small_multicrop(), options(3), 0,
                            100000);
    loader.next();
  }
  {
    // Never asked for a batch at all.
    pic::BatchLoader idle(shard, window_sampler(shard.size()), small_multicrop(), options(2), 0,
                          100000);
  }
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 5.0);
  CHECK_THROWS_AS(pic::BatchLoader(shard, window_sampler(24), small_multicrop(), options(0), 0, 1),
                  std::invalid_argument);
}

TEST_CASE("sequential loader: every image once, in order, last partial batch included",
          "[loader]") {
  const int64_t begin = 77;
  const auto shard = pic::test::make_photo_shard(10, begin);
  pic::AugmentConfig val;
  val.preset = "val";
  val.image_size = 32;
  auto run = [&](int threads) {
    pic::SequentialLoader loader(shard, val, 4, options(threads, 2));
    REQUIRE(loader.num_batches() == 3);
    std::vector<pic::LoadedBatch> batches;
    while (!loader.done()) batches.push_back(loader.next());
    return batches;
  };
  const auto batches = run(3);
  REQUIRE(batches.size() == 3);
  const std::vector<int64_t> sizes = {4, 4, 2};
  const auto decoder = pic::make_opencv_decoder();
  int64_t expected_id = begin;
  for (size_t t = 0; t < 3; ++t) {
    REQUIRE(batches[t].step == static_cast<int64_t>(t));
    REQUIRE(batches[t].crops.groups.size() == 1);
    REQUIRE(batches[t].crops.groups[0].sizes() == torch::IntArrayRef({sizes[t], 3, 32, 32}));
    for (int64_t i = 0; i < sizes[t]; ++i, ++expected_id) {
      REQUIRE(batches[t].crops.instance_ids[i].item<int64_t>() == expected_id);
      const int64_t local = expected_id - begin;
      REQUIRE(batches[t].labels[i].item<int64_t>() == shard.labels[local]);
      auto expected = torch::empty({3, 32, 32});
      pic::render_val(decoder->decode(shard.image_data(local), shard.image_size(local)), 32,
                      expected.data_ptr<float>());
      REQUIRE(torch::equal(batches[t].crops.groups[0][i], expected));
    }
  }
  REQUIRE(expected_id == begin + 10);
  const auto again = run(1);
  for (size_t t = 0; t < 3; ++t) require_same(batches[t], again[t]);
}
