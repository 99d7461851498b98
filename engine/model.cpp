#include "engine/model.h"

#include "engine/conv_cuda.h"
#include "engine/pool_attention_cuda.h"
#include "engine/pool_walk_device.h"
#include "engine/selective_scan.h"
#include "engine/stage_profile.h"
#include "engine/util/sha256.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>
#include <torch/version.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

namespace mm::engine {

namespace {

std::string layerPrefix(int64_t l)
{
    return "layers." + std::to_string(l) + ".";
}

void forEachAttention(PoolAttentionWeights& a, const std::string& p, bool crossLayer,
                      const std::function<void(const std::string&, at::Tensor&)>& fn)
{
    fn(p + "q_proj.weight", a.q);
    fn(p + "k_proj.weight", a.k);
    fn(p + "v_proj.weight", a.v);
    if (crossLayer)
        fn(p + "source_embedding", a.source);
    fn(p + "gate.weight", a.gate_w);
    fn(p + "gate.bias", a.gate_b);
    fn(p + "out_proj.weight", a.out);
}

at::Tensor dense(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b = {})
{
    return at::linear(x, w, b);
}

}  // namespace

void forEachParameter(Weights& w, const ModelConfig& c, const std::function<void(const std::string&, at::Tensor&)>& fn)
{
    fn("embedding.weight", w.embedding);
    for (int64_t l = 0; l < c.n_layer; ++l) {
        LayerWeights& lw = w.layers[l];
        const std::string p = layerPrefix(l);
        fn(p + "norm.weight", lw.norm);
        MixerWeights& m = lw.mixer;
        fn(p + "mixer.in_proj.weight", m.in_proj);
        fn(p + "mixer.conv1d.weight", m.conv_w);
        fn(p + "mixer.conv1d.bias", m.conv_b);
        fn(p + "mixer.x_proj.weight", m.x_proj);
        fn(p + "mixer.dt_proj.weight", m.dt_proj_w);
        fn(p + "mixer.dt_proj.bias", m.dt_proj_b);
        fn(p + "mixer.A_log", m.A_log);
        fn(p + "mixer.D", m.D);
        fn(p + "mixer.out_proj.weight", m.out_proj);
        if (!c.notes)
            continue;
        NoteWeights& n = lw.note;
        fn(p + "note.norm.weight", n.norm);
        fn(p + "note.score.weight", n.score_w);
        fn(p + "note.score.bias", n.score_b);
        fn(p + "note.summary.weight", n.summary);
        forEachAttention(n.tok, p + "note.token_attn.", false, fn);
        if (c.hasCrossLayer(l))
            forEachAttention(n.lay, p + "note.layer_attn.", true, fn);
    }
    fn("norm_f.weight", w.norm_f);
}

std::vector<std::pair<std::string, std::vector<int64_t>>> parameterShapes(const ModelConfig& c)
{
    const int64_t D = c.d_model, E = c.dInner(), N = c.d_state, K = c.d_conv, R = c.dtRank(), V = c.vocab_size;
    const int64_t r = c.note_dim, P = c.cross_layer_period;
    std::vector<std::pair<std::string, std::vector<int64_t>>> out;
    auto add = [&](const std::string& name, std::vector<int64_t> shape) { out.emplace_back(name, std::move(shape)); };
    auto addAttention = [&](const std::string& p, bool crossLayer) {
        add(p + "q_proj.weight", {r, D});
        add(p + "k_proj.weight", {r, r});
        add(p + "v_proj.weight", {r, r});
        if (crossLayer)
            add(p + "source_embedding", {P, r});
        add(p + "gate.weight", {1, D + r});
        add(p + "gate.bias", {1});
        add(p + "out_proj.weight", {D, r});
    };
    add("embedding.weight", {V, D});
    for (int64_t l = 0; l < c.n_layer; ++l) {
        const std::string p = layerPrefix(l);
        add(p + "norm.weight", {D});
        add(p + "mixer.in_proj.weight", {2 * E, D});
        add(p + "mixer.conv1d.weight", {E, 1, K});
        add(p + "mixer.conv1d.bias", {E});
        add(p + "mixer.x_proj.weight", {R + 2 * N, E});
        add(p + "mixer.dt_proj.weight", {E, R});
        add(p + "mixer.dt_proj.bias", {E});
        add(p + "mixer.A_log", {E, N});
        add(p + "mixer.D", {E});
        add(p + "mixer.out_proj.weight", {D, E});
        if (!c.notes)
            continue;
        add(p + "note.norm.weight", {D});
        add(p + "note.score.weight", {1, D});
        add(p + "note.score.bias", {1});
        add(p + "note.summary.weight", {r, 2 * D});
        addAttention(p + "note.token_attn.", false);
        if (c.hasCrossLayer(l))
            addAttention(p + "note.layer_attn.", true);
    }
    add("norm_f.weight", {D});
    return out;
}

int64_t parameterCount(const ModelConfig& c)
{
    int64_t total = 0;
    for (const auto& [name, shape] : parameterShapes(c)) {
        int64_t n = 1;
        for (int64_t s : shape)
            n *= s;
        total += n;
    }
    return total;
}

Weights initWeights(const ModelConfig& c, uint64_t seed, at::ScalarType dtype)
{
    at::Generator gen = at::detail::createCPUGenerator(seed);
    const auto f32 = at::TensorOptions().dtype(at::kFloat);
    auto uniform = [&](std::vector<int64_t> shape, double bound) {
        return at::empty(shape, f32).uniform_(-bound, bound, gen);
    };
    auto linearInit = [&](int64_t out, int64_t in) { return uniform({out, in}, 1.0 / std::sqrt(double(in))); };
    auto normal = [&](std::vector<int64_t> shape, double std) { return at::empty(shape, f32).normal_(0, std, gen); };
    const int64_t D = c.d_model, E = c.dInner(), N = c.d_state, K = c.d_conv, R = c.dtRank();
    const int64_t r = c.note_dim;

    Weights w;
    w.embedding = normal({c.vocab_size, D}, 0.02);
    w.norm_f = at::ones({D}, f32);
    w.layers.resize(c.n_layer);
    for (int64_t l = 0; l < c.n_layer; ++l) {
        LayerWeights& lw = w.layers[l];
        lw.norm = at::ones({D}, f32);
        MixerWeights& m = lw.mixer;
        m.in_proj = linearInit(2 * E, D);
        m.conv_w = uniform({E, 1, K}, 1.0 / std::sqrt(double(K)));
        m.conv_b = uniform({E}, 1.0 / std::sqrt(double(K)));
        m.x_proj = linearInit(R + 2 * N, E);
        m.dt_proj_w = uniform({E, R}, 1.0 / std::sqrt(double(R)));
        // dt = exp(U(log 1e-3, log 1e-1)); the bias is softplus^-1(dt) (Mamba's dt init).
        const at::Tensor dt =
            at::exp(at::empty({E}, f32).uniform_(std::log(1e-3), std::log(1e-1), gen)).clamp_min(1e-4);
        m.dt_proj_b = dt + at::log(-at::expm1(-dt));
        m.A_log = at::log(at::arange(1, N + 1, f32)).repeat({E, 1});  // S4D-real: A = -(1..N)
        m.D = at::ones({E}, f32);
        m.out_proj = linearInit(D, E) / std::sqrt(double(c.n_layer));
        if (!c.notes)
            continue;
        NoteWeights& n = lw.note;
        n.norm = at::ones({D}, f32);
        n.score_w = linearInit(1, D);
        n.score_b = at::zeros({1}, f32);
        n.summary = linearInit(r, 2 * D);
        auto initAttention = [&](PoolAttentionWeights& a, bool crossLayer) {
            a.q = linearInit(r, D);
            a.k = linearInit(r, r);
            a.v = linearInit(r, r);
            if (crossLayer)
                a.source = normal({c.cross_layer_period, r}, 0.02);
            a.gate_w = linearInit(1, D + r);
            a.gate_b = at::zeros({1}, f32);
            a.out = at::zeros({D, r}, f32);  // docs/spec/MODEL.md: W_o zero-initialised
        };
        initAttention(n.tok, false);
        if (c.hasCrossLayer(l))
            initAttention(n.lay, true);
    }
    forEachParameter(w, c, [&](const std::string&, at::Tensor& t) { t = t.to(dtype); });
    return w;
}

std::string computeFingerprint(Model& m)
{
    Sha256 hash;
    hash.update(canonicalConfigText(m.config));
    forEachParameter(m.weights, m.config, [&](const std::string& name, at::Tensor& t) {
        hash.update(name);
        const at::Tensor cpu = t.detach().to(at::kCPU, at::kFloat).contiguous();
        hash.update(cpu.data_ptr(), static_cast<size_t>(cpu.numel()) * sizeof(float));
    });
    return "mm1:" + hash.hexDigest();
}

ModelState newState(const Model& m)
{
    const ModelConfig& c = m.config;
    const int64_t M = c.notes ? c.pool_slots : 0;
    ModelState s;
    s.layers.resize(c.n_layer);
    for (LayerState& ls : s.layers) {
        ls.conv = at::zeros({c.d_conv - 1, c.dInner()}, m.options);
        ls.ssm = at::zeros({c.dInner(), c.d_state}, m.options);
        ls.pool_values = at::zeros({M, c.note_dim}, m.options);
        ls.cand_values = at::zeros({0, c.note_dim}, m.options);
        ls.pool = PoolMeta(M);
    }
    return s;
}

ModelState cloneState(const ModelState& s)
{
    ModelState out = s;
    if (s.last_hidden.defined())
        out.last_hidden = s.last_hidden.clone();
    for (LayerState& ls : out.layers) {
        ls.conv = ls.conv.clone();
        ls.ssm = ls.ssm.clone();
        ls.pool_values = ls.pool_values.clone();
        ls.cand_values = ls.cand_values.clone();
    }
    return out;
}

at::Tensor rmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps)
{
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 8)
    // Reading on CUDA: LibTorch's fused kernel (one pass instead of six over (T, D));
    // training keeps the op-by-op form (its autocast and autograd behaviour are known).
    if (x.is_cuda() && !c10::GradMode::is_enabled() && x.scalar_type() == weight.scalar_type()) {
        const int64_t width = x.size(-1);
        return at::rms_norm(x, at::IntArrayRef(&width, 1), weight, eps);
    }
