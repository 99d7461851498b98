// c10d behind engine/train/distributed.h. MM_HAVE_C10D (set by engine/train/CMakeLists.txt)
// says whether this LibTorch's c10d headers compile here; without them every entry point
// says so instead of failing the build. The API differences between LibTorch 1.x (process
// groups derive from c10d::ProcessGroup) and 2.x (from c10d::Backend) stay in this file.
#include "engine/train/distributed.h"

#include <ATen/ATen.h>
#include <torch/version.h>

#include <cstdlib>
#include <string>

#ifndef MM_HAVE_C10D
#define MM_HAVE_C10D 0
#endif
#ifndef MM_HAVE_NCCL
#define MM_HAVE_NCCL 0
#endif

#if MM_HAVE_C10D
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if MM_HAVE_NCCL
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL  // ProcessGroupNCCL.hpp declares its class only under it
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#endif

namespace mm::engine::train {

namespace {

/// An integer environment variable; `fallback` when unset; throws when it is not a number in range.
long envInteger(const char* name, long fallback, long lo, long hi)
{
    const char* v = std::getenv(name);
    if (!v || !*v)
        return fallback;
    char* end = nullptr;
    const long x = std::strtol(v, &end, 10);
    if (*end != '\0' || x < lo || x > hi)
        throw DistributedError(std::string(name) + "=" + v + ": expected an integer in [" + std::to_string(lo) + ", " +
                               std::to_string(hi) + "]");
    return x;
}

#if MM_HAVE_C10D

std::string firstLine(const std::string& s)
{
    return s.substr(0, s.find('\n'));
}

#if TORCH_VERSION_MAJOR >= 2
using Group = c10d::Backend;  // 2.x: ProcessGroupGloo / ProcessGroupNCCL are Backends
#else
using Group = c10d::ProcessGroup;  // 1.x: they are ProcessGroups
#endif

class C10dGroup : public Distributed {
public:
    C10dGroup(int rank, int world, const at::Device& device, std::chrono::seconds timeout)
        : m_rank(rank), m_world(world), m_device(device), m_timeout(timeout)
    {
        const char* addrEnv = std::getenv("MASTER_ADDR");
        const std::string addr = addrEnv && *addrEnv ? addrEnv : "127.0.0.1";
        const auto port = static_cast<uint16_t>(envInteger("MASTER_PORT", 29500, 1, 65535));
        try {
            c10d::TCPStoreOptions so;
            so.port = port;
            so.isServer = rank == 0;
            so.numWorkers = static_cast<size_t>(world);
            so.waitWorkers = true;
            so.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
            m_store = c10::make_intrusive<c10d::TCPStore>(addr, so);
        } catch (const std::exception& e) {
            throw DistributedError("rank " + std::to_string(rank) + ": the store at " + addr + ":" +
                                   std::to_string(port) + " did not form (" + firstLine(e.what()) +
                                   "); are all " + std::to_string(world) + " ranks started?");
        }
        try {
#if MM_HAVE_NCCL
            if (device.is_cuda()) {
                auto opts = c10d::ProcessGroupNCCL::Options::create();
                opts->timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
                m_group = c10::make_intrusive<c10d::ProcessGroupNCCL>(m_store, rank, world, opts);
                m_backend = "nccl";
                m_commDevice = device;
                return;
            }
#endif
            auto opts = c10d::ProcessGroupGloo::Options::create(std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
            // GLOO_SOCKET_IFNAME as torch.distributed reads it; on one host the loopback.
            const char* iface = std::getenv("GLOO_SOCKET_IFNAME");
            if (iface && *iface)
                opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(iface));
            else if (addr == "127.0.0.1" || addr == "localhost")
                opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
            else
                opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
            m_group = c10::make_intrusive<c10d::ProcessGroupGloo>(m_store, rank, world, opts);
            m_backend = "gloo";
            m_commDevice = at::Device(at::kCPU);  // CUDA tensors travel through host memory
        } catch (const std::exception& e) {
            throw DistributedError("rank " + std::to_string(rank) + ": the process group did not form (" +
                                   firstLine(e.what()) + ")");
        }
    }

    int rank() const override { return m_rank; }
    int worldSize() const override { return m_world; }
    std::string backend() const override { return m_backend; }

    void broadcast(std::vector<at::Tensor>& tensors) override
    {
        at::NoGradGuard noGrad;
        std::vector<at::Tensor> flat{flatten(tensors)};
        c10d::BroadcastOptions bo;
        bo.rootRank = 0;
        finish(m_group->broadcast(flat, bo), "broadcast of the initial weights");
        unflatten(flat[0], tensors);
    }

