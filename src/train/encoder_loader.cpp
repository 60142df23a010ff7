#include "train/encoder_loader.h"

#include <filesystem>
#include <map>
#include <stdexcept>

#include "train/checkpoint.h"
#include "train/checkpoint_config.h"

namespace pic {
namespace {

constexpr const char* kEncoderPrefix = "encoder.";

std::string join_names(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

std::string shape_text(const torch::Tensor& t) {
  std::string text = "[";
  for (int64_t i = 0; i < t.dim(); ++i) text += (i ? ", " : "") + std::to_string(t.size(i));
  return text + "]";
}

}  // namespace

void load_encoder_tensors(ResNet& encoder,
                          const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                          const std::string& context) {
  // Everything the encoder holds, under the checkpoint's names.
  std::map<std::string, torch::Tensor> targets;
  for (const auto& item : encoder->named_parameters(/*recurse=*/true)) {
    targets[kEncoderPrefix + item.key()] = item.value();
  }
  for (const auto& item : encoder->named_buffers(/*recurse=*/true)) {
    targets[kEncoderPrefix + item.key()] = item.value();
  }

  std::map<std::string, torch::Tensor> sources(tensors.begin(), tensors.end());
  std::vector<std::string> missing, unexpected, mis_shaped;
  for (const auto& [name, target] : targets) {
    auto it = sources.find(name);
    if (it == sources.end()) {
      missing.push_back(name);
    } else if (it->second.sizes() != target.sizes()) {
      mis_shaped.push_back(name + " (checkpoint " + shape_text(it->second) + ", model " +
                           shape_text(target) + ")");
    }
  }
  for (const auto& [name, source] : sources) {
    if (!targets.count(name)) unexpected.push_back(name);
  }
  if (!missing.empty() || !unexpected.empty() || !mis_shaped.empty()) {
    std::string message = context +
                          ": the checkpoint's encoder does not match the model built "
                          "from its configuration (" +
                          encoder->config().arch + ")";
    if (!missing.empty()) message += "; missing: " + join_names(missing);
    if (!mis_shaped.empty()) message += "; mis-shaped: " + join_names(mis_shaped);
    if (!unexpected.empty()) message += "; unexpected: " + join_names(unexpected);
    throw std::runtime_error(message);
  }

  torch::NoGradGuard no_grad;
  for (auto& [name, target] : targets) {
    target.copy_(sources.at(name).to(target.dtype()));
  }
}

LoadedEncoder load_pretrained_encoder(const std::string& path) {
  LoadedEncoder loaded;
  loaded.checkpoint = path;
  if (std::filesystem::is_directory(path)) {
    auto latest = find_latest_checkpoint(path);
    if (!latest) {
      throw std::runtime_error("--pretrained-model " + path +
                               ": no complete checkpoint (ckpt_*.h5) in this folder");
    }
    loaded.checkpoint = latest->path;
    loaded.note = latest->note;
  }
  const auto config = encoder_config_from_checkpoint(loaded.checkpoint);
  loaded.image_size = config.image_size;
  loaded.encoder = ResNet(config.resnet);
  load_encoder_tensors(loaded.encoder, read_checkpoint_tensors(loaded.checkpoint, "model/encoder."),
                       loaded.checkpoint);
  loaded.encoder->eval();
  return loaded;
}

LoadedEncoder make_random_encoder(const ResNetConfig& config, uint64_t seed) {
  LoadedEncoder loaded;
  torch::manual_seed(seed);
  loaded.encoder = ResNet(config);
  loaded.encoder->eval();
  return loaded;
}

}  // namespace pic
