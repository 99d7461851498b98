// The selective scan on tensors: the CPU loops of engine/cpu_kernels.h behind an autograd
// Function and at::parallel_for, the fused inference variants, and the torch-op reference.
#include "engine/selective_scan.h"

#include "engine/cpu_kernels.h"
#if defined(MEMMAMBA_WITH_CUDA)
#include "engine/scan_cuda.h"
#endif

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace mm::engine {

namespace {

// Channels per parallel work item: the float kernel's vector block.
constexpr int64_t kBlock = 16;

void checkScanArgs(const at::Tensor& u, const at::Tensor& delta, const at::Tensor& A, const at::Tensor& B,
                   const at::Tensor& C, const at::Tensor& D, const at::Tensor& h0)
{
    TORCH_CHECK(u.dim() == 2 && delta.sizes() == u.sizes(), "selective scan: u and delta must both be (T, E)");
    const int64_t T = u.size(0), E = u.size(1);
    TORCH_CHECK(A.dim() == 2 && A.size(0) == E, "selective scan: A must be (E, N)");
    const int64_t N = A.size(1);
    TORCH_CHECK(B.dim() == 2 && B.size(0) == T && B.size(1) == N, "selective scan: B must be (T, N)");
    TORCH_CHECK(C.sizes() == B.sizes(), "selective scan: C must be (T, N)");
    TORCH_CHECK(D.dim() == 1 && D.size(0) == E, "selective scan: D must be (E)");
    TORCH_CHECK(h0.sizes() == A.sizes(), "selective scan: h0 must be (E, N)");
}

class ScanFunction : public torch::autograd::Function<ScanFunction> {
public:
    static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, at::Tensor u,
                                                  at::Tensor delta, at::Tensor A, at::Tensor B, at::Tensor C,
                                                  at::Tensor D, at::Tensor h0)
    {
        u = u.contiguous(), delta = delta.contiguous(), A = A.contiguous(), B = B.contiguous();
        C = C.contiguous(), D = D.contiguous(), h0 = h0.contiguous();
        const cpu::ScanShape shape{u.size(0), u.size(1), A.size(1)};
        at::Tensor y = at::empty_like(u), hLast = at::empty_like(h0);
        AT_DISPATCH_FLOATING_TYPES(u.scalar_type(), "selective_scan_forward", [&] {
            const int64_t blocks = (shape.E + kBlock - 1) / kBlock;
            at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
                cpu::scanForward(u.data_ptr<scalar_t>(), delta.data_ptr<scalar_t>(), A.data_ptr<scalar_t>(),
                                 B.data_ptr<scalar_t>(), C.data_ptr<scalar_t>(), D.data_ptr<scalar_t>(),
                                 h0.data_ptr<scalar_t>(), nullptr, 0, false, y.data_ptr<scalar_t>(),
                                 hLast.data_ptr<scalar_t>(), shape, b0 * kBlock, std::min(shape.E, b1 * kBlock));
            });
        });
        ctx->save_for_backward({u, delta, A, B, C, D, h0});
        return {y, hLast};
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const at::Tensor &u = saved[0], &delta = saved[1], &A = saved[2], &B = saved[3], &C = saved[4],
                         &D = saved[5], &h0 = saved[6];
        const at::Tensor gy = grads[0].defined() ? grads[0].contiguous() : at::Tensor();
        const at::Tensor ghLast = grads[1].defined() ? grads[1].contiguous() : at::Tensor();
        const cpu::ScanShape dims{u.size(0), u.size(1), A.size(1)};
        at::Tensor du = at::empty_like(u), ddelta = at::empty_like(delta), dA = at::empty_like(A);
        at::Tensor dD = at::empty_like(D), dh0 = at::empty_like(h0);
        // One (T, N) buffer pair per task, summed afterwards: channels of different tasks
        // all add into dB and dC.
        const int64_t tasks = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), dims.E));
        at::Tensor dBTasks = at::zeros({tasks, dims.T, dims.N}, u.options());
        at::Tensor dCTasks = at::zeros({tasks, dims.T, dims.N}, u.options());
        AT_DISPATCH_FLOATING_TYPES(u.scalar_type(), "selective_scan_backward", [&] {
            const scalar_t* gyPtr = gy.defined() ? gy.data_ptr<scalar_t>() : nullptr;
            const scalar_t* ghPtr = ghLast.defined() ? ghLast.data_ptr<scalar_t>() : nullptr;
            at::parallel_for(0, tasks, 1, [&](int64_t t0, int64_t t1) {
                std::vector<scalar_t> hs;
                for (int64_t task = t0; task < t1; ++task) {
                    const int64_t eBegin = dims.E * task / tasks, eEnd = dims.E * (task + 1) / tasks;
                    scalar_t* dBTask = dBTasks.data_ptr<scalar_t>() + task * dims.T * dims.N;
                    scalar_t* dCTask = dCTasks.data_ptr<scalar_t>() + task * dims.T * dims.N;
                    for (int64_t e = eBegin; e < eEnd; ++e)
                        cpu::scanBackwardChannel<scalar_t>(
                            u.data_ptr<scalar_t>(), delta.data_ptr<scalar_t>(), A.data_ptr<scalar_t>(),
                            B.data_ptr<scalar_t>(), C.data_ptr<scalar_t>(), D.data_ptr<scalar_t>(),
                            h0.data_ptr<scalar_t>(), gyPtr, ghPtr, du.data_ptr<scalar_t>(),
                            ddelta.data_ptr<scalar_t>(), dA.data_ptr<scalar_t>(), dBTask, dCTask,
                            dD.data_ptr<scalar_t>(), dh0.data_ptr<scalar_t>(), dims, e, hs);
                }
            });
        });
        return {du, ddelta, dA, dBTasks.sum(0), dCTasks.sum(0), dD, dh0};
    }
};

}  // namespace

