#include "engine/train/batched_forward.h"

#include "engine/pool_walk_device.h"
#include "engine/selective_scan.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace mm::engine::train {

namespace {

/// One layer's pools as read by each row's chunks.
struct BatchSnapshots {
    at::Tensor values;  // (Bt, G, M, r), zero in empty slots
    at::Tensor mask;    // (Bt, G, M) bool, true for occupied slots
};

/// Causal depthwise convolution of xi (Bt, T', E) continuing from state (Bt, K-1, E);
/// state is replaced by the last K-1 inputs. Same shifted multiply-adds as mixerSequence.
/// since (Bt, T') or undefined: tokens since the segment began; a tap that reaches back
/// past it reads zero, as a fresh conv state would give.
at::Tensor causalConv(const MixerWeights& w, int64_t K, const at::Tensor& xi, at::Tensor& state,
                      const at::Tensor& since = {})
{
    const int64_t Tp = xi.size(1), E = xi.size(2);
    const at::Tensor xpad = at::cat({state, xi}, 1);  // (Bt, T' + K - 1, E)
    const at::Tensor wk = w.conv_w.view({E, K}).to(xi.scalar_type());
    at::Tensor xc = w.conv_b.to(xi.scalar_type()).expand({xi.size(0), Tp, E});
    for (int64_t k = 0; k < K; ++k) {
        at::Tensor term = xpad.narrow(1, k, Tp) * wk.select(1, k);
        const int64_t lag = K - 1 - k;
        if (since.defined() && lag > 0)
            term = term * since.ge(lag).unsqueeze(2).to(term.scalar_type());
        xc = xc + term;
    }
    state = xpad.narrow(1, Tp, K - 1);
    return at::silu(xc);
}

/// The selective scan with its state reset to zero where `start` is true, through the
/// fused scan (CUDA kernels or the CPU path) unchanged: at a reset the step size becomes
/// delta + kResetDelta, so exp((delta + kResetDelta) * A) underflows to exactly 0 and the
/// carried state is forgotten, and u is scaled by delta / (delta + kResetDelta) so the
/// input term (delta + kResetDelta) * u' * B equals delta * u * B. The skip term D * u'
/// is put back to D * u outside. Gradients follow by autograd through these elementwise
/// ops and agree with a scan that starts afresh (tests/train: packedRowEqualsSamplesAlone).
/// Exact for |A| > 0.01 (exp(-100) == 0 in fp32 at kResetDelta 1e4); A = -exp(A_log)
/// starts at -1..-N and stays far from 0.
ScanResult scanWithResets(const at::Tensor& u, const at::Tensor& deltaRaw, const at::Tensor& deltaBias,
                          const at::Tensor& A, const at::Tensor& Bm, const at::Tensor& Cm, const at::Tensor& D,
                          const at::Tensor& z, const at::Tensor& h0, const at::Tensor& start)
{
    constexpr double kResetDelta = 1e4;
    const at::Tensor reset = start.unsqueeze(2).to(at::kFloat);                   // (Bt, T, 1)
    const at::Tensor delta = at::softplus(deltaRaw + deltaBias);                   // (Bt, T, E)
    // softplus is the identity above 20, so the kernel's softplus(raw' + bias) = delta + kResetDelta.
    const at::Tensor rawReset = delta + kResetDelta - deltaBias;
    const at::Tensor raw = at::where(start.unsqueeze(2), rawReset, deltaRaw);
    const at::Tensor scale = 1.0 - reset + reset * (delta / (delta + kResetDelta));
    const at::Tensor uScaled = u * scale;
    ScanResult scan = selectiveScanFused(uScaled.contiguous(), raw.contiguous(), deltaBias, A, Bm, Cm, D, z, h0);
    scan.y = scan.y + (D * (u - uScaled) * at::silu(z)) * reset;
    return scan;
}

/// Attention of each row's tokens to the snapshot of their chunk: queries laid out as
/// (Bt * G, C) rows (zero-padded after the last token), one batched matmul for all.
/// Mirrors engine/model.cpp's poolAttention with offset 0.
at::Tensor poolAttentionBatch(const PoolAttentionWeights& w, const ModelConfig& c, const at::Tensor& hn,
                              const BatchSnapshots& snaps)
{
    const int64_t Bt = hn.size(0), T = hn.size(1), H = c.attn_heads, r = c.note_dim, dh = r / H, C = c.note_chunk;
    const int64_t G = (T + C - 1) / C, Mp = snaps.values.size(2);
    const int64_t rows = G == 1 ? T : C;
    at::Tensor q = at::linear(hn, w.q);  // (Bt, T, r)
    if (G * rows > T)
        q = at::constant_pad_nd(q, {0, 0, 0, G * rows - T});  // (Bt, G * C, r)
    const at::Tensor values = snaps.values.narrow(1, 0, G).reshape({Bt * G, Mp, r});
    const at::Tensor qh = q.reshape({Bt * G, rows, H, dh}).permute({0, 2, 1, 3});             // (BG, H, rows, dh)
    const at::Tensor kh = at::linear(values, w.k).view({Bt * G, Mp, H, dh}).permute({0, 2, 3, 1});  // (BG, H, dh, M')
    const at::Tensor vh = at::linear(values, w.v).view({Bt * G, Mp, H, dh}).permute({0, 2, 1, 3});  // (BG, H, M', dh)
    // In float: the -1e30 mask and the softmax must not round in bf16.
    const at::Tensor keep = snaps.mask.narrow(1, 0, G).reshape({Bt * G, 1, 1, Mp}).to(at::kFloat);
    const at::Tensor bias = (keep - 1.0) * 1e30;
    const double scale = 1.0 / std::sqrt(double(dh));
    const at::Tensor att = at::softmax(at::matmul(qh, kh).to(at::kFloat) * scale + bias, -1) * keep;  // (BG, H, rows, M')
    const at::Tensor out =
        at::matmul(att.to(vh.scalar_type()), vh).permute({0, 2, 1, 3}).reshape({Bt, G * rows, r});  // (Bt, G*rows, r)
    return out.narrow(1, 0, T);
}

at::Tensor gatedOutput(const PoolAttentionWeights& w, const at::Tensor& hn, const at::Tensor& ctx)
{
    const at::Tensor g = at::sigmoid(at::linear(at::cat({hn, ctx.to(hn.scalar_type())}, -1), w.gate_w, w.gate_b));
    return g * at::linear(ctx, w.out);  // (Bt, T, D)
}

}  // namespace