#endif
    return x * at::rsqrt(x.pow(2).mean(-1, true) + eps) * weight;
}

namespace {

// GPU reading path (batch 1) through the fused scan: softplus(dt + bias), the scan, the
// D skip and the SiLU(z) gate in one kernel (the torch-op reference with
// MEMMAMBA_SCAN=reference). B, C and z stay views into their projections. ssm: (E, N)
// in, the last state out.
at::Tensor gpuFusedScan(const MixerWeights& w, const at::Tensor& xc, const at::Tensor& xdbl, const at::Tensor& z,
                        const at::Tensor& A, int64_t R, int64_t N, at::Tensor& ssm)
{
    const at::Tensor deltaRaw = dense(xdbl.narrow(1, 0, R), w.dt_proj_w);  // (T, E), bias added in the scan
    profileMark(Stage::Scan);
    ScanResult scan = selectiveScanFused(xc.unsqueeze(0), deltaRaw.unsqueeze(0), w.dt_proj_b, A,
                                         xdbl.narrow(1, R, N).unsqueeze(0), xdbl.narrow(1, R + N, N).unsqueeze(0), w.D,
                                         z.unsqueeze(0), ssm.unsqueeze(0));
    ssm = scan.h_last[0];
    profileMark(Stage::Mixer);
    return scan.y[0];
}

}  // namespace

namespace {

// silu(causal depthwise convolution) as K shifted multiply-adds over time, the
// second-to-last dimension: xpad (..., T + K - 1, E) holds the K - 1 carried inputs
// first -> (..., T, E). Cheaper than conv1d with E groups on the CPU.
at::Tensor shiftedConvSilu(const MixerWeights& w, const at::Tensor& xpad, int64_t T)
{
    const int64_t E = w.conv_w.size(0), K = w.conv_w.size(2);
    const at::Tensor wk = w.conv_w.view({E, K});
    std::vector<int64_t> shape = xpad.sizes().vec();
    shape[shape.size() - 2] = T;
    at::Tensor xc = w.conv_b.expand(shape).clone();
    for (int64_t k = 0; k < K; ++k)
        xc.addcmul_(xpad.narrow(-2, k, T), wk.select(1, k));
    return at::silu(xc);
}

}  // namespace

