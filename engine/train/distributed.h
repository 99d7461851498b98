// Data-parallel training across processes (docs/training.md, "Several GPUs"): the one
// place that knows LibTorch's c10d. Each process (a "rank") is started with the variables
// torchrun sets: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT. Rank 0 hosts a TCPStore; the
// ranks meet there and form a process group (NCCL for CUDA tensors where this LibTorch
// has it, Gloo otherwise). The trainer sees only this interface, so the c10d API that
// differs between LibTorch 1.x and 2.x stays in distributed.cpp, and a LibTorch without
// c10d builds distributed_stub.cpp instead (MEMMAMBA_DISTRIBUTED, engine/train/CMakeLists.txt).
#pragma once

#include <ATen/Tensor.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace mm::engine::train {

/// A collective failed or timed out (a peer died, the store was unreachable).
class DistributedError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Distributed {
public:
    /// Where WORLD_SIZE is unset or 1: nullptr (one process, no c10d at all). Otherwise
    /// joins the group (rank 0 waits for every other rank up to `timeout`); throws
    /// DistributedError for bad variables, a LibTorch without c10d, or a group that does not form.
    /// Every later collective that waits longer than `timeout` throws too.
    static std::unique_ptr<Distributed> fromEnvironment(const at::Device& device, std::chrono::seconds timeout);
    /// The timeout of MEMMAMBA_DIST_TIMEOUT_S (seconds), 900 without it.
    static std::chrono::seconds timeoutFromEnvironment();
    /// Whether this build has c10d ("" if so, else why not).
    static std::string unavailableReason();

    virtual ~Distributed() = default;
    virtual int rank() const = 0;
    virtual int worldSize() const = 0;
    /// "gloo" or "nccl".
    virtual std::string backend() const = 0;
    /// Rank 0's values into every rank's tensors (in place).
    virtual void broadcast(std::vector<at::Tensor>& tensors) = 0;
    /// Every tensor's .grad() replaced by its mean over the ranks, through one flat buffer.
    /// A parameter without a gradient counts as zeros.
    virtual void averageGradients(const std::vector<at::Tensor>& parameters) = 0;
    /// Element-wise sum over the ranks (small control values: counts, flags, losses).
    virtual std::vector<double> sum(const std::vector<double>& values) = 0;
    /// Element-wise maximum over the ranks.
    virtual std::vector<double> max(const std::vector<double>& values) = 0;
    virtual void barrier() = 0;
};

}  // namespace mm::engine::train
