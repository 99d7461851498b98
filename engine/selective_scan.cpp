// CPU selective scan: forward and backward loops, and the torch-op reference.
// Built with -O3 (engine/CMakeLists.txt) so the inner loops over a block of channels
// vectorise; the float forward is compiled twice (AVX2+FMA and baseline x86-64) and picked
// at load time, so one binary runs everywhere and is fast where AVX2 exists.
#include "engine/selective_scan.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace mm::engine {

namespace {

// Channels handled together: the inner loops run over a block of kBlock channels, which
// are contiguous in (T, E) rows, so they vectorise without reductions.
constexpr int64_t kBlock = 16;

// exp for float, branch-free so that it vectorises: Cephes' expf polynomial (max relative
// error about 2e-7 on the clamped range), 2^n built in the exponent bits.
inline __attribute__((always_inline)) float fastExp(float x)
{
    x = std::min(88.0f, std::max(-87.0f, x));
    const float kMagic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
    const float n = (x * 1.44269504088896341f + kMagic) - kMagic;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float e = p * r * r + r + 1.0f;
    const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return e * scale;
}
inline __attribute__((always_inline)) double fastExp(double x) { return std::exp(x); }

struct ScanDims {
    int64_t T, E, N;
};

// Forward over channels [e0, e0 + W) for all T steps. At is A transposed for the block
// (N, W); h (N, W) holds the running state.
template <typename S, int W>
inline __attribute__((always_inline)) void forwardBlock(const S* u, const S* delta, const S* A, const S* B,
                                                        const S* C, const S* D, const S* h0, S* y, S* hLast,
                                                        ScanDims dims, int64_t e0)
{
    const int64_t T = dims.T, E = dims.E, N = dims.N;
    std::vector<S> At(N * W), h(N * W);
    for (int64_t n = 0; n < N; ++n)
        for (int w = 0; w < W; ++w) {
            At[n * W + w] = A[(e0 + w) * N + n];
            h[n * W + w] = h0[(e0 + w) * N + n];
        }
    S dBlock[W];
    for (int w = 0; w < W; ++w)
        dBlock[w] = D[e0 + w];
    for (int64_t t = 0; t < T; ++t) {
        const S* ut = u + t * E + e0;
        const S* dt = delta + t * E + e0;
        const S* Bt = B + t * N;
        const S* Ct = C + t * N;
        S acc[W], du[W];
        for (int w = 0; w < W; ++w) {
            acc[w] = dBlock[w] * ut[w];
            du[w] = dt[w] * ut[w];
        }
        for (int64_t n = 0; n < N; ++n) {
            const S b = Bt[n], c = Ct[n];
            S* hn = h.data() + n * W;
            const S* an = At.data() + n * W;
            for (int w = 0; w < W; ++w) {
                const S decay = fastExp(dt[w] * an[w]);
                hn[w] = decay * hn[w] + du[w] * b;
                acc[w] += c * hn[w];
            }
        }
        S* yt = y + t * E + e0;
        for (int w = 0; w < W; ++w)
            yt[w] = acc[w];
    }
    for (int64_t n = 0; n < N; ++n)
        for (int w = 0; w < W; ++w)
            hLast[(e0 + w) * N + n] = h[n * W + w];
}

template <typename S>
inline __attribute__((always_inline)) void forwardRange(const S* u, const S* delta, const S* A, const S* B,
                                                        const S* C, const S* D, const S* h0, S* y, S* hLast,
                                                        ScanDims dims, int64_t eBegin, int64_t eEnd)
{
    int64_t e = eBegin;
    for (; e + kBlock <= eEnd; e += kBlock)
        forwardBlock<S, kBlock>(u, delta, A, B, C, D, h0, y, hLast, dims, e);
    for (; e < eEnd; ++e)
        forwardBlock<S, 1>(u, delta, A, B, C, D, h0, y, hLast, dims, e);
}

__attribute__((target_clones("arch=haswell", "default"))) void forwardRangeF32(
    const float* u, const float* delta, const float* A, const float* B, const float* C, const float* D,
    const float* h0, float* y, float* hLast, ScanDims dims, int64_t eBegin, int64_t eEnd)
{
    forwardRange<float>(u, delta, A, B, C, D, h0, y, hLast, dims, eBegin, eEnd);
}

void forwardRangeImpl(const float* u, const float* delta, const float* A, const float* B, const float* C,
                      const float* D, const float* h0, float* y, float* hLast, ScanDims dims, int64_t b,
                      int64_t e)
{
    forwardRangeF32(u, delta, A, B, C, D, h0, y, hLast, dims, b, e);
}
void forwardRangeImpl(const double* u, const double* delta, const double* A, const double* B, const double* C,
                      const double* D, const double* h0, double* y, double* hLast, ScanDims dims, int64_t b,
                      int64_t e)
{
    forwardRange<double>(u, delta, A, B, C, D, h0, y, hLast, dims, b, e);
}

// Reverse recurrence for channel e. With g_t = dL/dh_t (from y_t and from h_{t+1}):
//   dC_t += gy_t h_t;  dB_t += g_t delta_t u_t;  dA += g_t delta_t exp(delta_t A) h_{t-1}
//   ddelta_t = g_t . (A exp(delta_t A) h_{t-1} + B_t u_t);  du_t = g_t . delta_t B_t + gy_t D
//   dD += gy_t u_t;  g_{t-1} gets g_t exp(delta_t A)
// dB and dC are summed over channels into this task's own buffers (T, N).
template <typename S>
void backwardChannel(const S* u, const S* delta, const S* A, const S* B, const S* C, const S* D, const S* h0,
                     const S* gy, const S* ghLast, S* du, S* ddelta, S* dA, S* dBTask, S* dCTask, S* dD, S* dh0,
                     ScanDims dims, int64_t e, std::vector<S>& hs)
{
    const int64_t T = dims.T, E = dims.E, N = dims.N;
    const S* a = A + e * N;
    // Recompute the states: hs (T + 1, N), hs[0] = h0.
    hs.assign((T + 1) * N, S(0));
    for (int64_t n = 0; n < N; ++n)
        hs[n] = h0[e * N + n];
    for (int64_t t = 0; t < T; ++t) {
        const S dt = delta[t * E + e], x = u[t * E + e];
        for (int64_t n = 0; n < N; ++n)
            hs[(t + 1) * N + n] = std::exp(dt * a[n]) * hs[t * N + n] + dt * B[t * N + n] * x;
    }
    std::vector<S> g(N), gA(N, S(0));
    for (int64_t n = 0; n < N; ++n)
        g[n] = ghLast ? ghLast[e * N + n] : S(0);
    S gD = 0;
    for (int64_t t = T - 1; t >= 0; --t) {
        const S dt = delta[t * E + e], x = u[t * E + e];
        const S gyt = gy ? gy[t * E + e] : S(0);
        gD += gyt * x;
        S gu = gyt * D[e], gdelta = 0;
        for (int64_t n = 0; n < N; ++n) {
            const S hPrev = hs[t * N + n], hCur = hs[(t + 1) * N + n];
            const S decay = std::exp(dt * a[n]);
            const S gn = g[n] + gyt * C[t * N + n];
            dCTask[t * N + n] += gyt * hCur;
            dBTask[t * N + n] += gn * dt * x;
            gA[n] += gn * dt * decay * hPrev;
            gdelta += gn * (a[n] * decay * hPrev + B[t * N + n] * x);
            gu += gn * dt * B[t * N + n];
            g[n] = gn * decay;
        }
        du[t * E + e] = gu;
        ddelta[t * E + e] = gdelta;
    }
    for (int64_t n = 0; n < N; ++n) {
        dA[e * N + n] = gA[n];
        dh0[e * N + n] = g[n];
    }
    dD[e] = gD;
}

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
        const ScanDims dims{u.size(0), u.size(1), A.size(1)};
        at::Tensor y = at::empty_like(u), hLast = at::empty_like(h0);
        AT_DISPATCH_FLOATING_TYPES(u.scalar_type(), "selective_scan_forward", [&] {
            const int64_t blocks = (dims.E + kBlock - 1) / kBlock;
            at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
                forwardRangeImpl(u.data_ptr<scalar_t>(), delta.data_ptr<scalar_t>(), A.data_ptr<scalar_t>(),
                                 B.data_ptr<scalar_t>(), C.data_ptr<scalar_t>(), D.data_ptr<scalar_t>(),
                                 h0.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), hLast.data_ptr<scalar_t>(),
                                 dims, b0 * kBlock, std::min(dims.E, b1 * kBlock));
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
        const ScanDims dims{u.size(0), u.size(1), A.size(1)};
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
                        backwardChannel<scalar_t>(
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

ScanResult selectiveScan(const at::Tensor& u, const at::Tensor& delta, const at::Tensor& A, const at::Tensor& B,
                         const at::Tensor& C, const at::Tensor& D, const at::Tensor& h0)
{
    if (u.device().is_cpu())
        return selectiveScanCpu(u, delta, A, B, C, D, h0);
    return selectiveScanReference(u, delta, A, B, C, D, h0);
}

}  // namespace mm::engine
