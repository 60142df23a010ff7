#include "train/pretrainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "comm/mpi_communicator.h"
#include "core/gradient_buckets.h"
#include "core/lr_schedule.h"
#include "core/sgd.h"
#include "core/training_method.h"
#include "data/augment.h"
#include "data/batch_loader.h"
#include "data/dataset_reader.h"
#include "train/checkpoint.h"
#include "train/fault_injection.h"
#include "train/method_builder.h"
#include "train/metrics_log.h"
#include "train/nonfinite_steps.h"
#include "train/rank_strings.h"
#include "train/resume_check.h"
#include "train/resume_position.h"
#include "train/root_log.h"
#include "train/stop_signal.h"
#include "train/training_plan.h"

namespace pic {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

NamedTensors to_named(const torch::OrderedDict<std::string, torch::Tensor>& dict,
                      const std::string& prefix = "") {
  NamedTensors named;
  for (const auto& item : dict) named.emplace_back(prefix + item.key(), item.value());
  return named;
}

// Seconds spent in each phase of the steps since the last log line.
struct PhaseSeconds {
  double compute = 0;    // forward + backward, the head's collectives and started buckets included
  double sync = 0;       // the encoder gradient all-reduce not hidden behind backward
  double optimizer = 0;  // optimizer step and the method's own update (rows, bank, EMA)
};

double seconds_since(Clock::time_point& start) {
  const auto now = Clock::now();
  const double seconds = std::chrono::duration<double>(now - start).count();
  start = now;
  return seconds;
}

// Everything a step needs, built once.
struct Run {
  std::unique_ptr<TrainingMethod> method;
  NamedTensors parameters;  // the encoder's, "encoder.*": the all-reduced set
  NamedTensors buffers;     // the encoder's BatchNorm buffers, "encoder.*"
  std::unique_ptr<GradientBuckets> gradients;  // the encoder's, averaged over ranks
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<LrSchedule> schedule;
  TrainingPlan plan;
  // The first step of this process, and the images seen before it.
  ResumePosition start;
  ShardedRows rows;
  std::string config_json;
  PhaseSeconds phases;
  double lr_scale = 1.0;  // lowered after a run of non-finite steps (nonfinite_steps.h)
  FaultInjection faults;  // tests only
};

LrSchedule build_schedule(const PretrainOptions& o, const TrainingPlan& plan, int world) {
  LrScheduleConfig config;
  config.base_lr = scale_learning_rate(o.base_lr, o.batch_size * world);
  config.scheduler = o.lr_scheduler;
  config.warmup_epochs = plan.warmup_epochs;
  config.warmup_multiplier = o.warmup_multiplier;
  config.epochs = plan.epochs;
  config.iters_per_epoch = plan.iters_per_epoch;
  config.lr_decay_epochs = plan.lr_decay_epochs;
  config.lr_decay_rate = o.lr_decay_rate;
  return LrSchedule(config);
}

CheckpointTensors checkpoint_tensors(Run& run) {
  CheckpointTensors tensors;
  MethodTensors extra = run.method->extra_tensors();
  tensors.model = run.parameters;
  tensors.model.insert(tensors.model.end(), run.buffers.begin(), run.buffers.end());
  tensors.model.insert(tensors.model.end(), extra.model.begin(), extra.model.end());
  tensors.momentum = run.optimizer->momentum_buffers();
  tensors.momentum.insert(tensors.momentum.end(), extra.momentum.begin(), extra.momentum.end());
  tensors.instance_level = extra.instance_level;
  return tensors;
}

// Writes a checkpoint after `steps_done` steps (below; an elastic resume uses it too).
std::string save(const PretrainOptions& o, Run& run, Communicator& comm, int64_t steps_done);

// The checkpoints to try, decided by rank 0 (one view of the file system): --resume FILE
// alone, or with --auto-resume the complete ones of the output folder, best first
// (checkpoint_files.h); none to start from scratch.
// Rank 0's list of paths, on every rank.
std::vector<std::string> broadcast_paths(Communicator& comm,
                                         const std::vector<std::string>& paths) {
  std::string joined;
  for (const std::string& path : paths) joined += path + "\n";
  joined = broadcast_string(comm, joined);
  std::vector<std::string> all;
  std::istringstream lines(joined);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) all.push_back(line);
  }
  return all;
}