SegmentResets SegmentResets::of(const std::vector<std::vector<int64_t>>& segmentStarts, int64_t rows, int64_t length,
                                at::Device device)
{
    SegmentResets r;
    std::vector<int64_t> since(rows * length);
    std::vector<uint8_t> start(rows * length, 0);
    for (int64_t b = 0; b < rows; ++b) {
        std::vector<int64_t> starts = b < static_cast<int64_t>(segmentStarts.size()) ? segmentStarts[b]
                                                                                     : std::vector<int64_t>{};
        std::sort(starts.begin(), starts.end());
        size_t next = 0;
        int64_t from = 0;
        for (int64_t t = 0; t < length; ++t) {
            while (next < starts.size() && starts[next] <= t) {
                if (starts[next] == t && t > 0) {
                    from = t;
                    start[b * length + t] = 1;
                    r.any = true;
                }
                ++next;
            }
            since[b * length + t] = t - from;
        }
    }
    if (!r.any)
        return r;
    r.since = at::tensor(since, at::TensorOptions().dtype(at::kLong)).view({rows, length}).to(device);
    r.start = at::tensor(std::vector<int64_t>(start.begin(), start.end()), at::TensorOptions().dtype(at::kLong))
                  .view({rows, length})
                  .to(device)
                  .to(at::kBool);
    return r;
}