    void averageGradients(const std::vector<at::Tensor>& parameters) override
    {
        at::NoGradGuard noGrad;
        std::vector<at::Tensor> grads;
        grads.reserve(parameters.size());
        for (const at::Tensor& p : parameters)
            grads.push_back(p.grad().defined() ? p.grad() : at::zeros_like(p));
        std::vector<at::Tensor> flat{flatten(grads)};
        finish(m_group->allreduce(flat), "all-reduce of the gradients");
        flat[0].div_(static_cast<double>(m_world));
        int64_t at0 = 0;
        for (const at::Tensor& p : parameters) {
            at::Tensor mean = flat[0].narrow(0, at0, p.numel()).view(p.sizes()).to(p.device(), p.scalar_type());
            at0 += p.numel();
            at::Tensor& g = const_cast<at::Tensor&>(p).mutable_grad();
            if (g.defined())
                g.copy_(mean);
            else
                g = mean.clone();
        }
    }

    std::vector<double> sum(const std::vector<double>& values) override { return reduce(values, c10d::ReduceOp::SUM); }
    std::vector<double> max(const std::vector<double>& values) override { return reduce(values, c10d::ReduceOp::MAX); }

    void barrier() override { finish(m_group->barrier(), "barrier"); }

private:
    at::Tensor flatten(const std::vector<at::Tensor>& tensors) const
    {
        std::vector<at::Tensor> parts;
        parts.reserve(tensors.size());
        for (const at::Tensor& t : tensors)
            parts.push_back(t.detach().reshape({-1}).to(at::kFloat));
        return at::cat(parts).to(m_commDevice).contiguous();
    }

    static void unflatten(const at::Tensor& flat, std::vector<at::Tensor>& tensors)
    {
        int64_t at0 = 0;
        for (at::Tensor& t : tensors) {
            t.copy_(flat.narrow(0, at0, t.numel()).view(t.sizes()));
            at0 += t.numel();
        }
    }

    std::vector<double> reduce(const std::vector<double>& values, c10d::ReduceOp op)
    {
        if (values.empty())
            return {};
        std::vector<at::Tensor> t{at::tensor(values, at::TensorOptions().dtype(at::kDouble)).to(m_commDevice)};
        c10d::AllreduceOptions ao;
        ao.reduceOp = op;
        finish(m_group->allreduce(t, ao), "all-reduce of the step's numbers");
        const at::Tensor host = t[0].to(at::kCPU).contiguous();
        return std::vector<double>(host.data_ptr<double>(), host.data_ptr<double>() + host.numel());
    }

    template <typename WorkPtr>
    void finish(const WorkPtr& work, const char* what)
    {
        try {
            if (!work->wait(std::chrono::duration_cast<std::chrono::milliseconds>(m_timeout)))
                throw std::runtime_error("timed out");
        } catch (const std::exception& e) {
            throw DistributedError("rank " + std::to_string(m_rank) + ": " + what + " failed (" +
                                   firstLine(e.what()) + "): another rank died, or did not answer within " +
                                   std::to_string(m_timeout.count()) + " s");
        }
    }

    int m_rank, m_world;
    at::Device m_device, m_commDevice{at::kCPU};
    std::chrono::seconds m_timeout;
    std::string m_backend;
    c10::intrusive_ptr<c10d::Store> m_store;
    c10::intrusive_ptr<Group> m_group;
};

#endif  // MM_HAVE_C10D

}  // namespace

std::string Distributed::unavailableReason()
{
#if MM_HAVE_C10D
    return {};
#else
    return "this build has no c10d (LibTorch " + std::string(TORCH_VERSION) +
           "; configure with -DMEMMAMBA_DISTRIBUTED=ON where its c10d and Gloo headers exist)";
#endif
}

std::chrono::seconds Distributed::timeoutFromEnvironment()
{
    return std::chrono::seconds(envInteger("MEMMAMBA_DIST_TIMEOUT_S", 900, 1, 7 * 24 * 3600));
}

std::unique_ptr<Distributed> Distributed::fromEnvironment(const at::Device& device, std::chrono::seconds timeout)
{
    const long world = envInteger("WORLD_SIZE", 1, 1, 65536);
    if (world == 1)
        return nullptr;
    const char* rankEnv = std::getenv("RANK");
    if (!rankEnv || !*rankEnv)
        throw DistributedError("WORLD_SIZE=" + std::to_string(world) + " but RANK is not set");
    const long rank = envInteger("RANK", 0, 0, world - 1);
#if MM_HAVE_C10D
    return std::make_unique<C10dGroup>(static_cast<int>(rank), static_cast<int>(world), device, timeout);
#else
    (void)device;
    (void)timeout;
    throw DistributedError("WORLD_SIZE=" + std::to_string(world) + " (rank " + std::to_string(rank) +
                           "): " + unavailableReason());
#endif
}

}  // namespace mm::engine::train