ScanResult selectiveScanCpu(const at::Tensor& u, const at::Tensor& delta, const at::Tensor& A, const at::Tensor& B,
                            const at::Tensor& C, const at::Tensor& D, const at::Tensor& h0)
{
    checkScanArgs(u, delta, A, B, C, D, h0);
    TORCH_CHECK(u.device().is_cpu(), "selectiveScanCpu: tensors must be on the CPU");
    auto out = ScanFunction::apply(u, delta, A, B, C, D, h0);
    return {out[0], out[1]};
}

ScanResult selectiveScanReference(const at::Tensor& u, const at::Tensor& delta, const at::Tensor& A,
                                  const at::Tensor& B, const at::Tensor& C, const at::Tensor& D,
                                  const at::Tensor& h0, int64_t chunk)
{
    checkScanArgs(u, delta, A, B, C, D, h0);
    const int64_t T = u.size(0);
    std::vector<at::Tensor> ys;
    at::Tensor h = h0;  // (E, N)
    for (int64_t t0 = 0; t0 < T; t0 += chunk) {
        const int64_t Lc = std::min(chunk, T - t0);
        const at::Tensor dt = delta.narrow(0, t0, Lc);                   // (Lc, E)
        const at::Tensor x = u.narrow(0, t0, Lc);                        // (Lc, E)
        const at::Tensor Bc = B.narrow(0, t0, Lc), Cc = C.narrow(0, t0, Lc);  // (Lc, N)
        const at::Tensor cum = (dt.unsqueeze(-1) * A).cumsum(0);         // (Lc, E, N)
        // decay[t, s] = exp(cum_t - cum_s) for s <= t, 0 above the diagonal: (Lc, Lc, E, N)
        const at::Tensor causal = at::ones({Lc, Lc}, u.options().dtype(at::kBool)).tril().view({Lc, Lc, 1, 1});
        const at::Tensor seg = (cum.unsqueeze(1) - cum.unsqueeze(0)).masked_fill(~causal, -INFINITY);
        const at::Tensor decay = seg.exp();
        const at::Tensor inputs = (dt * x).unsqueeze(-1) * Bc.unsqueeze(1);  // (Lc, E, N)
        const at::Tensor hs = cum.exp() * h.unsqueeze(0) + (decay * inputs.unsqueeze(0)).sum(1);  // (Lc, E, N)
        ys.push_back((hs * Cc.unsqueeze(1)).sum(-1) + D * x);
        h = hs[Lc - 1];
    }
    at::Tensor y = ys.empty() ? at::zeros_like(u) : at::cat(ys, 0);
    return {y, h};
}

at::Tensor selectiveScanGatedInference(const at::Tensor& u, const at::Tensor& deltaRaw, const at::Tensor& A,
                                       const at::Tensor& B, const at::Tensor& C, const at::Tensor& D,
                                       const at::Tensor& z, at::Tensor& h)
{
    checkScanArgs(u, deltaRaw, A, B, C, D, h);
    TORCH_CHECK(u.device().is_cpu(), "selectiveScanGatedInference: tensors must be on the CPU");
    TORCH_CHECK(z.sizes() == u.sizes() && z.stride(1) == 1, "selectiveScanGatedInference: z must be (T, E), rows contiguous");
    const at::Tensor uc = u.contiguous(), dc = deltaRaw.contiguous(), Ac = A.contiguous(), Bc = B.contiguous();
    const at::Tensor Cc = C.contiguous(), Dc = D.contiguous(), h0 = h.contiguous();
    const cpu::ScanShape shape{u.size(0), u.size(1), A.size(1)};
    at::Tensor y = at::empty_like(uc), hLast = at::empty_like(h0);
    AT_DISPATCH_FLOATING_TYPES(u.scalar_type(), "selective_scan_gated", [&] {
        const int64_t blocks = (shape.E + kBlock - 1) / kBlock;
        at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
            cpu::scanForward(uc.data_ptr<scalar_t>(), dc.data_ptr<scalar_t>(), Ac.data_ptr<scalar_t>(),
                             Bc.data_ptr<scalar_t>(), Cc.data_ptr<scalar_t>(), Dc.data_ptr<scalar_t>(),
                             h0.data_ptr<scalar_t>(), z.data_ptr<scalar_t>(), z.stride(0), true, y.data_ptr<scalar_t>(),
                             hLast.data_ptr<scalar_t>(), shape, b0 * kBlock, std::min(shape.E, b1 * kBlock));
        });
    });
    h = hLast;
    return y;
}

