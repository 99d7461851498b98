// The engine's custom parts, below the public API: the CPU selective scan against the
// torch-op reference and finite differences (fp64), the mixer against a naive recurrence
// written here, and gradients of the whole note machinery against finite differences.
#include "engine_test_util.h"

#include "engine/model.h"
#include "engine/selective_scan.h"

#include <QtTest>

#include <c10/core/GradMode.h>

#include <cmath>

using namespace mm;
using namespace mm::engine;

namespace {

struct ScanInputs {
    at::Tensor u, delta, A, B, C, D, h0;
};

// Shapes (T, E), (T, E), (E, N), (T, N), (T, N), (E), (E, N) with realistic ranges:
// delta > 0 (softplus output), A < 0.
ScanInputs randomScanInputs(int64_t T, int64_t E, int64_t N, at::ScalarType type, uint64_t seed)
{
    at::Generator g = at::detail::createCPUGenerator(seed);
    const auto o = at::TensorOptions().dtype(at::kDouble);
    ScanInputs in;
    in.u = at::empty({T, E}, o).normal_(0, 1, g);
    in.delta = at::softplus(at::empty({T, E}, o).normal_(-1, 1, g));
    in.A = -at::exp(at::empty({E, N}, o).normal_(0, 1, g));
    in.B = at::empty({T, N}, o).normal_(0, 1, g);
    in.C = at::empty({T, N}, o).normal_(0, 1, g);
    in.D = at::empty({E}, o).normal_(0, 1, g);
    in.h0 = at::empty({E, N}, o).normal_(0, 1, g);
    for (at::Tensor* t : {&in.u, &in.delta, &in.A, &in.B, &in.C, &in.D, &in.h0})
        *t = t->to(type);
    return in;
}

}  // namespace

class TestEngineOps : public QObject {
    Q_OBJECT

private slots:
    void scanCpuMatchesReference()
    {
        // E = 40: two full channel blocks of 16 and a tail of 8.
        for (int64_t T : {1, 5, 100}) {
            const ScanInputs in = randomScanInputs(T, 40, 16, at::kFloat, 1 + T);
            const ScanResult cpu = selectiveScanCpu(in.u, in.delta, in.A, in.B, in.C, in.D, in.h0);
            const ScanResult ref = selectiveScanReference(in.u, in.delta, in.A, in.B, in.C, in.D, in.h0);
            const double ey = test::relativeError(ref.y, cpu.y), eh = test::relativeError(ref.h_last, cpu.h_last);
            qInfo("T=%lld: y %.3g, h %.3g", static_cast<long long>(T), ey, eh);
            QVERIFY(ey < 1e-5 && eh < 1e-5);
        }
    }