std::vector<std::string> resume_candidates(const PretrainOptions& o, Communicator& comm) {
  std::vector<std::string> paths;
  if (comm.is_root()) {
    if (!o.resume.empty()) {
      paths = {o.resume};
    } else if (o.auto_resume) {
      const CheckpointCandidates candidates = list_checkpoint_candidates(o.output_dir);
      if (!candidates.paths.empty() && !candidates.note.empty()) {
        log_root(comm, "warning: " + candidates.note);
      }
      if (candidates.paths.empty()) {
        log_root(comm, "auto-resume: no checkpoint in " + o.output_dir + ", starting from scratch");
      }
      paths = candidates.paths;
    }
  }
  return broadcast_paths(comm, paths);
}

// The options the checkpoint's run used, compared with this run's before any tensor is read
// (rank 0 reads the file; an unreadable attribute leaves the check to load_checkpoint).
std::vector<ChangedOption> options_changed_since(const std::string& path, const Run& run,
                                                 Communicator& comm) {
  std::string saved;
  if (comm.is_root()) {
    try {
      saved = read_checkpoint_config(path);
    } catch (const std::exception&) {
      saved.clear();
    }
  }
  saved = broadcast_string(comm, saved);
  if (saved.empty()) return {};
  return changed_run_options(saved, run.config_json, path);
}

// Loads `path` into the run and sets run.start; throws CheckpointDamaged for a damaged file.
void resume_from(const std::string& path, const PretrainOptions& o, Run& run, Communicator& comm) {
  const std::vector<ChangedOption> changes = options_changed_since(path, run, comm);
  for (const ChangedOption& change : changes) {
    if (change.name != "model") continue;
    throw std::invalid_argument(
        "checkpoint " + path + " was written by --model " + change.saved + "; this run is " +
        "--model " + change.now + ", whose state does not carry over: resume with --model " +
        change.saved + ", or start afresh in another --output-dir (without --auto-resume)");
  }
  LoadedCheckpoint loaded;
  try {
    loaded = load_checkpoint(path, comm, checkpoint_tensors(run), run.rows, InstanceRows::kMine);
  } catch (const CheckpointDamaged&) {
    throw;
  } catch (const std::exception& e) {
    if (changes.empty()) throw;
    // A shape mismatch usually comes from one of these (a queue length, a feature dimension).
    throw std::runtime_error(
        std::string(e.what()) +
        "\n  options that differ from the checkpoint's: " + describe_changes(changes));
  }

  // Where this run continues: the same step on the same rank count, else the step of this
  // run's plan at the same number of images seen (train/resume_position.h).
  const SavedProgress saved{loaded.state.step, loaded.state.images_seen, loaded.saved_world_size};
  run.start = resume_position(saved, run.plan, o.batch_size, comm.world_size());
  run.method->after_load(run.start.step);
  run.lr_scale = loaded.state.lr_scale;
  log_root(comm, "resumed from " + loaded.path + " at step " + std::to_string(loaded.state.step) +
                     " (written by " + std::to_string(loaded.saved_world_size) + " ranks)");
  if (loaded.format_version < kCheckpointFormatVersion) {
    log_root(comm, "warning: " + loaded.path + " has format_version " +
                       std::to_string(loaded.format_version) +
                       ": no checksums to verify, loaded as it is");
  }
  if (run.lr_scale != 1.0) {
    log_root(comm, "the learning rate stays at " + std::to_string(run.lr_scale) +
                       " x the schedule's, as lowered after non-finite steps before");
  }
  if (run.start.remapped) {
    log_root(comm, "elastic resume: " + run.start.description +
                       "; the losses will not match an uninterrupted run bit for bit");
  }
  if (!changes.empty()) {
    log_root(comm, "warning: resuming with options that differ from the checkpoint's: " +
                       describe_changes(changes) + "; training continues from step " +
                       std::to_string(run.start.step) + " but is no longer the same run");
  }
}