at::Tensor mixerSequence(const MixerWeights& w, const ModelConfig& c, const at::Tensor& u, at::Tensor& conv,
                         at::Tensor& ssm)
{
    const int64_t T = u.size(0), E = c.dInner(), N = c.d_state, K = c.d_conv, R = c.dtRank();
    const at::Tensor xz = dense(u, w.in_proj);  // (T, 2E)
    const at::Tensor xi = xz.narrow(1, 0, E), z = xz.narrow(1, E, E);
    const at::Tensor A = -at::exp(w.A_log);  // (E, N)
    if (!c10::GradMode::is_enabled() && u.device().is_cpu() && u.scalar_type() == at::kFloat) {
        // Reading on the CPU: convolution + SiLU in one pass, softplus and the output
        // gate fused into the scan (fewer passes over (T, E) than the op-by-op path below).
        profileMark(Stage::Conv);
        const at::Tensor xc = convSiluInference(xi, conv, w.conv_w, w.conv_b);  // (T, E)
        profileMark(Stage::Mixer);
        const at::Tensor xdbl = dense(xc, w.x_proj);                          // (T, R + 2N)
        const at::Tensor deltaRaw = dense(xdbl.narrow(1, 0, R), w.dt_proj_w, w.dt_proj_b);  // (T, E)
        profileMark(Stage::Scan);
        const at::Tensor y = selectiveScanGatedInference(xc, deltaRaw, A, xdbl.narrow(1, R, N), xdbl.narrow(1, R + N, N),
                                                         w.D, z, ssm);
        profileMark(Stage::Mixer);
        return dense(y, w.out_proj);
    }
    // Causal depthwise convolution as K shifted multiply-adds over (T, E): cheaper than
    // conv1d with E groups on the CPU, and it continues from the carried inputs.
    profileMark(Stage::Conv);
    at::Tensor xc;
    if (convSiluApplies(xi, K)) {  // reading on CUDA: one kernel
        xc = convSiluCuda(xi, conv, w.conv_w, w.conv_b);
    } else {
        const at::Tensor xpad = at::cat({conv, xi}, 0);  // (T + K - 1, E)
        xc = shiftedConvSilu(w, xpad, T);
        conv = xpad.narrow(0, T, K - 1).clone();
    }
    profileMark(Stage::Mixer);
    const at::Tensor xdbl = dense(xc, w.x_proj);  // (T, R + 2N)
    if (!u.device().is_cpu())
        return dense(gpuFusedScan(w, xc, xdbl, z, A, R, N, ssm), w.out_proj);
    const at::Tensor delta = at::softplus(dense(xdbl.narrow(1, 0, R), w.dt_proj_w, w.dt_proj_b));  // (T, E)
    const at::Tensor B = xdbl.narrow(1, R, N).contiguous(), C = xdbl.narrow(1, R + N, N).contiguous();
    profileMark(Stage::Scan);
    ScanResult scan = selectiveScan(xc, delta, A, B, C, w.D, ssm);
    ssm = scan.h_last;
    profileMark(Stage::Mixer);
    return dense(scan.y * at::silu(z), w.out_proj);
}

at::Tensor mixerStep(const MixerWeights& w, const ModelConfig& c, const at::Tensor& u, at::Tensor& conv,
                     at::Tensor& ssm)
{
    const int64_t E = c.dInner(), N = c.d_state, K = c.d_conv, R = c.dtRank();
    const at::Tensor xz = dense(u, w.in_proj);  // (1, 2E)
    const at::Tensor xi = xz.narrow(1, 0, E), z = xz.narrow(1, E, E);
    const at::Tensor window = at::cat({conv, xi}, 0);                                   // (K, E)
    at::Tensor xc = (window * w.conv_w.view({E, K}).t()).sum(0, true) + w.conv_b;      // (1, E)
    conv = window.narrow(0, 1, K - 1).clone();
    xc = at::silu(xc);
    const at::Tensor xdbl = dense(xc, w.x_proj);
    if (!u.device().is_cpu())
        return dense(gpuFusedScan(w, xc, xdbl, z, -at::exp(w.A_log), R, N, ssm), w.out_proj);
    const at::Tensor delta = at::softplus(dense(xdbl.narrow(1, 0, R), w.dt_proj_w, w.dt_proj_b));  // (1, E)
    const at::Tensor B = xdbl.narrow(1, R, N), C = xdbl.narrow(1, R + N, N);                       // (1, N)
    const at::Tensor A = -at::exp(w.A_log);
    ssm = at::exp(delta.t() * A) * ssm + (delta * xc).t() * B;  // (E, N)
    const at::Tensor y = at::matmul(ssm, C.t()).t() + w.D * xc;  // (1, E)
    return dense(y * at::silu(z), w.out_proj);
}