at::Tensor mixerBatch(const MixerWeights& w, const ModelConfig& c, const at::Tensor& u,
                      const std::vector<int64_t>& dropStateAt, const SegmentResets& resets)
{
    const int64_t Bt = u.size(0), T = u.size(1), E = c.dInner(), N = c.d_state, K = c.d_conv, R = c.dtRank();
    const at::Tensor xz = at::linear(u, w.in_proj);  // (Bt, T, 2E)
    // docs/spec/MODEL.md: the scan and its state stay in fp32 (also under bf16 autocast).
    const at::Tensor xi = xz.narrow(2, 0, E).to(at::kFloat), z = xz.narrow(2, E, E).to(at::kFloat);
    const at::Tensor A = -at::exp(w.A_log.to(at::kFloat));  // (E, N)

    // Pieces between the distinct drop points: at a piece's start, rows that drop there
    // begin again from zero conv and SSM state. Without drops it is one piece.
    std::set<int64_t> cuts;
    for (int64_t s : dropStateAt)
        if (s > 0 && s < T)
            cuts.insert(s);
    std::vector<int64_t> bounds{0};
    bounds.insert(bounds.end(), cuts.begin(), cuts.end());
    bounds.push_back(T);

    const auto f32 = u.options().dtype(at::kFloat);
    at::Tensor convState = at::zeros({Bt, K - 1, E}, f32);
    at::Tensor h = at::zeros({Bt, E, N}, f32);
    std::vector<at::Tensor> ys;
    for (size_t p = 0; p + 1 < bounds.size(); ++p) {
        const int64_t a = bounds[p], len = bounds[p + 1] - a;
        if (a > 0) {
            std::vector<float> keepRows(Bt, 1.0f);
            for (int64_t b = 0; b < Bt && b < static_cast<int64_t>(dropStateAt.size()); ++b)
                if (dropStateAt[b] == a)
                    keepRows[b] = 0.0f;
            const at::Tensor keep = at::tensor(keepRows, at::TensorOptions().dtype(at::kFloat)).to(u.device());
            convState = convState * keep.view({Bt, 1, 1});
            h = h * keep.view({Bt, 1, 1});
        }
        const at::Tensor since = resets.any ? resets.since.narrow(1, a, len) : at::Tensor();
        const at::Tensor xc = causalConv(w, K, xi.narrow(1, a, len), convState, since);  // (Bt, len, E)
        const at::Tensor xdbl = at::linear(xc, w.x_proj).to(at::kFloat);            // (Bt, len, R + 2N)
        const at::Tensor deltaRaw = at::linear(xdbl.narrow(2, 0, R), w.dt_proj_w).to(at::kFloat);  // (Bt, len, E)
        const at::Tensor Bm = xdbl.narrow(2, R, N).contiguous(), Cm = xdbl.narrow(2, R + N, N).contiguous();
        ScanResult scan =
            resets.any ? scanWithResets(xc.contiguous(), deltaRaw.contiguous(), w.dt_proj_b.to(at::kFloat), A, Bm, Cm,
                                        w.D.to(at::kFloat), z.narrow(1, a, len).contiguous(), h,
                                        resets.start.narrow(1, a, len))
                       : selectiveScanFused(xc.contiguous(), deltaRaw.contiguous(), w.dt_proj_b.to(at::kFloat), A, Bm,
                                            Cm, w.D.to(at::kFloat), z.narrow(1, a, len).contiguous(), h);
        h = scan.h_last;
        ys.push_back(scan.y);
    }
    const at::Tensor y = ys.size() == 1 ? ys[0] : at::cat(ys, 1);
    return at::linear(y, w.out_proj);
}

