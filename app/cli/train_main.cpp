// memmamba-train: `memmamba train` without Qt or the library storage, for the GPU machine
// (scripts/gpu/train.sh). Same arguments and output as `memmamba train`.
#include "train_commands.h"

int main(int argc, char** argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    return mm::cli::runTrain(args);
}