    void scanGradientsMatchFiniteDifferences()
    {
        // fp64, E = 18 (a block of 16 and a tail), loss = <y, wy> + <h_last, wh>.
        ScanInputs in = randomScanInputs(9, 18, 4, at::kDouble, 3);
        std::vector<at::Tensor*> inputs = {&in.u, &in.delta, &in.A, &in.B, &in.C, &in.D, &in.h0};
        const char* names[] = {"u", "delta", "A", "B", "C", "D", "h0"};
        at::Generator g = at::detail::createCPUGenerator(99);
        const at::Tensor wy = at::empty({9, 18}, at::kDouble).normal_(0, 1, g);
        const at::Tensor wh = at::empty({18, 4}, at::kDouble).normal_(0, 1, g);
        auto loss = [&](const ScanResult& r) { return (r.y * wy).sum() + (r.h_last * wh).sum(); };
        for (at::Tensor* t : inputs)
            t->set_requires_grad(true);
        loss(selectiveScanCpu(in.u, in.delta, in.A, in.B, in.C, in.D, in.h0)).backward();
        std::vector<at::Tensor> refGrads;
        {
            ScanInputs copy = in;
            std::vector<at::Tensor> leaves;
            for (at::Tensor* t : {&copy.u, &copy.delta, &copy.A, &copy.B, &copy.C, &copy.D, &copy.h0}) {
                *t = t->detach().clone().set_requires_grad(true);
                leaves.push_back(*t);
            }
            loss(selectiveScanReference(copy.u, copy.delta, copy.A, copy.B, copy.C, copy.D, copy.h0, 4)).backward();
            for (auto& l : leaves)
                refGrads.push_back(l.grad());
        }
        c10::NoGradGuard noGrad;
        const double eps = 1e-6;
        for (size_t k = 0; k < inputs.size(); ++k) {
            at::Tensor& x = *inputs[k];
            const at::Tensor analytic = x.grad();
            QVERIFY2(analytic.defined(), names[k]);
            at::Tensor numeric = at::zeros_like(analytic);
            auto flat = x.view(-1);
            for (int64_t i = 0; i < flat.numel(); ++i) {
                const double old = flat[i].item<double>();
                flat[i].fill_(old + eps);
                const double up = loss(selectiveScanCpu(in.u, in.delta, in.A, in.B, in.C, in.D, in.h0)).item<double>();
                flat[i].fill_(old - eps);
                const double down = loss(selectiveScanCpu(in.u, in.delta, in.A, in.B, in.C, in.D, in.h0)).item<double>();
                flat[i].fill_(old);
                numeric.view(-1)[i] = (up - down) / (2 * eps);
            }
            const double err = test::relativeError(numeric, analytic);
            const double errRef = test::relativeError(refGrads[k], analytic);
            qInfo("d%s: finite differences %.3g, reference autograd %.3g", names[k], err, errRef);
            QVERIFY2(err < 1e-6, names[k]);
            QVERIFY2(errRef < 1e-10, names[k]);
        }
    }