BatchOutput forwardBatch(const Model& m, const at::Tensor& tokens, const BatchOptions& options)
{
    const ModelConfig& c = m.config;
    TORCH_CHECK(tokens.dim() == 2 && tokens.size(1) > 0, "forwardBatch: tokens must be (Bt, T)");
    const int64_t Bt = tokens.size(0), T = tokens.size(1), M = c.pool_slots, r = c.note_dim, C = c.note_chunk;
    const int64_t G = (T + C - 1) / C;
    BatchOutput out;
    const at::Tensor ids = tokens.to(m.options.device(), at::kLong);
    const at::Tensor emb = at::embedding(m.weights.embedding, ids);  // (Bt, T, D)
    std::vector<BatchSnapshots> snaps(c.n_layer);
    const PoolRules rules = poolRules(c);
    const SegmentResets resets = SegmentResets::of(options.segmentStarts, Bt, T, m.options.device());
    // Each row's segments: [start, end) pieces walked with their own fresh pool.
    std::vector<std::vector<std::pair<int64_t, int64_t>>> segments(Bt);
    for (int64_t b = 0; b < Bt; ++b) {
        std::vector<int64_t> cuts{0};
        if (b < static_cast<int64_t>(options.segmentStarts.size()))
            for (int64_t s : options.segmentStarts[b])
                if (s > 0 && s < T) {
                    TORCH_CHECK(!c.notes || s % C == 0, "forwardBatch: a segment must start at a note-chunk boundary");
                    cuts.push_back(s);
                }
        std::sort(cuts.begin(), cuts.end());
        cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
        cuts.push_back(T);
        for (size_t i = 0; i + 1 < cuts.size(); ++i)
            segments[b].emplace_back(cuts[i], cuts[i + 1]);
    }
    std::vector<at::Tensor> insertedOnDevice;  // per layer, the device walks' insertion counts
    const bool deviceWalk = c.notes && deviceWalkApplies(m.options.device(), rules, M);
    at::Tensor emptyBefore;  // device walk: (Bt, G) 1 where a chunk starts a new segment
    if (deviceWalk && !options.segmentStarts.empty()) {
        std::vector<uint8_t> starts(Bt * G, 0);
        for (int64_t b = 0; b < Bt; ++b)
            for (const auto& [s0, s1] : segments[b])
                starts[b * G + s0 / C] = s0 > 0 ? 1 : 0;
        emptyBefore = at::tensor(starts, at::TensorOptions().dtype(at::kByte)).view({Bt, G}).to(m.options.device());
    }
    at::Tensor x = emb;
    for (int64_t l = 0; l < c.n_layer; ++l) {
        const LayerWeights& lw = m.weights.layers[l];
        const at::Tensor u = rmsNorm(x, lw.norm, c.norm_eps);
        const at::Tensor h = x + mixerBatch(lw.mixer, c, u, options.dropStateAt, resets);  // (Bt, T, D)
        if (!c.notes) {
            x = h;
            continue;
        }
        const NoteWeights& nw = lw.note;
        const at::Tensor hn = rmsNorm(h, nw.norm, c.norm_eps);
        const at::Tensor logit = at::linear(hn, nw.score_w, nw.score_b).squeeze(-1);  // (Bt, T)
        out.scoreLogits.push_back(logit);
        if (options.noPool) {
            x = h;
            continue;
        }
        const at::Tensor a = at::sigmoid(logit.to(at::kFloat));
        const at::Tensor s = at::linear(at::cat({hn, emb.to(hn.scalar_type())}, -1), nw.summary);  // (Bt, T, r)
        const at::Tensor notes = a.unsqueeze(-1) * s;                                               // (Bt, T, r)

        // Which token goes where is decided from the scores (on the device, or on the CPU
        // after one sync per layer); the values follow by one gather, so gradients reach
        // the scorer via a * s. Bank of row b: M (empty) pool rows, then its T notes;
        // flattened over rows.
        at::Tensor slotBank;
        if (deviceWalk) {
            const auto layout = walkRecordLayout(rules, M, 0, T);
            const at::Tensor records = at::empty({Bt, layout.length()}, a.options().dtype(at::kLong));
            const DeviceWalk walk =
                walkPoolsOnDevice(a.detach(), rules, M, 0, {}, M, M, M + T, records, false, emptyBefore);
            slotBank = walk.slotBank.narrow(1, 0, G).reshape({-1});
            insertedOnDevice.push_back(records.select(1, layout.insCount()).sum());
            out.chunksClosed += Bt * (walk.snapshots - 1);
        } else {
            const at::Tensor aCpu = a.detach().to(at::kCPU).contiguous();
            std::vector<int64_t> index(Bt * G * M);
            for (int64_t b = 0; b < Bt; ++b) {
                // A segment's walk starts from an empty pool; its note j is the row's note s + j.
                const int64_t base = b * (M + T);
                for (const auto& [s0, s1] : segments[b]) {
                    PoolMeta meta(M);
                    const PoolWalk walk = walkPool(meta, rules, 0, aCpu.data_ptr<float>() + b * T + s0, s1 - s0);
                    out.notesWritten += static_cast<int64_t>(walk.insertions.size());
                    out.chunksClosed += walk.snapshots - 1;
                    const int64_t g0 = s0 / C, gs = (s1 - s0 + C - 1) / C;
                    for (int64_t i = 0; i < gs * M; ++i) {
                        const int64_t row = walk.slot_bank[i];
                        index[b * G * M + g0 * M + i] = row < 0 ? -1 : base + s0 + row;
                    }
                }
            }
            slotBank = at::tensor(index, at::TensorOptions().dtype(at::kLong)).to(m.options.device());
        }
        const at::Tensor bank = at::cat({at::zeros({Bt, M, r}, notes.options()), notes}, 1).reshape({Bt * (M + T), r});
        BatchSnapshots& snap = snaps[l];
        snap.mask = slotBank.ge(0).view({Bt, G, M});
        snap.values = bank.index_select(0, slotBank.clamp_min(0)).view({Bt, G, M, r}) *
                      snap.mask.unsqueeze(3).to(bank.scalar_type());

        at::Tensor next = h + gatedOutput(nw.tok, hn, poolAttentionBatch(nw.tok, c, hn, snap));
        if (c.hasCrossLayer(l)) {
            std::vector<at::Tensor> values, masks;
            for (int64_t j = 0; j < c.crossLayerSources(l); ++j) {
                values.push_back(snaps[l - j].values + nw.lay.source[j].to(snaps[l - j].values.scalar_type()));
                masks.push_back(snaps[l - j].mask);
            }
            const BatchSnapshots joint{at::cat(values, 2), at::cat(masks, 2)};  // (Bt, G, P*M, r)
            next = next + gatedOutput(nw.lay, hn, poolAttentionBatch(nw.lay, c, hn, joint));
        }
        x = next;
    }
    if (!insertedOnDevice.empty())
        out.notesWritten += at::stack(insertedOnDevice).sum().item<int64_t>();
    out.hidden = rmsNorm(x, m.weights.norm_f, c.norm_eps);
    return out;
}

}  // namespace mm::engine::train
