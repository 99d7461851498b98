// `memmamba train --nproc N`: starts N copies of this process as the ranks of a
// data-parallel run (engine/train/distributed.h), with the variables torchrun sets (RANK,
// LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), waits for them all,
// and when one fails stops the others instead of leaving them waiting on it.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace mm::engine::train {

struct LaunchOptions {
    int nproc = 1;
    std::string executable = "/proc/self/exe";
    std::vector<std::string> argv;  ///< argv[0] onwards; ownCommandLine() for "this process again"
    /// After one rank fails: seconds the others get to stop on SIGTERM before SIGKILL.
    int graceSeconds = 10;
};

/// This process's command line (argv[0] onwards), from /proc/self/cmdline.
std::vector<std::string> ownCommandLine();

/// Runs the ranks; returns 0 when all exit 0, else the first failed rank's exit status
/// (128 + signal when a signal ended it). Lines about starts and failures go to `report`.
/// SIGINT / SIGTERM to the launcher are passed on to the ranks. MASTER_ADDR defaults to
/// 127.0.0.1 and MASTER_PORT to a free port; NCCL_NVLS_ENABLE defaults to 0. Each rank sees
/// one GPU: the r-th entry of CUDA_VISIBLE_DEVICES (or GPU r where it is unset).
int launchRanks(const LaunchOptions& options, const std::function<void(const std::string&)>& report);

}  // namespace mm::engine::train