// Resumes if asked to; returns the first step to run. With --auto-resume a damaged
// checkpoint (checksum, truncation) is reported and the next older one is tried.
int64_t maybe_resume(const PretrainOptions& o, Run& run, Communicator& comm) {
  run.start = ResumePosition{};
  run.start.step = run.plan.first_step;
  run.start.images_seen = run.plan.first_step * o.batch_size * comm.world_size();
  const std::vector<std::string> candidates = resume_candidates(o, comm);
  for (size_t i = 0; i < candidates.size(); ++i) {
    try {
      resume_from(candidates[i], o, run, comm);
    } catch (const CheckpointDamaged& e) {
      if (!o.auto_resume) throw;
      const bool last = i + 1 == candidates.size();
      log_root(comm, std::string("warning: ") + e.what() + "; " +
                         (last ? "no older checkpoint is left"
                               : "falling back to the previous one, " + candidates[i + 1]));
      if (last) {
        // The model may hold some of the damaged file's bytes: it cannot start from scratch.
        throw std::runtime_error("--auto-resume: no usable checkpoint in " + o.output_dir +
                                 " (all damaged, see above); move them away to start afresh");
      }
      continue;
    }
    // A run resumed on another rank count writes its position in its own terms at once.
    if (run.start.remapped) save(o, run, comm, run.start.step);
    return run.start.step;
  }
  return run.start.step;
}

std::string save(const PretrainOptions& o, Run& run, Communicator& comm, int64_t steps_done) {
  CheckpointState state;
  state.step = steps_done;
  state.epoch = steps_done / run.plan.iters_per_epoch;
  state.images_seen =
      run.start.images_seen + (steps_done - run.start.step) * o.batch_size * comm.world_size();
  state.seed = o.seed;
  state.config_json = run.config_json;
  state.lr_scale = run.lr_scale;
  const auto start = Clock::now();
  run.method->before_save(steps_done);
  std::string path = save_checkpoint(o.output_dir, comm, checkpoint_tensors(run), run.rows, state);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  char text[64];
  std::snprintf(text, sizeof text, " (%.2f s)", seconds);
  log_root(comm, "checkpoint: " + path + text);

  // --keep-last: rank 0 deletes the oldest files, never the one just published.
  if (comm.is_root()) {
    for (const std::string& removed : remove_old_checkpoints(o.output_dir, o.keep_last)) {
      log_root(comm, "checkpoint: removed " + removed + " (--keep-last " +
                         std::to_string(o.keep_last) + ")");
    }
  }
  return path;
}

void write_config_json(const std::string& output_dir, const std::string& json) {
  const fs::path path = fs::path(output_dir) / "config.json";
  std::ofstream out(path);
  out << json << "\n";
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string describe_plan(const PretrainOptions& o, const TrainingPlan& plan, int64_t n, int world,
                          double lr) {
  char text[512];
  std::snprintf(text, sizeof text,
                "plan: %lld images on %d ranks, %s, %lld %sepochs x %lld steps = %lld steps "
                "(this run: %lld..%lld), warm-up %.6g epochs, lr %.6g (global batch %lld)",
                static_cast<long long>(n), world,
                o.use_sliding_window_sampler ? "sliding window" : "shuffled epochs",
                static_cast<long long>(plan.epochs), o.use_sliding_window_sampler ? "window " : "",
                static_cast<long long>(plan.iters_per_epoch),
                static_cast<long long>(plan.total_steps), static_cast<long long>(plan.first_step),
                static_cast<long long>(plan.end_step), plan.warmup_epochs, lr,
                static_cast<long long>(o.batch_size * world));
  std::string line = text;
  if (o.use_sliding_window_sampler) {
    line += ", window " + std::to_string(plan.window) + " / stride " + std::to_string(plan.stride) +
            " images per rank";
  }
  return line;
}

std::string describe_gradient_sync(const GradientBuckets& gradients, const std::string& mode) {
  int64_t bytes = 0;
  for (int64_t b = 0; b < gradients.num_buckets(); ++b) bytes += gradients.bucket_bytes(b);
  char text[160];
  std::snprintf(text, sizeof text, "gradients: %.1f MB in %lld all-reduce buckets (%s)",
                static_cast<double>(bytes) / (1 << 20),
                static_cast<long long>(gradients.num_buckets()),
                mode == "overlap" ? "started during backward" : "started after backward");
  return text;
}

// `views`: crops of every image the method needs (two for MoCo and SimCLR).
AugmentConfig augment_config(const PretrainOptions& o, int64_t views) {
  AugmentConfig aug;
  aug.preset = o.aug;
  aug.image_size = o.image_size;
  aug.image_size2 = o.image_size2;
  aug.crop = o.crop;
  aug.crop2 = o.crop2;
  // MultiCrop makes --num-crop + --num-crop2 crops; the other presets make `views` crops of
  // scale [crop, 1], each with its own random draws.
  const bool multi_crop = o.aug == "MultiCrop";
  aug.num_crop = multi_crop ? o.num_crop : views;
  aug.num_crop2 = multi_crop ? o.num_crop2 : 0;
  return aug;
}

struct StepResult {
  double loss = 0;       // the mean over the global batch
  bool applied = false;  // false: skipped, the loss or a gradient was not finite
};

std::vector<torch::Tensor> copies_of(const NamedTensors& tensors) {
  std::vector<torch::Tensor> copies;
  copies.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) copies.push_back(tensor.detach().clone());
  return copies;
}

