#pragma once
// The encoder + PIC parity check on a file with the schema of tests/testdata/resnet18_mlp.h5
// (see tests/testdata/README.md): load `init/`, compare the eval-mode features, the
// train-mode logits, labels, loss and every gradient, then two SGD steps and every
// parameter and buffer after them. The architecture comes from the file's attributes.
#include <cstdint>
#include <string>

#include "core/pic_head.h"
#include "core/resnet.h"
#include "core/sgd.h"
#include "data/parity_check.h"
#include "data/reference_file.h"

namespace pic {

struct PicParityConfig {
  ResNetConfig encoder;  // arch, width, mlp_head, mlp_hidden_dim, feature_dim, small_stem
  PicConfig pic;         // num_instances, temperature
  SgdOptions sgd;        // sgd_momentum, sgd_weight_decay
  double lr = 0;         // sgd_lr
  int64_t sgd_steps = 2;
};

// Reads the root attributes; `small_stem` is optional (0 when absent).
PicParityConfig read_pic_parity_config(const ReferenceFile& file);

// Every parameter and buffer of `module` by its full name (parameters first).
NamedTensors named_state(const torch::nn::Module& module);

// Copies `group/<name>` into every parameter and buffer; throws std::runtime_error when the
// file and the model do not hold exactly the same names and shapes.
void load_named_state(const ReferenceFile& file, const std::string& group,
                      torch::nn::Module& module);

// Runs the whole check; `log` (may be null) receives the resolved configuration.
ParityReport run_pic_parity(const std::string& path, std::ostream* log = nullptr);

}  // namespace pic
