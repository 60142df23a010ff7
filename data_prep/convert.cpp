#include "convert.h"

#include <algorithm>
#include <atomic>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/counter_rng.h"
#include "data/dataset_format.h"
#include "dataset_writer.h"
#include "image_check.h"
#include "progress.h"

namespace pic::prep {
namespace {

// Items handled per round of threads: bounds the memory held in encoded images.
constexpr size_t kBatchItems = 256;

// Reads and checks items order[first, last) on `threads` threads; result j is item first + j.
std::vector<PreparedImage> prepare_batch(const ImageSource& source,
                                         const std::vector<size_t>& order, size_t first,
                                         size_t last, int threads, const ShrinkPolicy& shrink) {
  std::vector<PreparedImage> results(last - first);
  std::atomic<size_t> next{first};
  auto work = [&] {
    for (size_t k = next++; k < last; k = next++) {
      PreparedImage& result = results[k - first];
      try {
        result = prepare_image(source.read(order[k]), shrink);
      } catch (const std::exception& e) {
        result = PreparedImage();
        result.problem = std::string("unreadable: ") + e.what();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& thread : pool) thread.join();
  return results;
}

}  // namespace

ConvertSummary convert_to_dataset(const ImageSource& source, const ConvertOptions& options,
                                  std::ostream& log) {
  const std::vector<SourceItem>& items = source.items();
  ConvertSummary summary;
  summary.candidates = static_cast<int64_t>(items.size());
  if (items.empty()) throw std::runtime_error(options.source + ": no images found");

  // The one shuffle of the dataset order (docs/dataset-format.md, "Order").
  std::vector<size_t> order(items.size());
  std::iota(order.begin(), order.end(), size_t{0});
  shuffle_with_key(order.begin(), order.end(),
                   hash_key({options.seed, dataset_format::kShuffleDomain}));
  if (options.max_images > 0 && static_cast<size_t>(options.max_images) < order.size()) {
    order.resize(static_cast<size_t>(options.max_images));
    log << "pic-prep: keeping the first " << options.max_images << " of " << items.size()
        << " images of the shuffled order (--max-images)\n";
    summary.candidates = options.max_images;
  }

  DatasetMetadata metadata;
  metadata.class_names = source.class_names();
  metadata.shuffle_seed = options.seed;
  metadata.source_kind = source.kind();
  metadata.source = options.source;
  metadata.created_by = options.created_by;
  for (const SourceItem& item : items) {
    metadata.max_source_name_length = std::max(metadata.max_source_name_length, item.name.size());
  }
  metadata.expected_images = static_cast<int64_t>(order.size());
  metadata.expected_total_bytes = source.estimated_total_bytes();
  DatasetWriter writer(options.output, metadata);

  ProgressMeter progress(static_cast<int64_t>(order.size()), options.progress_seconds, log);
  const int threads = std::max(1, options.threads);
  for (size_t first = 0; first < order.size(); first += kBatchItems) {
    const size_t last = std::min(order.size(), first + kBatchItems);
    std::vector<PreparedImage> batch =
        prepare_batch(source, order, first, last, threads, options.shrink);

    // Write in shuffled order; report each problem with the item's name.
    for (size_t k = first; k < last; ++k) {
      PreparedImage& image = batch[k - first];
      const SourceItem& item = items[order[k]];
      if (image.ok && !image.warning.empty()) {
        if (options.strict) {
          image.ok = false;
          image.problem = image.warning + " (--strict refuses damaged images that decode)";
        } else {
          log << "pic-prep: warning: " << item.name << ": " << image.warning
              << "; kept (it decodes; --strict refuses it)" << std::endl;
          ++summary.damaged;
        }
      }
      if (!image.ok) {
        log << "pic-prep: skipped " << item.name << ": " << image.problem << std::endl;
        ++summary.skipped;
        continue;
      }
      summary.reencoded += image.reencoded ? 1 : 0;
      summary.shrunk += image.shrunk ? 1 : 0;
      writer.append(image.bytes, item.label, item.name);
    }
    if (options.strict && summary.skipped > 0) {
      throw std::runtime_error("--strict: " + std::to_string(summary.skipped) +
                               " image(s) with problems (listed above); no output written");
    }
    progress.update(static_cast<int64_t>(last));
  }
  if (writer.num_images() == 0) {
    throw std::runtime_error(options.source + ": none of the " +
                             std::to_string(summary.candidates) +
                             " images could be used; no output written");
  }

  writer.finish();
  summary.written = writer.num_images();
  summary.bytes = writer.num_bytes();
  summary.seconds = progress.elapsed_seconds();
  return summary;
}

}  // namespace pic::prep