void restore(const NamedTensors& tensors, const std::vector<torch::Tensor>& copies) {
  torch::NoGradGuard no_grad;
  for (size_t k = 0; k < tensors.size(); ++k) tensors[k].second.copy_(copies[k]);
}

// One optimizer step on every rank, or on none when any rank's loss or the averaged gradients
// are not finite (then the encoder's BatchNorm statistics are put back as they were).
StepResult train_step(Run& run, CropBatch& batch, int64_t step, Communicator& comm) {
  auto start = Clock::now();
  const std::vector<torch::Tensor> statistics = copies_of(run.buffers);  // small: BN only
  if (run.faults.poison(step, batch)) {
    std::fprintf(stderr, "pic: rank %d: PIC_TEST_NONFINITE_AT: step %lld gets NaN images\n",
                 comm.rank(), static_cast<long long>(step + 1));
  }
  run.gradients->zero_grad();
  StepResult result;
  result.loss = run.method->forward_backward(batch, step);
  run.phases.compute += seconds_since(start);
  run.gradients->finish();
  const bool finite = std::isfinite(result.loss) && run.gradients->all_finite();
  result.applied = comm.all_reduce_min(static_cast<int64_t>(finite)) == 1;
  run.phases.sync += seconds_since(start);
  if (!result.applied) {
    restore(run.buffers, statistics);
    return result;
  }
  const double lr = run.schedule->at(step) * run.lr_scale;
  run.optimizer->step(lr);
  run.method->after_step(lr, step);
  run.phases.optimizer += seconds_since(start);
  return result;
}

// After a run of non-finite steps: back to the newest checkpoint in the output folder with a
// lower learning rate. Returns the step to continue from.
int64_t reload_after_nonfinite(const PretrainOptions& o, Run& run, Communicator& comm,
                               const std::string& reason) {
  const std::vector<std::string> candidates = broadcast_paths(
      comm, comm.is_root() ? list_checkpoint_candidates(o.output_dir).paths
                           : std::vector<std::string>{});
  LoadedCheckpoint loaded;
  for (const std::string& candidate : candidates) {
    try {
      loaded = load_checkpoint(candidate, comm, checkpoint_tensors(run), run.rows,
                               InstanceRows::kMine);
      break;
    } catch (const CheckpointDamaged& e) {
      log_root(comm, std::string("warning: ") + e.what() + "; trying an older one");
    }
  }
  if (loaded.path.empty()) {
    throw std::runtime_error(reason + ", and " + o.output_dir +
                             " holds no checkpoint to go back to: lower --base-lr or check "
                             "the data");
  }
  const std::string& path = loaded.path;
  run.method->after_load(loaded.state.step);
  run.lr_scale = loaded.state.lr_scale * o.nonfinite_lr_factor;
  char scale[32];
  std::snprintf(scale, sizeof scale, "%.6g", run.lr_scale);
  log_root(comm, "warning: " + reason + ": going back to " + path + " (step " +
                     std::to_string(loaded.state.step) + ") with the learning rate at " + scale +
                     " x the schedule's");
  return loaded.state.step;
}

}  // namespace

