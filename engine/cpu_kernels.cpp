// Built with -O3 and without torch headers (engine/CMakeLists.txt). The float kernels
// are compiled twice, for AVX2+FMA and for baseline x86-64, from one always-inline body,
// and picked at run time from the CPU's features: one binary runs everywhere.
#include "engine/cpu_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace mm::engine::cpu {

namespace {

#define MM_INLINE inline __attribute__((always_inline))

// Channels handled together by the float scan: two 8-lane vectors.
constexpr int kBlock = 16;

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

MM_INLINE v8f load8(const float* p)
{
    v8f v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

MM_INLINE void store8(float* p, v8f v) { std::memcpy(p, &v, sizeof v); }

// exp on 8 lanes, branch-free: Cephes' expf polynomial (relative error about 2e-7 on
// the clamped range), 2^n built in the exponent bits.
MM_INLINE v8f exp8(v8f x)
{
    const v8f lo = v8f{} - 87.0f, hi = v8f{} + 88.0f;
    x = x < lo ? lo : x;
    x = x > hi ? hi : x;
    const v8f magic = v8f{} + 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
    const v8f n = (x * 1.44269504088896341f + magic) - magic;
    v8f r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    v8f p = v8f{} + 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const v8f e = p * r * r + r + 1.0f;
    const v8i bits = (__builtin_convertvector(n, v8i) + 127) << 23;
    v8f scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return e * scale;
}

MM_INLINE v8f silu8(v8f x) { return x / (1.0f + exp8(-x)); }

// log for x > 0 on 8 lanes: Cephes' logf (exponent from the bits, polynomial on the
// mantissa in [sqrt(1/2), sqrt(2))).
MM_INLINE v8f log8(v8f x)
{
    v8i bits;
    std::memcpy(&bits, &x, sizeof bits);
    v8f e = __builtin_convertvector(((bits >> 23) & 0xff) - 126, v8f);
    const v8i mbits = (bits & 0x007fffff) | 0x3f000000;  // mantissa scaled into [0.5, 1)
    v8f m;
    std::memcpy(&m, &mbits, sizeof m);
    const v8i small = m < 0.707106781186547524f;
    e = small ? e - 1.0f : e;
    m = small ? m + m - 1.0f : m - 1.0f;
    const v8f z = m * m;
    v8f y = v8f{} + 7.0376836292e-2f;
    y = y * m - 1.1514610310e-1f;
    y = y * m + 1.1676998740e-1f;
    y = y * m - 1.2420140846e-1f;
    y = y * m + 1.4249322787e-1f;
    y = y * m - 1.6668057665e-1f;
    y = y * m + 2.0000714765e-1f;
    y = y * m - 2.4999993993e-1f;
    y = y * m + 3.3333331174e-1f;
    y = y * m * z;
    y += e * -2.12194440e-4f;
    y -= 0.5f * z;
    return m + y + e * 0.693359375f;
}

// softplus(x) = max(x, 0) + log(1 + exp(-|x|)), stable for any x.
MM_INLINE v8f softplus8(v8f x)
{
    const v8f zero = v8f{};
    const v8f ax = x < zero ? -x : x;
    return (x > zero ? x : zero) + log8(1.0f + exp8(-ax));
}

MM_INLINE float exp1(float x)
{
    v8f v = v8f{} + x;
    return exp8(v)[0];
}
MM_INLINE double exp1(double x) { return std::exp(x); }
MM_INLINE float silu1(float x) { return x / (1.0f + exp1(-x)); }
MM_INLINE double silu1(double x) { return x / (1.0 + std::exp(-x)); }
MM_INLINE float softplus1(float x) { return softplus8(v8f{} + x)[0]; }
MM_INLINE double softplus1(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }

// One channel, any precision: the plain loop.
template <typename S>
MM_INLINE void scanChannel(const S* u, const S* delta, const S* A, const S* B, const S* C, const S* D, const S* h0,
                           const S* z, int64_t zStride, bool softplusDelta, S* y, S* hLast, ScanShape s, int64_t e, std::vector<S>& h)
{
    const int64_t T = s.T, E = s.E, N = s.N;
    h.assign(h0 + e * N, h0 + (e + 1) * N);
    const S* a = A + e * N;
    for (int64_t t = 0; t < T; ++t) {
        const S dt = softplusDelta ? softplus1(delta[t * E + e]) : delta[t * E + e], x = u[t * E + e];
        S acc = D[e] * x;
        for (int64_t n = 0; n < N; ++n) {
            h[n] = exp1(dt * a[n]) * h[n] + dt * B[t * N + n] * x;
            acc += C[t * N + n] * h[n];
        }
        y[t * E + e] = z ? acc * silu1(z[t * zStride + e]) : acc;
    }
    std::copy(h.begin(), h.end(), hLast + e * N);
}

// 16 channels in two vectors; h and A transposed to (N, 16) so a state row is contiguous.
MM_INLINE void scanBlock16(const float* u, const float* delta, const float* A, const float* B, const float* C,
                           const float* D, const float* h0, const float* z, int64_t zStride, bool softplusDelta, float* y, float* hLast,
                           ScanShape s, int64_t e0, std::vector<float>& At, std::vector<float>& h)
{
    const int64_t T = s.T, E = s.E, N = s.N;
    At.resize(N * kBlock);
    h.resize(N * kBlock);
    for (int64_t n = 0; n < N; ++n)
        for (int w = 0; w < kBlock; ++w) {
            At[n * kBlock + w] = A[(e0 + w) * N + n];
            h[n * kBlock + w] = h0[(e0 + w) * N + n];
        }
    const v8f d0 = load8(D + e0), d1 = load8(D + e0 + 8);
    for (int64_t t = 0; t < T; ++t) {
        const v8f u0 = load8(u + t * E + e0), u1 = load8(u + t * E + e0 + 8);
        v8f dt0 = load8(delta + t * E + e0), dt1 = load8(delta + t * E + e0 + 8);
        if (softplusDelta) {
            dt0 = softplus8(dt0);
            dt1 = softplus8(dt1);
        }
        const v8f du0 = dt0 * u0, du1 = dt1 * u1;
        v8f acc0 = d0 * u0, acc1 = d1 * u1;
        const float* Bt = B + t * N;
        const float* Ct = C + t * N;
        for (int64_t n = 0; n < N; ++n) {
            float* hn = h.data() + n * kBlock;
            const float* an = At.data() + n * kBlock;
            const float b = Bt[n], c = Ct[n];
            const v8f h0v = exp8(dt0 * load8(an)) * load8(hn) + du0 * b;
            const v8f h1v = exp8(dt1 * load8(an + 8)) * load8(hn + 8) + du1 * b;
            acc0 += h0v * c;
            acc1 += h1v * c;
            store8(hn, h0v);
            store8(hn + 8, h1v);
        }
        if (z) {
            acc0 *= silu8(load8(z + t * zStride + e0));
            acc1 *= silu8(load8(z + t * zStride + e0 + 8));
        }
        store8(y + t * E + e0, acc0);
        store8(y + t * E + e0 + 8, acc1);
    }
    for (int64_t n = 0; n < N; ++n)
        for (int w = 0; w < kBlock; ++w)
            hLast[(e0 + w) * N + n] = h[n * kBlock + w];
}

MM_INLINE void scanForwardF32Body(const float* u, const float* delta, const float* A, const float* B, const float* C,
                                  const float* D, const float* h0, const float* z, int64_t zStride, bool softplusDelta, float* y,
                                  float* hLast, ScanShape s, int64_t eBegin, int64_t eEnd)
{
    std::vector<float> At, h;
    int64_t e = eBegin;
    for (; e + kBlock <= eEnd; e += kBlock)
        scanBlock16(u, delta, A, B, C, D, h0, z, zStride, softplusDelta, y, hLast, s, e, At, h);
    for (; e < eEnd; ++e)
        scanChannel<float>(u, delta, A, B, C, D, h0, z, zStride, softplusDelta, y, hLast, s, e, h);
}

__attribute__((target("avx2,fma"))) void scanForwardF32Avx2(const float* u, const float* delta, const float* A,
                                                            const float* B, const float* C, const float* D,
                                                            const float* h0, const float* z, int64_t zStride, bool softplusDelta, float* y,
                                                            float* hLast, ScanShape s, int64_t eBegin, int64_t eEnd)
{
    scanForwardF32Body(u, delta, A, B, C, D, h0, z, zStride, softplusDelta, y, hLast, s, eBegin, eEnd);
}

void scanForwardF32Generic(const float* u, const float* delta, const float* A, const float* B, const float* C,
                           const float* D, const float* h0, const float* z, int64_t zStride, bool softplusDelta, float* y, float* hLast,
                           ScanShape s, int64_t eBegin, int64_t eEnd)
{
    scanForwardF32Body(u, delta, A, B, C, D, h0, z, zStride, softplusDelta, y, hLast, s, eBegin, eEnd);
}

MM_INLINE void convSiluBody(const float* x, int64_t xStride, const float* state, const float* w, const float* bias,
                            float* out, int64_t E, int64_t K, int64_t tBegin, int64_t tEnd)
{
    // Input row j of the padded sequence: the state for j < 0, else x.
    auto row = [&](int64_t j) { return j < 0 ? state + (K - 1 + j) * E : x + j * xStride; };
    std::vector<float> wt(K * E);  // (K, E): a tap's weights contiguous over channels
    for (int64_t e = 0; e < E; ++e)
        for (int64_t k = 0; k < K; ++k)
            wt[k * E + e] = w[e * K + k];
    for (int64_t t = tBegin; t < tEnd; ++t) {
        float* o = out + t * E;
        int64_t e = 0;
        for (; e + 8 <= E; e += 8) {
            v8f acc = load8(bias + e);
            for (int64_t k = 0; k < K; ++k)
                acc += load8(wt.data() + k * E + e) * load8(row(t - (K - 1) + k) + e);
            store8(o + e, silu8(acc));
        }
        for (; e < E; ++e) {
            float acc = bias[e];
            for (int64_t k = 0; k < K; ++k)
                acc += wt[k * E + e] * row(t - (K - 1) + k)[e];
            o[e] = silu1(acc);
        }
    }
}

__attribute__((target("avx2,fma"))) void convSiluAvx2(const float* x, int64_t xStride, const float* state,
                                                      const float* w, const float* bias, float* out, int64_t E,
                                                      int64_t K, int64_t tBegin, int64_t tEnd)
{
    convSiluBody(x, xStride, state, w, bias, out, E, K, tBegin, tEnd);
}

void convSiluGeneric(const float* x, int64_t xStride, const float* state, const float* w, const float* bias,
                     float* out, int64_t E, int64_t K, int64_t tBegin, int64_t tEnd)
{
    convSiluBody(x, xStride, state, w, bias, out, E, K, tBegin, tEnd);
}

MM_INLINE void rowLogSumExpBody(const float* x, int64_t cols, float* out, int64_t rowBegin, int64_t rowEnd)
{
    for (int64_t i = rowBegin; i < rowEnd; ++i) {
        const float* row = x + i * cols;
        float mx = -INFINITY;
        for (int64_t j = 0; j < cols; ++j)
            mx = std::max(mx, row[j]);
        v8f acc = v8f{};
        int64_t j = 0;
        for (; j + 8 <= cols; j += 8)
            acc += exp8(load8(row + j) - mx);
        float sum = 0;
        for (int l = 0; l < 8; ++l)
            sum += acc[l];
        for (; j < cols; ++j)
            sum += exp1(row[j] - mx);
        out[i] = mx + std::log(sum);
    }
}

__attribute__((target("avx2,fma"))) void rowLogSumExpAvx2(const float* x, int64_t cols, float* out, int64_t b,
                                                          int64_t e)
{
    rowLogSumExpBody(x, cols, out, b, e);
}

void rowLogSumExpGeneric(const float* x, int64_t cols, float* out, int64_t b, int64_t e)
{
    rowLogSumExpBody(x, cols, out, b, e);
}

bool hasAvx2Fma()
{
    static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return yes;
}

}  // namespace

void scanForward(const float* u, const float* delta, const float* A, const float* B, const float* C, const float* D,
                 const float* h0, const float* z, int64_t zStride, bool softplusDelta, float* y, float* hLast, ScanShape s,
                 int64_t eBegin, int64_t eEnd)
{
    if (hasAvx2Fma())
        scanForwardF32Avx2(u, delta, A, B, C, D, h0, z, zStride, softplusDelta, y, hLast, s, eBegin, eEnd);
    else
        scanForwardF32Generic(u, delta, A, B, C, D, h0, z, zStride, softplusDelta, y, hLast, s, eBegin, eEnd);
}

void scanForward(const double* u, const double* delta, const double* A, const double* B, const double* C,
                 const double* D, const double* h0, const double* z, int64_t zStride, bool softplusDelta, double* y, double* hLast,
                 ScanShape s, int64_t eBegin, int64_t eEnd)
{
    std::vector<double> h;
    for (int64_t e = eBegin; e < eEnd; ++e)
        scanChannel<double>(u, delta, A, B, C, D, h0, z, zStride, softplusDelta, y, hLast, s, e, h);
}

// Reverse recurrence for channel e. With g_t = dL/dh_t (from y_t and from h_{t+1}):
//   dC_t += gy_t h_t;  dB_t += g_t delta_t u_t;  dA += g_t delta_t exp(delta_t A) h_{t-1}
//   ddelta_t = g_t . (A exp(delta_t A) h_{t-1} + B_t u_t);  du_t = g_t . delta_t B_t + gy_t D
//   dD += gy_t u_t;  g_{t-1} gets g_t exp(delta_t A)
template <typename S>
void scanBackwardChannel(const S* u, const S* delta, const S* A, const S* B, const S* C, const S* D, const S* h0,
                         const S* gy, const S* ghLast, S* du, S* ddelta, S* dA, S* dB, S* dC, S* dD, S* dh0,
                         ScanShape s, int64_t e, std::vector<S>& hs)
{
    const int64_t T = s.T, E = s.E, N = s.N;
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
            dC[t * N + n] += gyt * hCur;
            dB[t * N + n] += gn * dt * x;
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

template void scanBackwardChannel<float>(const float*, const float*, const float*, const float*, const float*,
                                         const float*, const float*, const float*, const float*, float*, float*,
                                         float*, float*, float*, float*, float*, ScanShape, int64_t,
                                         std::vector<float>&);
template void scanBackwardChannel<double>(const double*, const double*, const double*, const double*, const double*,
                                          const double*, const double*, const double*, const double*, double*,
                                          double*, double*, double*, double*, double*, double*, ScanShape, int64_t,
                                          std::vector<double>&);

void rowLogSumExp(const float* x, int64_t cols, float* out, int64_t rowBegin, int64_t rowEnd)
{
    if (hasAvx2Fma())
        rowLogSumExpAvx2(x, cols, out, rowBegin, rowEnd);
    else
        rowLogSumExpGeneric(x, cols, out, rowBegin, rowEnd);
}

void convSilu(const float* x, int64_t xStride, const float* state, const float* w, const float* bias, float* out,
              int64_t T, int64_t E, int64_t K, int64_t tBegin, int64_t tEnd)
{
    (void)T;
    if (hasAvx2Fma())
        convSiluAvx2(x, xStride, state, w, bias, out, E, K, tBegin, tEnd);
    else
        convSiluGeneric(x, xStride, state, w, bias, out, E, K, tBegin, tEnd);
}

}  // namespace mm::engine::cpu
