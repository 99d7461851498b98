// The CUDA selective scan behind the engine's fused-scan contract: tensors in, kernel
// arguments out, an autograd Function for training. The only translation unit that
// includes both torch and kernels/ headers (CI compiles few torch units).
#include "engine/scan_cuda.h"

#include "engine/device_stats.h"
#include "kernels/selective_scan.h"

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cstdlib>
#include <cstring>

namespace mm::engine::cuda {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

void check(cudaError_t err, const char* what)
{
    TORCH_CHECK(err == cudaSuccess, what, ": ", cudaGetErrorString(err));
}

// Last dimension contiguous, as the kernels read it; a copy only when it is not.
at::Tensor rowsContiguous(const at::Tensor& t, at::ScalarType dtype)
{
    at::Tensor out = t.scalar_type() == dtype ? t : t.to(dtype);
    return out.stride(-1) == 1 ? out : out.contiguous();
}

kernels::StridedInput strided(const at::Tensor& t)
{
    return {t.data_ptr(), t.stride(0), t.stride(1)};
}

at::Tensor floatContiguous(const at::Tensor& t)
{
    return t.defined() ? t.to(at::kFloat).contiguous() : t;
}

const float* floatPtr(const at::Tensor& t)
{
    return t.defined() ? t.data_ptr<float>() : nullptr;
}

void checkShapes(const at::Tensor& u, const at::Tensor& deltaRaw, const at::Tensor& deltaBias, const at::Tensor& A,
                 const at::Tensor& Bm, const at::Tensor& Cm, const at::Tensor& D, const at::Tensor& z,
                 const at::Tensor& h0)
{
    TORCH_CHECK(u.dim() == 3 && deltaRaw.sizes() == u.sizes() && z.sizes() == u.sizes(),
                "selective scan (CUDA): u, deltaRaw and z must all be (Bt, T, E)");
    const int64_t Bt = u.size(0), T = u.size(1), E = u.size(2);
    TORCH_CHECK(A.dim() == 2 && A.size(0) == E, "selective scan (CUDA): A must be (E, N)");
    const int64_t N = A.size(1);
    TORCH_CHECK(Bm.sizes() == at::IntArrayRef({Bt, T, N}) && Cm.sizes() == Bm.sizes(),
                "selective scan (CUDA): Bm and Cm must be (Bt, T, N)");
    TORCH_CHECK(!deltaBias.defined() || deltaBias.numel() == E, "selective scan (CUDA): deltaBias must be (E)");
    TORCH_CHECK(D.numel() == E, "selective scan (CUDA): D must be (E)");
    TORCH_CHECK(h0.sizes() == at::IntArrayRef({Bt, E, N}), "selective scan (CUDA): h0 must be (Bt, E, N)");
}

struct ForwardOut {
    at::Tensor y, hLast, checkpoints;
};

// The forward kernels on tensors. Input views are used in place where their rows are
// contiguous; y is allocated in u's dtype (float or bf16).
ForwardOut runForward(const at::Tensor& uIn, const at::Tensor& deltaRawIn, const at::Tensor& deltaBias,
                      const at::Tensor& A, const at::Tensor& BmIn, const at::Tensor& CmIn, const at::Tensor& D,
                      const at::Tensor& zIn, const at::Tensor& h0, bool keepCheckpoints)
{
    const c10::cuda::CUDAGuard guard(uIn.device());
    const at::ScalarType dtype = uIn.scalar_type() == at::kBFloat16 ? at::kBFloat16 : at::kFloat;
    const at::Tensor u = rowsContiguous(uIn, dtype), deltaRaw = rowsContiguous(deltaRawIn, dtype);
    const at::Tensor z = rowsContiguous(zIn, dtype), Bm = rowsContiguous(BmIn, dtype), Cm = rowsContiguous(CmIn, dtype);
    const at::Tensor Af = floatContiguous(A), Df = floatContiguous(D), biasF = floatContiguous(deltaBias);
    const at::Tensor h0f = floatContiguous(h0);
    const int64_t Bt = u.size(0), T = u.size(1), E = u.size(2), N = A.size(1);
    const auto floatOpts = u.options().dtype(at::kFloat);

    ForwardOut out;
    out.y = at::empty({Bt, T, E}, u.options());
    out.hLast = at::empty({Bt, E, N}, floatOpts);
    if (keepCheckpoints)
        out.checkpoints = at::empty({Bt, (T + kernels::kCheckpointSteps - 1) / kernels::kCheckpointSteps, E, N}, floatOpts);
    const at::Tensor workspace = at::empty({kernels::scanForwardWorkspaceFloats(Bt, T, E, N)}, floatOpts);

    kernels::ScanForwardArgs a;
    a.batch = Bt, a.length = T, a.channels = E, a.state = N;
    a.dtype = dtype == at::kBFloat16 ? kernels::ScanDType::BF16 : kernels::ScanDType::F32;
    a.u = strided(u), a.deltaRaw = strided(deltaRaw), a.z = strided(z), a.B = strided(Bm), a.C = strided(Cm);
    a.deltaBias = floatPtr(biasF), a.A = Af.data_ptr<float>(), a.D = Df.data_ptr<float>();
    a.h0 = h0f.data_ptr<float>();
    a.y = out.y.data_ptr(), a.hLast = out.hLast.data_ptr<float>();
    a.checkpoints = keepCheckpoints ? out.checkpoints.data_ptr<float>() : nullptr;
    a.workspace = workspace.numel() ? workspace.data_ptr<float>() : nullptr;
    check(kernels::scanForward(a, at::cuda::getCurrentCUDAStream()), "selective scan forward kernel");
    return out;
}

class FusedScanFunction : public torch::autograd::Function<FusedScanFunction> {
public:
    static variable_list forward(AutogradContext* ctx, const at::Tensor& u, const at::Tensor& deltaRaw,
                                 const at::Tensor& deltaBias, const at::Tensor& A, const at::Tensor& Bm,
                                 const at::Tensor& Cm, const at::Tensor& D, const at::Tensor& z, const at::Tensor& h0)
    {
        ForwardOut out = runForward(u, deltaRaw, deltaBias, A, Bm, Cm, D, z, h0, true);
        ctx->save_for_backward({u, deltaRaw, deltaBias, A, Bm, Cm, D, z, h0, out.checkpoints});
        return {out.y, out.hLast};
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads)
    {
        const auto s = ctx->get_saved_variables();
        const at::Tensor &uIn = s[0], &deltaRawIn = s[1], &biasIn = s[2], &AIn = s[3], &BmIn = s[4], &CmIn = s[5];
        const at::Tensor &DIn = s[6], &zIn = s[7], &h0In = s[8], &checkpoints = s[9];
        const c10::cuda::CUDAGuard guard(uIn.device());
        // The backward kernel reads fp32 contiguous operands (bf16 inputs are up-cast here).
        const at::Tensor u = floatContiguous(uIn), deltaRaw = floatContiguous(deltaRawIn), z = floatContiguous(zIn);
        const at::Tensor Bm = floatContiguous(BmIn), Cm = floatContiguous(CmIn), A = floatContiguous(AIn);
        const at::Tensor D = floatContiguous(DIn), bias = floatContiguous(biasIn);
        const int64_t Bt = u.size(0), T = u.size(1), E = u.size(2), N = A.size(1);
        const at::Tensor gy = grads[0].defined() ? floatContiguous(grads[0]) : at::zeros_like(u);
        const at::Tensor ghLast = floatContiguous(grads[1]);

        at::Tensor du = at::empty_like(u), dDeltaRaw = at::empty_like(u), dz = at::empty_like(u);
        at::Tensor dB = at::zeros_like(Bm), dC = at::zeros_like(Cm);
        at::Tensor dA = at::empty({Bt, E, N}, u.options()), dh0 = at::empty({Bt, E, N}, u.options());
        at::Tensor dD = at::empty({Bt, E}, u.options()), dBias = at::empty({Bt, E}, u.options());

        kernels::ScanBackwardArgs a;
        a.batch = Bt, a.length = T, a.channels = E, a.state = N;
        a.u = u.data_ptr<float>(), a.deltaRaw = deltaRaw.data_ptr<float>(), a.z = z.data_ptr<float>();
        a.B = Bm.data_ptr<float>(), a.C = Cm.data_ptr<float>();
        a.deltaBias = floatPtr(bias), a.A = A.data_ptr<float>(), a.D = D.data_ptr<float>();
        a.checkpoints = checkpoints.data_ptr<float>(), a.gy = gy.data_ptr<float>(), a.ghLast = floatPtr(ghLast);
        a.du = du.data_ptr<float>(), a.dDeltaRaw = dDeltaRaw.data_ptr<float>(), a.dz = dz.data_ptr<float>();
        a.dB = dB.data_ptr<float>(), a.dC = dC.data_ptr<float>(), a.dA = dA.data_ptr<float>();
        a.dD = dD.data_ptr<float>(), a.dDeltaBias = dBias.data_ptr<float>(), a.dh0 = dh0.data_ptr<float>();
        check(kernels::scanBackward(a, at::cuda::getCurrentCUDAStream()), "selective scan backward kernel");

        auto as = [](const at::Tensor& g, const at::Tensor& like) {
            return like.defined() ? g.to(like.scalar_type()).view(like.sizes()) : at::Tensor();
        };
        return {as(du, uIn),           as(dDeltaRaw, deltaRawIn), as(dBias.sum(0), biasIn),
                as(dA.sum(0), AIn),    as(dB, BmIn),              as(dC, CmIn),
                as(dD.sum(0), DIn),    as(dz, zIn),               as(dh0, h0In)};
    }
};

}  // namespace