int run_pretrain(const PretrainOptions& o, Communicator& comm) {
  const int world = comm.world_size();
  validate_pretrain_options(o, world);
  crop_specs(augment_config(o, 1));  // the augmentation's own checks, before any data is read
  torch::set_num_threads(o.threads);
  cv::setNumThreads(1);  // the loader's workers are the parallelism; no OpenCV pool under them
  install_stop_signal_handlers();

  // Output folder, resolved configuration, placement.
  if (comm.is_root()) fs::create_directories(o.output_dir);
  comm.barrier();
  JsonObject config = pretrain_options_json(o);
  config.add("world_size", world);
  log_root(comm, "pic-pretrain configuration:\n" + format_options_table(config));
  const std::string placement = placement_table(comm, o.threads, o.num_workers);
  log_root(comm, "placement:\n" + placement);

  // Data: each rank reads its own shard; steps come from the smallest one.
  const auto read_start = Clock::now();
  auto shard = std::make_shared<DatasetShard>(
      read_dataset_shard(o.train_file, mpi_comm_of(comm, "pic-pretrain")));
  const int64_t n = shard->info.num_images;
  const int64_t min_shard = comm.all_reduce_min(shard->size());
  log_root(
      comm,
      "data: " + o.train_file + ", " + std::to_string(n) + " images, shards of " +
          std::to_string(min_shard) + ".." + std::to_string(shard->size()) + " images, read in " +
          std::to_string(std::chrono::duration<double>(Clock::now() - read_start).count()) + " s");

  Run run;
  run.plan = plan_training(o, n, min_shard, world);
  for (const auto& warning : run.plan.warnings) log_root(comm, "warning: " + warning);
  run.schedule = std::make_unique<LrSchedule>(build_schedule(o, run.plan, world));
  run.rows = ShardedRows{n, shard->range};
  BuiltMethod built =
      build_method(o, run.plan, *run.schedule, run.rows, shard->size(), min_shard, comm);
  run.method = std::move(built.method);
  run.parameters = to_named(run.method->encoder()->named_parameters(), "encoder.");
  run.buffers = to_named(run.method->encoder()->named_buffers(), "encoder.");
  run.optimizer = build_optimizer(o, run.parameters);
  GradientBucketOptions bucket_options;
  bucket_options.bucket_bytes = static_cast<int64_t>(o.grad_bucket_mb * (1 << 20));
  bucket_options.overlap = o.grad_sync == "overlap";
  run.gradients = std::make_unique<GradientBuckets>(run.parameters, comm, bucket_options);
  log_root(comm, built.description);
  log_root(comm, describe_gradient_sync(*run.gradients, o.grad_sync));
  run.config_json = config.dump();
  log_root(comm, describe_plan(o, run.plan, n, world, run.schedule->config().base_lr));
  const int64_t first_step = maybe_resume(o, run, comm);
  // After the resume, so that a refused one leaves the folder's config.json as it was.
  if (comm.is_root()) write_config_json(o.output_dir, config.dump(true));
  const int64_t end_step = run.plan.end_step;
  if (first_step >= end_step) {
    log_root(comm, "nothing to do: step " + std::to_string(first_step) + " >= end step " +
                       std::to_string(end_step));
    return 0;
  }

  // Loader: decodes and augments batches [first, end_step) ahead on worker threads; rebuilt
  // at the checkpoint's step when non-finite steps send the run back to it.
  LoaderOptions loader_options;
  loader_options.num_threads = o.num_workers;
  loader_options.prefetch_batches = static_cast<int>(o.prefetch);
  loader_options.seed = o.seed;
  loader_options.rank = comm.rank();
  const AugmentConfig augment = augment_config(o, run.method->views_per_image());
  auto make_loader = [&](int64_t first) {
    return std::make_unique<BatchLoader>(
        *shard, make_sampler(o, run.plan, shard->size(), min_shard, comm.rank()), augment,
        loader_options, first, end_step);
  };
  std::unique_ptr<BatchLoader> loader = make_loader(first_step);
  double wait_of_earlier_loaders = 0;
  auto total_wait = [&] { return wait_of_earlier_loaders + loader->total_wait_seconds(); };
  run.faults = FaultInjection::from_environment(comm.rank());
  NonfinitePolicy nonfinite_policy;
  nonfinite_policy.skip_limit = o.nonfinite_skip_limit;
  nonfinite_policy.lr_factor = o.nonfinite_lr_factor;
  NonfiniteSteps nonfinite(nonfinite_policy);

  std::unique_ptr<MetricsFile> metrics_file;
  if (comm.is_root()) {
    metrics_file =
        std::make_unique<MetricsFile>((fs::path(o.output_dir) / "metrics.jsonl").string());
  }
  const int64_t save_every =
      o.save_every_steps > 0 ? o.save_every_steps : o.save_freq * run.plan.iters_per_epoch;
  const int64_t images_per_step = o.batch_size * world;
  IntervalMeter meter(total_wait());
  double loss_sum = 0;  // over the applied steps
  int64_t applied_steps = 0;
  int64_t steps_in_interval = 0;
  const auto run_start = Clock::now();

  run.method->encoder()->train();
  for (int64_t step = first_step; step < end_step; ++step) {
    // Train.
    LoadedBatch batch = loader->next();
    if (batch.step != step) {
      throw std::logic_error("loader returned step " + std::to_string(batch.step) + ", expected " +
                             std::to_string(step));
    }
    const StepResult result = train_step(run, batch.crops, step, comm);
    const double loss = result.loss;
    const int64_t done = step + 1;
    ++steps_in_interval;
    const bool go_back = nonfinite.record(result.applied);
    if (result.applied) {
      loss_sum += loss;
      ++applied_steps;
    } else {
      log_root(comm, "warning: " + nonfinite.describe_skip(step, loss));
    }
    if (go_back) {
      const int64_t back_to =
          reload_after_nonfinite(o, run, comm, nonfinite.describe_reload_reason(step));
      nonfinite.reloaded();
      wait_of_earlier_loaders += loader->total_wait_seconds();
      loader.reset();  // joins its workers before the next one starts
      loader = make_loader(back_to);
      step = back_to - 1;
      continue;
    }

    // Log.
    if (done % o.print_freq == 0 || done == end_step) {
      StepMetrics m;
      m.step = done;
      m.total_steps = run.plan.total_steps;
      m.epoch = step / run.plan.iters_per_epoch + 1;
      m.lr = run.schedule->at(step) * run.lr_scale;
      m.loss = loss;
      m.loss_avg = applied_steps > 0 ? loss_sum / static_cast<double>(applied_steps) : loss;
      m.skipped_steps = nonfinite.skipped_total();
      m.lr_scale = run.lr_scale;
      meter.close(steps_in_interval, images_per_step, total_wait(), end_step - done, m);
      m.compute_seconds = run.phases.compute / steps_in_interval;
      m.sync_seconds = run.phases.sync / steps_in_interval;
      m.optimizer_seconds = run.phases.optimizer / steps_in_interval;
      run.phases = PhaseSeconds{};
      steps_in_interval = 0;
      log_root(comm, format_step_line(m));
      if (metrics_file) metrics_file->write(m);
    }

    // Checkpoint: on schedule, at the end, or when any rank got a signal.
    const auto request =
        static_cast<StopRequest>(comm.all_reduce_max(static_cast<int64_t>(take_stop_request())));
    // Not on schedule in the middle of non-finite steps: the weights are the last good ones,
    // but MoCo's queue may not be, and this is the checkpoint a reload would go back to.
    const bool scheduled = done % save_every == 0 && nonfinite.in_a_row() == 0;
    if (scheduled || done == end_step || request != StopRequest::kNone) {
      save(o, run, comm, done);
    }
    if (request == StopRequest::kCheckpointAndExit && done < end_step) {
      log_root(comm, "stopped by signal after step " + std::to_string(done) +
                         "; continue with --auto-resume (exit status " +
                         std::to_string(kExitStoppedToResume) + ")");
      return kExitStoppedToResume;
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - run_start).count();
  char text[160];
  std::snprintf(text, sizeof text, "done: steps %lld..%lld in %s, %.1f images/s",
                static_cast<long long>(first_step), static_cast<long long>(end_step),
                format_duration(seconds).c_str(),
                (end_step - first_step) * images_per_step / seconds);
  log_root(comm, text);
  return 0;
}

}  // namespace pic
