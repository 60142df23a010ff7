#pragma once
// The frozen encoder of pic-linear: built from a pre-training checkpoint (architecture from
// its stored configuration, every parameter and buffer from /model/encoder.*) or randomly
// initialised for the baseline. Loading is all-or-nothing: a missing, unexpected or
// mis-shaped tensor is an error that lists the names, never a partial load.
#include <cstdint>
#include <string>

#include "core/resnet.h"

namespace pic {

struct LoadedEncoder {
  ResNet encoder{nullptr};
  std::string checkpoint;  // the file actually read ("" for random init)
  std::string note;        // why another file than the pointer named was used, if so
  int64_t image_size = 0;  // the pre-training crop side (0 for random init)
};

// `path` is a checkpoint file or a pre-training output folder (its latest complete
// checkpoint). Serial: every rank reads the file itself. The encoder is in eval mode.
LoadedEncoder load_pretrained_encoder(const std::string& path);

// The same architecture family with the original's initialisation, drawn from torch's global
// generator seeded with `seed` (every rank builds the same weights). Eval mode.
LoadedEncoder make_random_encoder(const ResNetConfig& config, uint64_t seed);

// Copies checkpoint tensors named "encoder.<name>" into the encoder's parameters and buffers
// named <name>. Throws std::runtime_error naming `context` and listing every missing,
// unexpected or mis-shaped name.
void load_encoder_tensors(ResNet& encoder,
                          const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                          const std::string& context);

}  // namespace pic