bool fusedScanApplies(const at::Tensor& u, const at::Tensor& A)
{
    if (!u.is_cuda() || (u.scalar_type() != at::kFloat && u.scalar_type() != at::kBFloat16))
        return false;
    if (A.dim() != 2 || !kernels::scanSupportsState(A.size(1)) || u.dim() != 3 || u.size(0) > 65535)
        return false;
    const char* choice = std::getenv("MEMMAMBA_SCAN");
    return !(choice && std::strcmp(choice, "reference") == 0);
}

ScanResult selectiveScanFusedCuda(const at::Tensor& u, const at::Tensor& deltaRaw, const at::Tensor& deltaBias,
                                  const at::Tensor& A, const at::Tensor& Bm, const at::Tensor& Cm,
                                  const at::Tensor& D, const at::Tensor& z, const at::Tensor& h0)
{
    checkShapes(u, deltaRaw, deltaBias, A, Bm, Cm, D, z, h0);
    bool needsGrad = false;
    if (at::GradMode::is_enabled())
        for (const at::Tensor* t : {&u, &deltaRaw, &deltaBias, &A, &Bm, &Cm, &D, &z, &h0})
            needsGrad = needsGrad || (t->defined() && t->requires_grad());
    if (!needsGrad) {  // reading: no checkpoints, no autograd node
        ForwardOut out = runForward(u, deltaRaw, deltaBias, A, Bm, Cm, D, z, h0, false);
        return {out.y, out.hLast};
    }
    variable_list out = FusedScanFunction::apply(u, deltaRaw, deltaBias, A, Bm, Cm, D, z, h0);
    return {out[0], out[1]};
}

}  // namespace mm::engine::cuda

namespace mm::engine {

namespace {

// The allocator's statistics exist only once it has served an allocation ("invalid
// device argument" before that).
void ensureAllocator()
{
    static const bool once = [] {
        at::empty({1}, at::TensorOptions().device(at::kCUDA));
        return true;
    }();
    (void)once;
}

}  // namespace

int64_t cudaPeakAllocatedBytes()
{
    if (!at::hasCUDA())
        return -1;
    ensureAllocator();
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(0);
    return stats.allocated_bytes[0].peak;  // index 0: the aggregate over both pools
}

void cudaResetPeak()
{
    if (!at::hasCUDA())
        return;
    ensureAllocator();
    c10::cuda::CUDACachingAllocator::resetPeakStats(0);
}

void cudaSynchronize()
{
    if (at::hasCUDA())
        cuda::check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
}

}  // namespace mm::engine