namespace {

/// One layer's pools as read by the piece's chunks.
struct PoolSnapshots {
    at::Tensor values;  // (S, M, r), zero in empty slots
    at::Tensor mask;    // (S, M) bool, true for occupied slots
    std::vector<int64_t> positions;  // (S * M) source positions, -1 empty; only when tracing attention
};

// Adds to the trace, per pool entry, the attention weight of the piece's tokens (heads
// averaged, summed over tokens). att is (G, H, rows, cols) as poolAttention computes it;
// column block j of M columns is the pool of sources[j].
void traceAttention(ForwardTrace& trace, int64_t l, bool crossLayer, const at::Tensor& att, int64_t T, int64_t offset,
                    const std::vector<const PoolSnapshots*>& sources, int64_t M)
{
    const int64_t G = att.size(0), rows = att.size(2), cols = att.size(3);
    at::Tensor w = att.mean(1);  // (G, rows, cols)
    if (G > 1) {  // padding rows (before the first and after the last token) read too: drop them
        at::Tensor keep = at::zeros({G * rows}, w.options());
        keep.narrow(0, offset, T).fill_(1);
        w = w * keep.view({G, rows, 1});
    }
    const at::Tensor sums = w.sum(1).to(at::kCPU, at::kFloat).contiguous();  // (G, cols)
    const float* p = sums.data_ptr<float>();
    for (int64_t g = 0; g < G; ++g)
        for (int64_t col = 0; col < cols; ++col) {
            const float weight = p[g * cols + col];
            const int64_t src = col / M, slot = col % M;
            if (!(weight > 0) || src >= static_cast<int64_t>(sources.size()))
                continue;
            const std::vector<int64_t>& pos = sources[src]->positions;
            if (static_cast<int64_t>(pos.size()) < (g + 1) * M || pos[g * M + slot] < 0)
                continue;
            trace.attention.push_back({l, crossLayer, l - src, pos[g * M + slot], weight});
        }
}

// Pool attention by LibTorch's fused scaled_dot_product_attention (CUDA, LibTorch 2.x)
// where our kernel does not apply (MEMMAMBA_POOL_ATTENTION=sdpa asks for it), unless
// MEMMAMBA_POOL_ATTENTION=reference asks for the op-by-op reference below.
[[maybe_unused]] bool fusedPoolAttention(const at::Tensor& hn)
{
    if (!hn.is_cuda())
        return false;
    const char* choice = std::getenv("MEMMAMBA_POOL_ATTENTION");
    return !(choice && std::strcmp(choice, "reference") == 0);
}

// Attention of each token (rows of hn) to the snapshot of its chunk. Token i sits at
// position start + i; its chunk is group g = (offset + i) / C with offset = start % C.
// All G groups go through one batched matmul: the queries are laid out as (G, C) with
// zero rows before the piece's first and after its last token (a piece within one chunk,
// e.g. a single step, uses its T rows as they are).
// chunk > 0 replaces the note chunk in that grouping (the branch path: one group of any
// number of rows).
at::Tensor poolAttention(const PoolAttentionWeights& w, const ModelConfig& c, const at::Tensor& hn,
                         const PoolSnapshots& snaps, int64_t offset, at::Tensor* weightsOut = nullptr, int64_t chunk = 0)
{
    const int64_t T = hn.size(0), H = c.attn_heads, r = c.note_dim, dh = r / H, C = chunk > 0 ? chunk : c.note_chunk;
    const int64_t Mp = snaps.values.size(1);
    const int64_t G = (offset + T + C - 1) / C;  // chunk groups the piece touches (<= S)
    const int64_t rows = G == 1 ? T : C;
    at::Tensor q = dense(hn, w.q);  // (T, r)
    if (!weightsOut && poolAttentionKernelApplies(q, Mp, dh)) {
        // Reading on CUDA: one kernel over the snapshots, no padding, no scores written.
        const at::Tensor values = snaps.values.narrow(0, 0, G);
        return poolAttentionCuda(q, dense(values, w.k), dense(values, w.v), snaps.mask.narrow(0, 0, G), offset, C, H);
    }
    if (G > 1)
        q = at::constant_pad_nd(q, {0, 0, offset, G * C - offset - T});  // (G * C, r)
    const at::Tensor values = snaps.values.narrow(0, 0, G);
    const at::Tensor qh = q.view({G, rows, H, dh}).permute({0, 2, 1, 3});               // (G, H, rows, dh)
    const at::Tensor kp = dense(values, w.k).view({G, Mp, H, dh});
    const at::Tensor vh = dense(values, w.v).view({G, Mp, H, dh}).permute({0, 2, 1, 3});  // (G, H, M', dh)
    // Empty slots get weight 0 (an additive -1e30 before the softmax, a factor 0 after
    // it); a token facing an empty pool reads c = 0.
    const at::Tensor keep = snaps.mask.narrow(0, 0, G).view({G, 1, 1, Mp}).to(q.scalar_type());  // 1 or 0
    const at::Tensor bias = (keep - 1.0) * 1e30;
#if TORCH_VERSION_MAJOR >= 2
    if (!weightsOut && fusedPoolAttention(hn)) {
        // Memory-efficient attention: the (G, H, rows, M') scores are never written. A
        // group whose pool is all empty gets uniform weights there (finite mask), which
        // the where() turns into c = 0 as above.
        const at::Tensor kh = kp.permute({0, 2, 1, 3});  // (G, H, M', dh)
        const at::Tensor any = snaps.mask.narrow(0, 0, G).any(1).view({G, 1, 1, 1});
        const at::Tensor ctx = at::where(any, at::scaled_dot_product_attention(qh, kh, vh, bias), at::zeros({}, q.options()));
        const at::Tensor out = ctx.permute({0, 2, 1, 3}).reshape({G * rows, r});  // (G * rows, r)
        return G == 1 ? out : out.narrow(0, offset, T);
    }
#endif
    const double scale = 1.0 / std::sqrt(double(dh));
    const at::Tensor kh = kp.permute({0, 2, 3, 1});                                          // (G, H, dh, M')
    const at::Tensor att = at::softmax(at::matmul(qh, kh) * scale + bias, -1) * keep;  // (G, H, rows, M')
    if (weightsOut)
        *weightsOut = att;
    const at::Tensor out = at::matmul(att, vh).permute({0, 2, 1, 3}).reshape({G * rows, r});          // (G * rows, r)
    return G == 1 ? out : out.narrow(0, offset, T);
}

// x + g * W_o c with g = sigmoid(gate_w [hn; c] + gate_b): the gate's two halves applied
// apart, so the (T, D + r) concatenation is never written, and the add fused.
at::Tensor addGated(const at::Tensor& x, const PoolAttentionWeights& w, const at::Tensor& hn, const at::Tensor& ctx)
{
    const int64_t D = hn.size(1);
    const at::Tensor logit =
        dense(hn, w.gate_w.narrow(1, 0, D), w.gate_b) + dense(ctx, w.gate_w.narrow(1, D, w.gate_w.size(1) - D));
    return at::addcmul(x, at::sigmoid(logit), dense(ctx, w.out));  // (T, D)
}

// The pool entries that a walk's insertions wrote, (insertions, r) float on the host:
// insertion i of the merge after the piece's j-th chunk is in snapshot j + 1.
at::Tensor insertionValues(const PoolSnapshots& snap, const std::vector<PoolInsertion>& insertions, int64_t start,
                           const ModelConfig& c)
{
    if (insertions.empty())
        return {};
    const int64_t M = snap.values.size(1), r = snap.values.size(2);
    std::vector<int64_t> rowsOf;
    for (const PoolInsertion& ins : insertions)
        rowsOf.push_back((ins.position / c.note_chunk - start / c.note_chunk + 1) * M + ins.slot);
    return snap.values.reshape({-1, r})
        .index_select(0, at::tensor(rowsOf, at::TensorOptions().dtype(at::kLong)).to(snap.values.device()))
        .detach()
        .to(at::kCPU, at::kFloat)
        .contiguous();
}

/// The pool walks of one forward pass on the device: every layer's pool state goes up at
/// the start (one copy), each layer's walk writes its record, and all records come back
/// at the end (one copy, the forward's one wait for the device besides asked-for traces).
struct DeviceWalks {
    bool on = false;
    bool compactNotes = true;  // summaries only for candidates; MEMMAMBA_NOTE_SUMMARIES=all: for every token
    kernels::pool::RecordLayout layout{};
    at::Tensor stateIn;  // (L, stateLength) int64 on the device
    at::Tensor records;  // (L, length) int64 on the device
};

DeviceWalks startDeviceWalks(const Model& m, const ModelState& st, int64_t T, const ForwardTrace* trace, bool noPool)
{
    const ModelConfig& c = m.config;
    DeviceWalks w;
    const PoolRules rules = poolRules(c);
    // Attention tracing names the pool entries by position from the host walk's bank.
    if (!c.notes || noPool || (trace && trace->keep_attention) || !deviceWalkApplies(m.options.device(), rules, c.pool_slots))
        return w;
    w.on = true;
    const char* summaries = std::getenv("MEMMAMBA_NOTE_SUMMARIES");
    w.compactNotes = !(summaries && std::strcmp(summaries, "all") == 0);
    w.layout = walkRecordLayout(rules, c.pool_slots, st.position, T);
    const int64_t L = c.n_layer, words = w.layout.stateLength();
    at::Tensor host = at::empty({L, words}, at::TensorOptions().dtype(at::kLong).pinned_memory(true));
    for (int64_t l = 0; l < L; ++l)
        packPoolState(st.layers[l].pool, w.layout, host.data_ptr<int64_t>() + l * words);
    w.stateIn = host.to(m.options.device(), at::kLong, /*non_blocking=*/true);
    w.records = at::empty({L, w.layout.length()}, m.options.dtype(at::kLong));
    return w;
}

// Brings the records back: the pools' metadata, the candidates' count, the note events.
void finishDeviceWalks(const Model& m, ModelState& st, const DeviceWalks& w, const std::vector<PoolSnapshots>& snaps,
                       ForwardTrace* trace)
{
    // The insertions (note events) only when asked for: else the pools' state alone.
    const bool events = trace && (trace->keep_insertions || trace->keep_insertion_values);
    const int64_t words = events ? w.layout.length() : w.layout.insCount() + 1;
    const at::Tensor host = w.records.narrow(1, 0, words).to(at::kCPU).contiguous();  // waits for the device
    for (int64_t l = 0; l < m.config.n_layer; ++l) {
        LayerState& ls = st.layers[l];
        std::vector<PoolInsertion>* insertions = events ? &trace->insertions[l] : nullptr;
        unpackPoolRecord(host.data_ptr<int64_t>() + l * words, w.layout, ls.pool, insertions);
        ls.cand_values = ls.cand_values.narrow(0, 0, static_cast<int64_t>(ls.pool.candidates.size()));
        if (events && trace->keep_insertion_values)
            trace->insertion_values[l] = insertionValues(snaps[l], *insertions, st.position, m.config);
    }
}

// The pools that slotBank ((count * M) bank row of every slot, -1 empty) makes of the
// bank's rows: (count, M, r) values, zero in empty slots, and their (count, M) mask.
PoolSnapshots gatherPools(const at::Tensor& bank, const at::Tensor& slotBank, int64_t count, int64_t M)
{
    PoolSnapshots pools;
    pools.mask = slotBank.ge(0).view({count, M});
    pools.values = bank.index_select(0, slotBank.clamp_min(0)).view({count, M, bank.size(1)}) *
                   pools.mask.unsqueeze(2).to(bank.scalar_type());
    return pools;
}

// What layer l's cross-layer attention reads: the pools of layers l, l-1, ..., l-P+1 side
// by side, each tagged with its source offset: (S, P*M, r), (S, P*M).
PoolSnapshots crossLayerPools(const std::vector<PoolSnapshots>& snaps, const NoteWeights& nw, const ModelConfig& c,
                              int64_t l)
{
    std::vector<at::Tensor> values, masks;
    for (int64_t j = 0; j < c.crossLayerSources(l); ++j) {
        values.push_back(snaps[l - j].values + nw.lay.source[j]);
        masks.push_back(snaps[l - j].mask);
    }
    return {at::cat(values, 1), at::cat(masks, 1), {}};
}

at::Tensor layerForward(const Model& m, int64_t l, const at::Tensor& x, const at::Tensor& emb, ModelState& st,
                        std::vector<PoolSnapshots>& snaps, ForwardTrace* trace, bool step, bool noPool,
                        const DeviceWalks& walks)
{
    const ModelConfig& c = m.config;
    const LayerWeights& lw = m.weights.layers[l];
    LayerState& ls = st.layers[l];
    profileMark(Stage::Mixer);
    const at::Tensor u = rmsNorm(x, lw.norm, c.norm_eps);
    const at::Tensor y = step ? mixerStep(lw.mixer, c, u, ls.conv, ls.ssm) : mixerSequence(lw.mixer, c, u, ls.conv, ls.ssm);
    const at::Tensor h = x + y;  // (T, D)
    if (!c.notes)
        return h;

    const int64_t T = x.size(0), M = c.pool_slots, r = c.note_dim;
    const NoteWeights& nw = lw.note;
    profileMark(Stage::Score);
    const at::Tensor hn = rmsNorm(h, nw.norm, c.norm_eps);
    const at::Tensor a = at::sigmoid(dense(hn, nw.score_w, nw.score_b)).squeeze(1);  // (T)
    if (noPool) {
        // Ablation: the pools emptied at every step. A token facing an empty pool reads
        // c = 0 and both attentions add g * W_o 0 = 0, so the block's output is h.
        ls.pool = PoolMeta(M);
        ls.pool_values = at::zeros({M, r}, m.options);
        ls.cand_values = at::zeros({0, r}, m.options);
        snaps[l].values = at::zeros({1, M, r}, m.options);
        snaps[l].mask = at::zeros({1, M}, m.options.dtype(at::kBool));
        snaps[l].positions.assign(M, -1);
        if (trace)
            trace->scores[l] = a.detach().to(at::kCPU, at::kFloat).contiguous();
        return h;
    }
    // The bank's note rows a * s: every token's (T, r), or with the device walk's compact
    // notes only the candidate places' (G * k, r), computed after the walk.
    at::Tensor notes;
    const bool compact = walks.on && walks.compactNotes;
    if (!compact) {
        profileMark(Stage::Summaries);
        notes = a.unsqueeze(1) * dense(at::cat({hn, emb}, 1), nw.summary);
    }

    // Which token goes where is decided from the scores alone (on the device, or on the
    // host after a copy); the values follow by one gather, so gradients reach the scorer
    // through a * s.
    profileMark(Stage::Walk);
    const bool traceAtt = trace && trace->keep_attention;
    const PoolRules rules = poolRules(c);
    at::Tensor aCpu;  // host walk only
    PoolWalk walk;    // host walk only
    std::vector<int64_t> bankPositions;  // source position of every bank row (attention tracing only)
    at::Tensor slotBank;                 // (S * M) bank row of every snapshot slot, -1 empty
    int64_t snapshots = 0;
    if (walks.on) {
        const int64_t carried = static_cast<int64_t>(ls.pool.candidates.size());
        const DeviceWalk dw = walkPoolsOnDevice(a.detach().unsqueeze(0), rules, M, st.position, walks.stateIn.narrow(0, l, 1),
                                                M, M + carried, 0, walks.records.narrow(0, l, 1), compact);
        slotBank = dw.slotBank.view({-1});
        snapshots = dw.snapshots;
        if (compact) {
            profileMark(Stage::Summaries);
            const at::Tensor rows = dw.noteSources.view({-1}).clamp_min(0);  // unused places: token 0, never read
            notes = a.index_select(0, rows).unsqueeze(1) *
                    dense(at::cat({hn.index_select(0, rows), emb.index_select(0, rows)}, 1), nw.summary);
        }
    } else {
        aCpu = a.detach().to(at::kCPU, at::kFloat).contiguous();
        if (traceAtt) {
            bankPositions = ls.pool.position;
            for (const NoteCandidate& cand : ls.pool.candidates)
                bankPositions.push_back(cand.position);
            for (int64_t i = 0; i < T; ++i)
                bankPositions.push_back(st.position + i);
        }
        walk = walkPool(ls.pool, rules, st.position, aCpu.data_ptr<float>(), T);
        slotBank = at::tensor(walk.slot_bank, at::TensorOptions().dtype(at::kLong)).to(m.options.device());
        snapshots = walk.snapshots;
    }
    profileMark(Stage::Gather);
    const at::Tensor bank = at::cat({ls.pool_values, ls.cand_values, notes}, 0);  // (M + k' + T, r)
    PoolSnapshots& snap = snaps[l];
    snap = gatherPools(bank, slotBank, snapshots, M);
    ls.pool_values = snap.values[snapshots - 1].clone();  // not a view: the state outlives the piece
    if (walks.on) {
        // (k, r): narrowed to the candidates' count when the records come back (finishDeviceWalks).
        ls.cand_values = bank.index_select(0, walks.records[l].narrow(0, walks.layout.candBank(), walks.layout.perChunk));
    } else {
        std::vector<int64_t> candRows;
        for (NoteCandidate& cand : ls.pool.candidates)
            candRows.push_back(cand.bank);
        ls.cand_values = bank.index_select(
            0, at::tensor(candRows, at::TensorOptions().dtype(at::kLong)).to(m.options.device()));
    }
    profileMark(Stage::Copies);
    if (trace) {
        if (walks.on) {
            if (trace->keep_scores) {  // asynchronous: complete once the records have come back
                trace->scores[l] = at::empty({T}, at::TensorOptions().dtype(at::kFloat).pinned_memory(true));
                trace->scores[l].copy_(a.detach().to(at::kFloat), /*non_blocking=*/true);
            }
        } else {
            trace->scores[l] = aCpu;
            trace->insertions[l] = walk.insertions;
            if (trace->keep_insertion_values)
                trace->insertion_values[l] = insertionValues(snap, walk.insertions, st.position, c);
        }
        if (trace->keep_queries)
            trace->queries[l] = at::matmul(dense(hn, nw.tok.q).mean(0), nw.tok.k).detach().to(at::kCPU, at::kFloat);
    }
    if (traceAtt) {
        snap.positions.resize(walk.slot_bank.size());
        for (size_t i = 0; i < walk.slot_bank.size(); ++i)
            snap.positions[i] = walk.slot_bank[i] < 0 ? -1 : bankPositions[walk.slot_bank[i]];
    }

    profileMark(Stage::Attention);
    const int64_t offset = st.position % c.note_chunk;
    at::Tensor att;
    at::Tensor out = addGated(h, nw.tok, hn, poolAttention(nw.tok, c, hn, snap, offset, traceAtt ? &att : nullptr));
    if (traceAtt)
        traceAttention(*trace, l, false, att, T, offset, {&snap}, M);
    if (c.hasCrossLayer(l)) {
        out = addGated(out, nw.lay, hn,
                       poolAttention(nw.lay, c, hn, crossLayerPools(snaps, nw, c, l), offset, traceAtt ? &att : nullptr));
        if (traceAtt) {
            std::vector<const PoolSnapshots*> sources;  // column block j: the pool of layer l - j
            for (int64_t j = 0; j < c.crossLayerSources(l); ++j)
                sources.push_back(&snaps[l - j]);
            traceAttention(*trace, l, true, att, T, offset, sources, M);
        }
    }
    return out;
}

// The mixer over B branches (u (B, T, D)) that all continue from one carried state
// (conv (K-1, E), ssm (E, N), left unchanged): the projections over all B * T rows at
// once, the convolution as K shifted multiply-adds, the batched fused scan. (B * T, D).
// real: the rows of the B * T that hold tokens (undefined: all); the projections skip
// the padding (zero there), which only the convolution and the scan see.
at::Tensor mixerBranches(const MixerWeights& w, const ModelConfig& c, const at::Tensor& u, const at::Tensor& conv,
                         const at::Tensor& ssm, const at::Tensor& real)
{
    const int64_t Bt = u.size(0), T = u.size(1), E = c.dInner(), N = c.d_state, K = c.d_conv, R = c.dtRank();
    // A projection of the (B, T, in) rows: over the real rows only, zeros elsewhere.
    auto project = [&](const at::Tensor& x, const at::Tensor& weight) {
        const at::Tensor flat = x.reshape({Bt * T, x.size(2)});
        if (!real.defined())
            return dense(flat, weight).view({Bt, T, weight.size(0)});
        return at::zeros({Bt * T, weight.size(0)}, flat.options())
            .index_copy_(0, real, dense(flat.index_select(0, real), weight))
            .view({Bt, T, weight.size(0)});
    };
    const at::Tensor xz = project(u, w.in_proj);  // (B, T, 2E)
    const at::Tensor xi = xz.narrow(2, 0, E), z = xz.narrow(2, E, E);
    profileMark(Stage::Conv);
    const at::Tensor xc =
        shiftedConvSilu(w, at::cat({conv.unsqueeze(0).expand({Bt, K - 1, E}), xi}, 1), T);  // (B, T, E)
    profileMark(Stage::Mixer);
    const at::Tensor xdbl = project(xc, w.x_proj);  // (B, T, R + 2N)
    const at::Tensor deltaRaw = project(xdbl.narrow(2, 0, R), w.dt_proj_w);  // (B, T, E), bias added in the scan
    profileMark(Stage::Scan);
    const ScanResult scan = selectiveScanFused(xc, deltaRaw, w.dt_proj_b, -at::exp(w.A_log),
                                               xdbl.narrow(2, R, N).contiguous(), xdbl.narrow(2, R + N, N).contiguous(),
                                               w.D, z, ssm.unsqueeze(0).expand({Bt, E, N}).contiguous());
    profileMark(Stage::Mixer);
    return project(scan.y, w.out_proj).view({Bt * T, c.d_model});
}

at::Tensor forwardTokens(const Model& m, ModelState& st, const at::Tensor& tokens, ForwardTrace* trace, bool step,
                         bool noPool)
{
    const ModelConfig& c = m.config;
    TORCH_CHECK(tokens.dim() == 1 && tokens.size(0) > 0, "forward: tokens must be a non-empty (T) tensor");
    if (trace) {
        trace->scores.assign(c.n_layer, at::Tensor());
        trace->insertions.assign(c.n_layer, {});
        trace->layer_outputs.clear();
        trace->insertion_values.assign(c.n_layer, at::Tensor());
        trace->attention.clear();
        trace->queries.assign(c.n_layer, at::Tensor());
    }
    const at::Tensor ids = tokens.to(m.options.device(), at::kLong);
    const at::Tensor emb = m.weights.embedding.index_select(0, ids);  // (T, D)
    std::vector<PoolSnapshots> snaps(c.n_layer);
    const DeviceWalks walks = startDeviceWalks(m, st, tokens.size(0), trace, noPool);
    at::Tensor x = emb;
    for (int64_t l = 0; l < c.n_layer; ++l) {
        x = layerForward(m, l, x, emb, st, snaps, trace, step, noPool, walks);
        if (trace && trace->keep_layer_outputs)
            trace->layer_outputs.push_back(x);
    }
    if (walks.on) {
        profileMark(Stage::Copies);
        finishDeviceWalks(m, st, walks, snaps, trace);
    }
    profileMark(Stage::Outside);
    const at::Tensor hidden = rmsNorm(x, m.weights.norm_f, c.norm_eps);  // (T, D)
    const int64_t T = tokens.size(0);
    st.position += T;
    st.last_token = static_cast<int32_t>(tokens[T - 1].item<int64_t>());
    st.last_hidden = hidden[T - 1].clone();  // not a view that would keep all (T, D) alive
    return hidden;
}

}  // namespace

