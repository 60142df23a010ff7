#include "data/pic_parity_check.h"

#include <map>
#include <ostream>
#include <set>
#include <stdexcept>

namespace pic {
namespace {

// Names where the reference README asks for the value tolerance, not the update tolerance.
bool is_running_statistic(const std::string& name) {
  auto ends_with = [&](const std::string& suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends_with(".running_mean") || ends_with(".running_var");
}

// x [B, C, 3, H, W] -> crop-major [C * B, 3, H, W] (crop 0 of every image, then crop 1...).
torch::Tensor crop_major(const torch::Tensor& crops) {
  return crops.transpose(0, 1).reshape({-1, crops.size(2), crops.size(3), crops.size(4)});
}

CropBatch read_crop_batch(const ReferenceFile& file) {
  CropBatch batch;
  const torch::Tensor x = file.read_tensor("x");  // [B, C, 3, H, W] large crops
  if (x.dim() != 5) {
    throw std::runtime_error("parity file " + file.path() + ": x has shape " + c10::str(x.sizes()) +
                             ", expected [B, crops, 3, H, W]");
  }
  batch.groups.push_back(crop_major(x));
  if (file.exists("x_small")) {
    const torch::Tensor small = file.read_tensor("x_small");  // [B, S, 3, h, w]
    for (int64_t s = 0; s < small.size(1); ++s)
      batch.groups.push_back(small.select(1, s).contiguous());
  }
  batch.instance_ids = file.read_tensor("y_idx");
  return batch;
}

torch::Tensor scalar(double value) { return torch::tensor(value, torch::kDouble); }

}  // namespace

PicParityConfig read_pic_parity_config(const ReferenceFile& file) {
  PicParityConfig c;
  c.encoder.arch = file.read_string_attribute("/", "arch");
  c.encoder.width = file.read_double_attribute("/", "width");
  c.encoder.mlp_head = file.read_int_attribute("/", "mlp_head") != 0;
  c.encoder.mlp_hidden_dim = file.read_int_attribute("/", "mlp_hidden_dim");
  c.encoder.feature_dim = file.read_int_attribute("/", "feature_dim");
  c.encoder.small_stem =
      file.has_attribute("/", "small_stem") && file.read_int_attribute("/", "small_stem") != 0;
  c.pic.num_instances = file.read_int_attribute("/", "num_instances");
  c.pic.temperature = file.read_double_attribute("/", "temperature");
  c.sgd.momentum = file.read_double_attribute("/", "sgd_momentum");
  c.sgd.weight_decay = file.read_double_attribute("/", "sgd_weight_decay");
  c.lr = file.read_double_attribute("/", "sgd_lr");
  c.sgd_steps = file.read_int_attribute("/", "sgd_steps");
  if (c.sgd_steps != 2) {
    throw std::runtime_error("parity file " + file.path() + ": sgd_steps is " +
                             std::to_string(c.sgd_steps) +
                             "; the schema (after_two_steps/) needs 2");
  }
  return c;
}

NamedTensors named_state(const torch::nn::Module& module) {
  NamedTensors state;
  for (const auto& item : module.named_parameters()) state.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers()) state.emplace_back(item.key(), item.value());
  return state;
}

void load_named_state(const ReferenceFile& file, const std::string& group,
                      torch::nn::Module& module) {
  const std::vector<std::string> in_file = file.list(group);
  const std::set<std::string> file_names(in_file.begin(), in_file.end());
  torch::NoGradGuard no_grad;
  std::set<std::string> loaded;
  for (auto& [name, tensor] : named_state(module)) {
    if (file_names.count(name) == 0) {
      throw std::runtime_error("parity file " + file.path() + ": " + group + "/ has no '" + name +
                               "', which the model built from its attributes has");
    }
    const torch::Tensor value = file.read_tensor(group + "/" + name);
    if (value.sizes() != tensor.sizes()) {
      throw std::runtime_error("parity file " + file.path() + ": " + group + "/" + name +
                               " has shape " + c10::str(value.sizes()) + ", the model expects " +
                               c10::str(tensor.sizes()));
    }
    tensor.copy_(value);
    loaded.insert(name);
  }
  for (const std::string& name : in_file) {
    if (loaded.count(name) == 0) {
      throw std::runtime_error("parity file " + file.path() + ": " + group + "/" + name +
                               " has no counterpart in the model built from its attributes");
    }
  }
}

ParityReport run_pic_parity(const std::string& path, std::ostream* log) {
  const ReferenceFile file(path);
  const PicParityConfig config = read_pic_parity_config(file);
  if (log) {
    *log << "file " << path << ": arch " << config.encoder.arch << ", width "
         << config.encoder.width << ", small_stem " << config.encoder.small_stem << ", head "
         << (config.encoder.mlp_head ? "mlp(" + std::to_string(config.encoder.mlp_hidden_dim) + ")"
                                     : std::string("linear"))
         << " -> " << config.encoder.feature_dim << ", N " << config.pic.num_instances
         << ", temperature " << config.pic.temperature << ", sgd lr " << config.lr << " momentum "
         << config.sgd.momentum << " wd " << config.sgd.weight_decay << "\n";
  }

  // Build from the attributes, then overwrite every parameter and buffer with init/.
  PicModel model(config.encoder, config.pic);
  load_named_state(file, "init", *model);
  const CropBatch batch = read_crop_batch(file);
  if (log) {
    for (size_t g = 0; g < batch.groups.size(); ++g) {
      *log << "crop group " << g << ": " << batch.groups[g].sizes() << "\n";
    }
  }
  ParityReport report;

  // 1. Eval mode (running statistics): encoder output for the first large crop.
  {
    torch::NoGradGuard no_grad;
    model->eval();
    const torch::Tensor first_crop = file.read_tensor("x").select(1, 0).contiguous();
    report.compare("eval_features", model->encoder->forward(first_crop),
                   file.read_tensor("eval_features"), kValueTolerance);
  }

  // 2. Train mode: logits, labels, loss and every gradient of the first forward.
  model->train();
  NamedTensors parameters;
  for (const auto& item : model->named_parameters())
    parameters.emplace_back(item.key(), item.value());
  Sgd sgd(parameters, config.sgd);
  MethodOutput out = model->forward(batch);
  report.compare("train_logits", out.logits, file.read_tensor("train_logits"), kValueTolerance);
  report.compare("train_labels", out.labels, file.read_tensor("train_labels"), 0);
  report.compare("loss", out.loss, scalar(file.read_double_attribute("/", "loss")),
                 kValueTolerance);
  out.loss.backward();
  std::set<std::string> with_reference_grad;
  for (const std::string& name : file.list("grad")) with_reference_grad.insert(name);
  for (const auto& [name, param] : parameters) {
    if (with_reference_grad.erase(name) == 0) {
      report.add_problem("grad/" + name, "no reference gradient in the file");
      continue;
    }
    report.compare("grad/" + name, param.grad(), file.read_tensor("grad/" + name),
                   kUpdateTolerance);
  }
  for (const std::string& name : with_reference_grad) {
    report.add_problem("grad/" + name, "the model has no such parameter");
  }

  // 3. Two SGD steps, each a full train-mode forward + backward on the same inputs.
  sgd.step(config.lr);
  sgd.zero_grad();
  out = model->forward(batch);
  report.compare("loss_after_one_step", out.loss,
                 scalar(file.read_double_attribute("/", "loss_after_one_step")), kValueTolerance);
  out.loss.backward();
  sgd.step(config.lr);

  std::set<std::string> with_reference_state;
  for (const std::string& name : file.list("after_two_steps")) with_reference_state.insert(name);
  for (const auto& [name, tensor] : named_state(*model)) {
    const std::string key = "after_two_steps/" + name;
    if (with_reference_state.erase(name) == 0) {
      report.add_problem(key, "not in the file");
      continue;
    }
    const double tolerance = is_running_statistic(name) ? kValueTolerance : kUpdateTolerance;
    report.compare(key, tensor, file.read_tensor(key), tolerance);
  }
  for (const std::string& name : with_reference_state) {
    report.add_problem("after_two_steps/" + name, "the model has no such tensor");
  }
  return report;
}

}  // namespace pic
