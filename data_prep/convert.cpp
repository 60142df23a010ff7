#include "convert.h"

#include <algorithm>
#include <atomic>
#include <future>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "collective_failure.h"
#include "comm/mpi_job.h"
#include "core/counter_rng.h"
#include "core/sampler.h"
#include "data/dataset_format.h"
#include "dataset_writer.h"
#include "image_check.h"
#include "progress.h"

namespace pic::prep {
namespace {

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

// What happened to one rank's images so far.
struct ImageCounts {
  int64_t skipped = 0;
  int64_t reencoded = 0;
  int64_t shrunk = 0;
  int64_t damaged = 0;
};

// The good images of batch = items order[first, first + batch.size()) as rows for the writer,
// in order. Each problem gets a log line naming the image (prefix: "pic-prep: " or
// "pic-prep: rank R: "); with --strict a JPEG that decodes only with warnings is a problem.
std::vector<ImageRow> keep_good_images(std::vector<PreparedImage>& batch,
                                       const std::vector<SourceItem>& items,
                                       const std::vector<size_t>& order, size_t first,
                                       const ConvertOptions& options, const std::string& prefix,
                                       std::ostream& log, ImageCounts& counts) {
  std::vector<ImageRow> rows;
  for (size_t j = 0; j < batch.size(); ++j) {
    PreparedImage& image = batch[j];
    const SourceItem& item = items[order[first + j]];
    if (image.ok && !image.warning.empty()) {
      if (options.strict) {
        image.ok = false;
        image.problem = image.warning + " (--strict refuses damaged images that decode)";
      } else {
        log << prefix << "warning: " << item.name << ": " << image.warning
            << "; kept (it decodes; --strict refuses it)" << std::endl;
        ++counts.damaged;
      }
    }
    if (!image.ok) {
      log << prefix << "skipped " << item.name << ": " << image.problem << std::endl;
      ++counts.skipped;
      continue;
    }
    counts.reencoded += image.reencoded ? 1 : 0;
    counts.shrunk += image.shrunk ? 1 : 0;
    rows.push_back(ImageRow{std::move(image.bytes), item.label, item.name});
  }
  return rows;
}

// Each rank lists the source itself; their shares only fit together if the lists agree
// (a folder changing under a running job would break that): compare a hash of them.
void check_same_listing(const ImageSource& source, MPI_Comm comm, const std::string& input) {
  uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a
  auto mix = [&hash](const void* data, size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) hash = (hash ^ bytes[i]) * 0x100000001b3ull;
  };
  for (const SourceItem& item : source.items()) {
    mix(item.name.data(), item.name.size() + 1);  // with the NUL: names stay apart
    mix(&item.label, sizeof item.label);
  }
  for (const std::string& name : source.class_names()) mix(name.data(), name.size() + 1);
  uint64_t low = hash, high = hash;
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &low, 1, MPI_UINT64_T, MPI_MIN, comm), "MPI_Allreduce",
            rank);
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &high, 1, MPI_UINT64_T, MPI_MAX, comm), "MPI_Allreduce",
            rank);
  if (low != high) {
    throw CollectiveError(input +
                          ": the ranks listed different images or classes (did the "
                          "input change while the job started?)");
  }
}

}  // namespace