    void mixerMatchesNaiveRecurrence()
    {
        // Notes off: the block is x + Mamba(RMSNorm(x)); check the mixer itself.
        const ModelConfig c = configFromJsonText(test::smallConfig(R"(, "notes": "off")"));
        Weights w = initWeights(c, 17, at::kDouble);
        const MixerWeights& mw = w.layers[0].mixer;
        const int64_t T = 40, D = c.d_model, E = c.dInner(), N = c.d_state, K = c.d_conv, R = c.dtRank();
        at::Generator g = at::detail::createCPUGenerator(5);
        const at::Tensor u = at::empty({T, D}, at::kDouble).normal_(0, 1, g);

        // Naive: plain loops over time, channels and states, in double.
        auto W = [](const at::Tensor& t) { return t.contiguous().data_ptr<double>(); };
        const at::Tensor inP = mw.in_proj.contiguous(), convW = mw.conv_w.contiguous(), convB = mw.conv_b.contiguous();
        const at::Tensor xP = mw.x_proj.contiguous(), dtW = mw.dt_proj_w.contiguous(), dtB = mw.dt_proj_b.contiguous();
        const at::Tensor Alog = mw.A_log.contiguous(), Dp = mw.D.contiguous(), outP = mw.out_proj.contiguous();
        const double* U = W(u);
        std::vector<double> xs(T * E), zs(T * E), h(E * N, 0.0), want(T * D, 0.0);
        for (int64_t t = 0; t < T; ++t)
            for (int64_t j = 0; j < 2 * E; ++j) {
                double s = 0;
                for (int64_t i = 0; i < D; ++i)
                    s += W(inP)[j * D + i] * U[t * D + i];
                (j < E ? xs[t * E + j] : zs[t * E + j - E]) = s;
            }
        auto silu = [](double v) { return v / (1 + std::exp(-v)); };
        for (int64_t t = 0; t < T; ++t) {
            std::vector<double> xc(E), y(E);
            for (int64_t e = 0; e < E; ++e) {
                double s = W(convB)[e];
                for (int64_t k = 0; k < K; ++k) {
                    const int64_t src = t - (K - 1) + k;
                    if (src >= 0)
                        s += W(convW)[e * K + k] * xs[src * E + e];
                }
                xc[e] = silu(s);
            }
            std::vector<double> dbl(R + 2 * N, 0.0);
            for (int64_t j = 0; j < R + 2 * N; ++j)
                for (int64_t e = 0; e < E; ++e)
                    dbl[j] += W(xP)[j * E + e] * xc[e];
            for (int64_t e = 0; e < E; ++e) {
                double dt = W(dtB)[e];
                for (int64_t q = 0; q < R; ++q)
                    dt += W(dtW)[e * R + q] * dbl[q];
                const double delta = std::log1p(std::exp(dt));
                double acc = W(Dp)[e] * xc[e];
                for (int64_t n = 0; n < N; ++n) {
                    const double A = -std::exp(W(Alog)[e * N + n]);
                    h[e * N + n] = std::exp(delta * A) * h[e * N + n] + delta * dbl[R + n] * xc[e];
                    acc += dbl[R + N + n] * h[e * N + n];
                }
                y[e] = acc * silu(zs[t * E + e]);
            }
            for (int64_t i = 0; i < D; ++i)
                for (int64_t e = 0; e < E; ++e)
                    want[t * D + i] += W(outP)[i * E + e] * y[e];
        }
        const at::Tensor expected = at::tensor(want, at::kDouble).view({T, D});

        at::Tensor conv = at::zeros({K - 1, E}, at::kDouble), ssm = at::zeros({E, N}, at::kDouble);
        const at::Tensor seq = mixerSequence(mw, c, u, conv, ssm);
        const double errSeq = test::relativeError(expected, seq);
        QVERIFY2(errSeq < 1e-10, qPrintable(QString::number(errSeq)));
        // The step path, token by token, from zero state.
        at::Tensor conv2 = at::zeros({K - 1, E}, at::kDouble), ssm2 = at::zeros({E, N}, at::kDouble);
        std::vector<at::Tensor> rows;
        for (int64_t t = 0; t < T; ++t)
            rows.push_back(mixerStep(mw, c, u.narrow(0, t, 1), conv2, ssm2));
        QVERIFY(test::relativeError(expected, at::cat(rows, 0)) < 1e-10);
        QVERIFY(test::relativeError(ssm, ssm2) < 1e-10);
        // And in float the CPU scan path stays within 1e-5 of the double recurrence.
        Weights wf = initWeights(c, 17, at::kFloat);
        at::Tensor conv3 = at::zeros({K - 1, E}), ssm3 = at::zeros({E, N});
        const double errF = test::relativeError(expected, mixerSequence(wf.layers[0].mixer, c, u.to(at::kFloat), conv3, ssm3));
        QVERIFY2(errF < 1e-5, qPrintable(QString::number(errF)));
        // Without autograd the CPU takes the fused path (conv + SiLU, gated scan): same result,
        // also continuing from a carried state in two pieces.
        c10::NoGradGuard noGrad;
        at::Tensor conv4 = at::zeros({K - 1, E}), ssm4 = at::zeros({E, N});
        const at::Tensor first = mixerSequence(wf.layers[0].mixer, c, u.to(at::kFloat).narrow(0, 0, 2), conv4, ssm4);
        const at::Tensor rest = mixerSequence(wf.layers[0].mixer, c, u.to(at::kFloat).narrow(0, 2, T - 2), conv4, ssm4);
        const double errFused = test::relativeError(expected, at::cat({first, rest}, 0));
        QVERIFY2(errFused < 1e-5, qPrintable(QString::number(errFused)));
        QVERIFY(test::relativeError(ssm3, ssm4) < 1e-5 && test::relativeError(conv3, conv4) < 1e-6);
    }

