#include "train/checkpoint_config.h"

#include <algorithm>
#include <stdexcept>

#include "data/hdf5_handles.h"
#include "train/json_object.h"

namespace pic {

std::string read_checkpoint_config_json(const std::string& path) {
  H5QuietErrors quiet;
  H5Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, "open " + path);
  if (H5Aexists(file.get(), "config") <= 0) {
    throw std::runtime_error(path +
                             ": no root attribute 'config' (not a pic checkpoint, or "
                             "written by a version that did not store its configuration)");
  }
  H5Id attribute(H5Aopen(file.get(), "config", H5P_DEFAULT), H5Aclose,
                 "open attribute config in " + path);
  H5Id stored(H5Aget_type(attribute.get()), H5Tclose, "type of attribute config in " + path);
  if (H5Tget_class(stored.get()) != H5T_STRING) {
    throw std::runtime_error(path + ": root attribute 'config' is not a string");
  }
  std::string text;
  if (H5Tis_variable_str(stored.get()) > 0) {
    char* value = nullptr;
    H5Id type(H5Tcopy(stored.get()), H5Tclose, "copy a string type");
    h5_check(H5Aread(attribute.get(), type.get(), &value), "read attribute config in " + path);
    text = value ? value : "";
    H5free_memory(value);
  } else {
    text.assign(H5Tget_size(stored.get()), '\0');
    h5_check(H5Aread(attribute.get(), stored.get(), &text[0]), "read attribute config in " + path);
    text.erase(std::find(text.begin(), text.end(), '\0'), text.end());
  }
  return text;
}

PretrainedEncoderConfig encoder_config_from_checkpoint(const std::string& path) {
  const FlatJson json(read_checkpoint_config_json(path), path + " (attribute config)");
  PretrainedEncoderConfig config;
  config.resnet.arch = json.get_string("arch");
  config.resnet.width = json.get_double("width");
  config.resnet.small_stem = json.get_bool("small_stem");
  config.resnet.mlp_head = json.get_bool("mlp_head");
  config.resnet.feature_dim = json.get_int("feature_dim");
  config.image_size = json.get_int("image_size");
  return config;
}

}  // namespace pic