at::Tensor convSiluInference(const at::Tensor& x, at::Tensor& state, const at::Tensor& w, const at::Tensor& bias)
{
    const int64_t T = x.size(0), E = x.size(1), K = w.size(2);
    TORCH_CHECK(x.device().is_cpu() && x.scalar_type() == at::kFloat && x.stride(1) == 1,
                "convSiluInference: x must be a CPU float (T, E) with contiguous rows");
    TORCH_CHECK(state.sizes() == at::IntArrayRef({K - 1, E}), "convSiluInference: state must be (K-1, E)");
    const at::Tensor st = state.contiguous(), wc = w.contiguous(), bc = bias.contiguous();
    at::Tensor out = at::empty({T, E}, x.options());
    at::parallel_for(0, T, 64, [&](int64_t t0, int64_t t1) {
        cpu::convSilu(x.data_ptr<float>(), x.stride(0), st.data_ptr<float>(), wc.data_ptr<float>(),
                      bc.data_ptr<float>(), out.data_ptr<float>(), T, E, K, t0, t1);
    });
    // The new state: the last K-1 inputs of cat(state, x).
    state = T >= K - 1 ? x.narrow(0, T - (K - 1), K - 1).contiguous()
                       : at::cat({st.narrow(0, T, K - 1 - T), x}, 0);
    return out;
}

ScanResult selectiveScanFusedReference(const at::Tensor& u, const at::Tensor& deltaRaw, const at::Tensor& deltaBias,
                                       const at::Tensor& A, const at::Tensor& Bm, const at::Tensor& Cm,
                                       const at::Tensor& D, const at::Tensor& z, const at::Tensor& h0)
{
    TORCH_CHECK(u.dim() == 3 && deltaRaw.sizes() == u.sizes() && z.sizes() == u.sizes(),
                "selective scan (fused): u, deltaRaw and z must all be (Bt, T, E)");
    TORCH_CHECK(h0.dim() == 3 && h0.size(0) == u.size(0), "selective scan (fused): h0 must be (Bt, E, N)");
    TORCH_CHECK(Bm.dim() == 3 && Cm.dim() == 3 && Bm.size(0) == u.size(0) && Cm.size(0) == u.size(0),
                "selective scan (fused): Bm and Cm must be (Bt, T, N)");
    const at::Tensor delta = at::softplus(deltaRaw + deltaBias);
    std::vector<at::Tensor> ys, hs;
    for (int64_t b = 0; b < u.size(0); ++b) {
        ScanResult r = selectiveScan(u[b], delta[b], A, Bm[b], Cm[b], D, h0[b]);
        ys.push_back(r.y);
        hs.push_back(r.h_last);
    }
    return {at::stack(ys, 0) * at::silu(z), at::stack(hs, 0)};
}

ScanResult selectiveScanFused(const at::Tensor& u, const at::Tensor& deltaRaw, const at::Tensor& deltaBias,
                              const at::Tensor& A, const at::Tensor& Bm, const at::Tensor& Cm, const at::Tensor& D,
                              const at::Tensor& z, const at::Tensor& h0)
{
#if defined(MEMMAMBA_WITH_CUDA)
    // CUDA float/bf16 tensors: the fused kernels of kernels/ (engine/scan_cuda.cpp).
    if (cuda::fusedScanApplies(u, A))
        return cuda::selectiveScanFusedCuda(u, deltaRaw, deltaBias, A, Bm, Cm, D, z, h0);
#endif
    return selectiveScanFusedReference(u, deltaRaw, deltaBias, A, Bm, Cm, D, z, h0);
}

ScanResult selectiveScan(const at::Tensor& u, const at::Tensor& delta, const at::Tensor& A, const at::Tensor& B,
                         const at::Tensor& C, const at::Tensor& D, const at::Tensor& h0)
{
    if (u.device().is_cpu())
        return selectiveScanCpu(u, delta, A, B, C, D, h0);
    return selectiveScanReference(u, delta, A, B, C, D, h0);
}

}  // namespace mm::engine