    void noteBlockGradientsMatchFiniteDifferences()
    {
        // The whole model in fp64 (tiny, chunk 4 so pools fill and cross-layer attention
        // reads them); loss = NLL of the next token. Gradients of the Note Block's own
        // parameters and of the mixer flow through the pool gathers and the custom scan.
        engine::Model m;
        m.config = configFromJsonText(R"({"vocab_size": 16, "d_model": 8, "n_layer": 2, "d_state": 3,)"
                                      R"( "pool_slots": 3, "note_dim": 4, "note_chunk": 4, "notes_per_chunk": 2,)"
                                      R"( "attn_heads": 2, "cross_layer_period": 2, "note_threshold": 0.3})");
        m.weights = initWeights(m.config, 23, at::kDouble);
        m.options = at::TensorOptions().dtype(at::kDouble);
        at::Generator g = at::detail::createCPUGenerator(4);
        forEachParameter(m.weights, m.config, [&](const std::string&, at::Tensor& t) {
            t = (t + at::empty(t.sizes(), t.options()).normal_(0, 0.3, g)).set_requires_grad(true);
        });
        const auto ids = test::randomTokens(22, 16, 2);
        const at::Tensor tokens = at::tensor(std::vector<int64_t>(ids.begin(), ids.end()), at::kLong);
        auto loss = [&]() {
            ModelState st = newState(m);
            const at::Tensor logits = lmHead(m, forwardSequence(m, st, tokens));  // (T, V)
            return at::nll_loss(at::log_softmax(logits.narrow(0, 0, 21), 1), tokens.narrow(0, 1, 21));
        };
        // The pools really are used: some tokens were noted.
        {
            c10::NoGradGuard ng;
            ModelState st = newState(m);
            ForwardTrace trace;
            forwardSequence(m, st, tokens, &trace);
            QVERIFY(!trace.insertions[0].empty() && !trace.insertions[1].empty());
        }
        loss().backward();
        const std::vector<std::string> checked = {
            "layers.0.note.score.weight",      "layers.0.note.score.bias",        "layers.0.note.summary.weight",
            "layers.0.note.token_attn.q_proj.weight", "layers.0.note.token_attn.k_proj.weight",
            "layers.1.note.token_attn.v_proj.weight", "layers.1.note.token_attn.gate.weight",
            "layers.1.note.token_attn.out_proj.weight", "layers.1.note.layer_attn.source_embedding",
            "layers.1.note.layer_attn.k_proj.weight", "layers.1.note.layer_attn.out_proj.weight",
            "layers.0.mixer.A_log",            "layers.0.mixer.dt_proj.bias",     "layers.1.mixer.conv1d.weight",
            "embedding.weight"};
        std::map<std::string, at::Tensor*> byName;
        forEachParameter(m.weights, m.config, [&](const std::string& n, at::Tensor& t) { byName[n] = &t; });
        c10::NoGradGuard noGrad;
        const double eps = 1e-6;
        for (const std::string& name : checked) {
            at::Tensor& p = *byName.at(name);
            const at::Tensor analytic = p.grad();
            QVERIFY2(analytic.defined(), name.c_str());
            auto flat = p.view(-1);
            double worst = 0;
            for (int64_t i = 0; i < std::min<int64_t>(flat.numel(), 6); ++i) {
                const int64_t idx = (i * 7919) % flat.numel();
                const double old = flat[idx].item<double>();
                flat[idx].fill_(old + eps);
                const double up = loss().item<double>();
                flat[idx].fill_(old - eps);
                const double down = loss().item<double>();
                flat[idx].fill_(old);
                const double num = (up - down) / (2 * eps), ana = analytic.view(-1)[idx].item<double>();
                worst = std::max(worst, std::abs(num - ana) / std::max(1e-4, std::abs(num)));
            }
            qInfo("%s: %.3g", name.c_str(), worst);
            QVERIFY2(worst < 1e-4, name.c_str());
        }
    }
};

QTEST_APPLESS_MAIN(TestEngineOps)
#include "tst_engine_ops.moc"