ConvertSummary convert_to_dataset(const ImageSource& source, const ConvertOptions& options,
                                  MPI_Comm comm, std::ostream& log) {
  int rank = 0, world = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &world);
  check_same_listing(source, comm, options.source);
  const std::vector<SourceItem>& items = source.items();
  ConvertSummary summary;
  summary.candidates = static_cast<int64_t>(items.size());
  if (items.empty()) throw CollectiveError(options.source + ": no images found");

  // The one shuffle of the dataset order (docs/dataset-format.md, "Order"), alike on all ranks.
  std::vector<size_t> order(items.size());
  std::iota(order.begin(), order.end(), size_t{0});
  shuffle_with_key(order.begin(), order.end(),
                   hash_key({options.seed, dataset_format::kShuffleDomain}));
  if (options.max_images > 0 && static_cast<size_t>(options.max_images) < order.size()) {
    order.resize(static_cast<size_t>(options.max_images));
    if (rank == 0) {
      log << "pic-prep: keeping the first " << options.max_images << " of " << items.size()
          << " images of the shuffled order (--max-images)\n";
    }
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
  // Chunk sizes must match on every rank: rank 0's estimate (file sizes) for all.
  metadata.expected_total_bytes = source.estimated_total_bytes();
  check_mpi(MPI_Bcast(&metadata.expected_total_bytes, 1, MPI_UINT64_T, 0, comm), "MPI_Bcast", rank);
  DatasetWriter writer(comm, options.output, metadata);

  ProgressMeter progress(static_cast<int64_t>(order.size()), options.progress_seconds, log);
  const int threads = std::max(1, options.threads);
  const size_t round_items = static_cast<size_t>(std::max(1, options.round_images)) * world;
  const std::string prefix =
      world > 1 ? "pic-prep: rank " + std::to_string(rank) + ": " : std::string("pic-prep: ");
  // This rank's consecutive share of the round starting at `first` (shard_range: the first
  // ranks take one image more), as positions [begin, end) in the shuffled order.
  auto share_of_round = [&](size_t first) {
    const size_t last = std::min(order.size(), first + round_items);
    const ShardRange share = shard_range(static_cast<int64_t>(last - first), rank, world);
    return std::make_pair(first + static_cast<size_t>(share.begin),
                          first + static_cast<size_t>(share.end));
  };
  // Reads and checks a round's share on its own threads, so that the next round is read
  // while this one is agreed on and written (no MPI there: only the main thread calls MPI).
  auto start_reading = [&](size_t first) {
    const auto [begin, end] = share_of_round(first);
    return std::async(std::launch::async, [&source, &order, &options, begin, end, threads] {
      return prepare_batch(source, order, begin, end, threads, options.shrink);
    });
  };

  ImageCounts counts;
  try {
    std::future<std::vector<PreparedImage>> reading = start_reading(0);
    for (size_t first = 0; first < order.size(); first += round_items) {
      // Check locally; any failure here is agreed on before the collective writes.
      std::vector<ImageRow> rows;
      std::string error;
      int64_t problems = 0;  // this rank's refused images in this round
      try {
        std::vector<PreparedImage> batch = reading.get();
        if (first + round_items < order.size()) reading = start_reading(first + round_items);
        const int64_t skipped_before = counts.skipped;
        rows = keep_good_images(batch, items, order, share_of_round(first).first, options, prefix,
                                log, counts);
        problems = counts.skipped - skipped_before;
      } catch (const std::exception& e) {
        error = e.what();
      }
      // Ranks finish their shares at different times: wait for the others asleep, so that
      // this rank's reading threads (already on the next round) keep the core.
      barrier_without_spinning(comm);
      if (options.strict) {
        // The round's problems over all ranks, so that the refusal counts all of them.
        check_mpi(MPI_Allreduce(MPI_IN_PLACE, &problems, 1, MPI_INT64_T, MPI_SUM, comm),
                  "MPI_Allreduce", rank);
        if (problems > 0 && error.empty() && rank == 0) {
          error = "--strict: " + std::to_string(problems) +
                  " image(s) with problems so far (listed above by the ranks that read them); no "
                  "output written";
        }
      }
      agree_on_failure(comm, error);

      writer.add_round(std::move(rows));
      if (rank == 0) {
        progress.update(static_cast<int64_t>(std::min(order.size(), first + round_items)));
      }
    }
    if (writer.num_images() == 0) {
      throw CollectiveError(options.source + ": none of the " + std::to_string(summary.candidates) +
                            " images could be used; no output written");
    }
    writer.finish();
  } catch (const CollectiveError&) {
    writer.abandon();  // all ranks are here together
    throw;
  }

  int64_t totals[4] = {counts.skipped, counts.reencoded, counts.shrunk, counts.damaged};
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, totals, 4, MPI_INT64_T, MPI_SUM, comm), "MPI_Allreduce",
            rank);
  summary.skipped = totals[0];
  summary.reencoded = totals[1];
  summary.shrunk = totals[2];
  summary.damaged = totals[3];
  summary.written = writer.num_images();
  summary.bytes = writer.num_bytes();
  summary.seconds = progress.elapsed_seconds();
  return summary;
}

}  // namespace pic::prep
