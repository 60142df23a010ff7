#pragma once
// The configuration a pre-training run stored in its checkpoint (root attribute `config`,
// the JSON of its resolved options), read serially, for pic-linear to rebuild the encoder.
#include <cstdint>
#include <string>

#include "core/resnet.h"

namespace pic {

// Serial (no MPI). The text of the root attribute `config` of the checkpoint at `path`;
// std::runtime_error naming the file when it is not there.
std::string read_checkpoint_config_json(const std::string& path);

struct PretrainedEncoderConfig {
  ResNetConfig resnet;     // arch, width, small_stem, mlp_head, feature_dim
  int64_t image_size = 0;  // the (large) crop side the encoder was trained on
};

// Parses the stored configuration; errors name the file and the missing key.
PretrainedEncoderConfig encoder_config_from_checkpoint(const std::string& path);

}  // namespace pic