at::Tensor forwardSequence(const Model& m, ModelState& st, const at::Tensor& tokens, ForwardTrace* trace, bool noPool)
{
    return forwardTokens(m, st, tokens, trace, false, noPool);
}

at::Tensor forwardStep(const Model& m, ModelState& st, int64_t token, ForwardTrace* trace, bool noPool)
{
    return forwardTokens(m, st, at::tensor({token}, at::TensorOptions().dtype(at::kLong)), trace, true, noPool);
}

int64_t branchReach(const Model& m, const ModelState& st, bool merge)
{
    if (!m.config.notes)
        return std::numeric_limits<int64_t>::max();
    const int64_t C = m.config.note_chunk, left = C - st.position % C;  // tokens to the chunk's end
    // Without the merge: up to the token before the chunk's last, whose read would merge.
    // With it: up to the next chunk's last token (its merge follows the last token read).
    return merge ? left + C : left - 1;
}

at::Tensor forwardBranches(const Model& m, const ModelState& st, const at::Tensor& tokens,
                           const std::vector<int64_t>& lengths, bool noPool)
{
    const ModelConfig& c = m.config;
    TORCH_CHECK(tokens.dim() == 2 && tokens.size(0) > 0 && tokens.size(1) > 0,
                "forwardBranches: tokens must be a non-empty (B, T) tensor");
    const int64_t Bt = tokens.size(0), T = tokens.size(1), D = c.d_model, M = c.pool_slots, r = c.note_dim;
    const int64_t C = c.note_chunk, L = c.n_layer;
    TORCH_CHECK(T <= branchReach(m, st, true), "forwardBranches: the piece crosses more than one note chunk boundary");
    const at::Tensor emb = m.weights.embedding.index_select(0, tokens.reshape({-1}).to(m.options.device(), at::kLong));
    TORCH_CHECK(lengths.empty() || static_cast<int64_t>(lengths.size()) == Bt, "forwardBranches: one length per branch");
    at::Tensor real;  // rows of the (B * T) that hold tokens, when some are padding
    if (!lengths.empty() && std::accumulate(lengths.begin(), lengths.end(), int64_t(0)) < Bt * T) {
        std::vector<int64_t> rows;
        for (int64_t b = 0; b < Bt; ++b)
            for (int64_t t = 0; t < std::min(lengths[static_cast<size_t>(b)], T); ++t)
                rows.push_back(b * T + t);
        real = at::tensor(rows, at::TensorOptions().dtype(at::kLong)).to(m.options.device());
    }
    const bool pools = c.notes && !noPool;
    // Each branch's first `before` tokens read the pools as they stand in st (one shared
    // snapshot per layer); when the piece crosses the chunk's end, its last `after` tokens
    // read the pool that branch's own merge made.
    const int64_t before = pools ? std::min(T, C - st.position % C) : T, after = T - before;
    std::vector<PoolSnapshots> shared(L), merged(L);
    if (pools) {
        std::vector<uint8_t> occupied;
        for (const LayerState& ls : st.layers)
            for (int64_t p : ls.pool.position)
                occupied.push_back(p >= 0 ? 1 : 0);
        const at::Tensor mask =
            at::tensor(occupied, at::TensorOptions().dtype(at::kByte)).to(m.options.device()).to(at::kBool).view({L, M});
        for (int64_t l = 0; l < L; ++l)
            shared[l] = {st.layers[l].pool_values.unsqueeze(0), mask[l].unsqueeze(0), {}};
    }
    const PoolRules rules = poolRules(c);
    // Attention for rows of all branches against one snapshot (one group of any length),
    // and for each branch's rows against its own (B groups of `after` rows).
    auto attend = [&](const PoolAttentionWeights& w, const at::Tensor& hn, const PoolSnapshots& one,
                      const PoolSnapshots& each) {
        if (after == 0)
            return poolAttention(w, c, hn, one, 0, nullptr, std::max(Bt * T, C));
        const at::Tensor h3 = hn.view({Bt, T, D});
        const at::Tensor pre = poolAttention(w, c, h3.narrow(1, 0, before).reshape({Bt * before, D}), one, 0, nullptr,
                                             std::max(Bt * before, C));
        const at::Tensor post = poolAttention(w, c, h3.narrow(1, before, after).reshape({Bt * after, D}), each, 0, nullptr, after);
        return at::cat({pre.view({Bt, before, r}), post.view({Bt, after, r})}, 1).view({Bt * T, r});
    };
    at::Tensor x = emb;  // (B * T, D)
    for (int64_t l = 0; l < L; ++l) {
        const LayerWeights& lw = m.weights.layers[l];
        const LayerState& ls = st.layers[l];
        profileMark(Stage::Mixer);
        const at::Tensor u = rmsNorm(x, lw.norm, c.norm_eps).view({Bt, T, D});
        const at::Tensor h = x + mixerBranches(lw.mixer, c, u, ls.conv, ls.ssm, real);
        if (!pools) {  // no notes, or the ablation's empty pools: the block's output is h
            x = h;
            continue;
        }
        const NoteWeights& nw = lw.note;
        const at::Tensor hn = rmsNorm(h, nw.norm, c.norm_eps);
        if (after > 0) {
            // Each branch's merge at the chunk's end, walked on the host as in layerForward:
            // its candidates are st's carried ones and its own tokens' notes.
            profileMark(Stage::Walk);
            const at::Tensor a = at::sigmoid(dense(hn, nw.score_w, nw.score_b)).squeeze(1);  // (B * T)
            const at::Tensor aCpu = a.to(at::kCPU, at::kFloat).contiguous();
            const int64_t carried = static_cast<int64_t>(ls.pool.candidates.size());
            std::vector<int64_t> rows(static_cast<size_t>(Bt * M));
            for (int64_t b = 0; b < Bt; ++b) {
                PoolMeta meta = ls.pool;
                const PoolWalk walk = walkPool(meta, rules, st.position, aCpu.data_ptr<float>() + b * T, before);
                TORCH_CHECK(walk.snapshots == 2, "forwardBranches: expected one merge");
                for (int64_t i = 0; i < M; ++i) {
                    const int64_t row = walk.slot_bank[static_cast<size_t>(M + i)];
                    rows[static_cast<size_t>(b * M + i)] = row < M + carried ? row : row + b * T;  // branch b's notes
                }
            }
            profileMark(Stage::Summaries);
            const at::Tensor notes = a.unsqueeze(1) * dense(at::cat({hn, emb}, 1), nw.summary);  // (B * T, r)
            profileMark(Stage::Gather);
            const at::Tensor bank = at::cat({ls.pool_values, ls.cand_values, notes}, 0);
            merged[l] = gatherPools(bank, at::tensor(rows, at::TensorOptions().dtype(at::kLong)).to(m.options.device()),
                                    Bt, M);
        }
        profileMark(Stage::Attention);
        at::Tensor out = addGated(h, nw.tok, hn, attend(nw.tok, hn, shared[l], merged[l]));
        if (c.hasCrossLayer(l))
            out = addGated(out, nw.lay, hn,
                           attend(nw.lay, hn, crossLayerPools(shared, nw, c, l),
                                  after > 0 ? crossLayerPools(merged, nw, c, l) : PoolSnapshots{}));
        x = out;
    }
    profileMark(Stage::Outside);
    return rmsNorm(x, m.weights.norm_f, c.norm_eps).view({Bt, T, D});
}

at::Tensor lmHead(const Model& m, const at::Tensor& hidden)
{
    return dense(hidden, m.weights.embedding);
}

}  // namespace mm::engine
