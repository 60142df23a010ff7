// pic-parity FILE.h5 [--verbose]
// Checks the encoder + PIC head against a reference file with the schema of
// tests/testdata/resnet18_mlp.h5 (forward in eval and train mode, loss, every gradient, every
// parameter and buffer after two SGD steps). The architecture is built from the file's
// attributes, so any file written by tests/testdata/make_parity_file.py works.
// Prints one line per tensor and exits 0 when all pass, 1 when any fails, 2 on an error.
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <string>

#include "data/pic_parity_check.h"

int main(int argc, char** argv) {
  CLI::App app{"Compare pic's encoder + PIC head with a PyTorch reference file"};
  std::string path;
  bool verbose = false;
  app.add_option("file", path, "reference HDF5 file (resnet18_mlp.h5 schema)")->required();
  app.add_flag("-v,--verbose", verbose, "also print the resolved configuration and inputs");
  CLI11_PARSE(app, argc, argv);

  // One thread: the reference was computed on one, and results then do not depend on the
  // machine's core count.
  torch::set_num_threads(1);
  try {
    const pic::ParityReport report = pic::run_pic_parity(path, verbose ? &std::cout : nullptr);
    report.print(std::cout);
    return report.passed() ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "pic-parity: " << e.what() << "\n";
    return 2;
  }
}
