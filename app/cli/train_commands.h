// `memmamba train` (app/cli/cmd_train.cpp): torch-free arguments in, engine/train does
// the work. Also the whole of the `memmamba-train` executable (app/cli/train_main.cpp),
// which builds without Qt and storage (the GPU machine builds only that).
#pragma once

#include <string>
#include <vector>

namespace mm::cli {

/// `memmamba train --data DIR --out DIR [options]` (args after "train"; a leading "train"
/// is skipped). Progress on stderr; with --json one summary object on stdout. Returns 0,
/// 2 after one line on stderr for bad arguments, 1 for training errors.
int runTrain(const std::vector<std::string>& args);

}  // namespace mm::cli
