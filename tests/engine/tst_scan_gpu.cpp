// The CUDA selective scan kernels (kernels/) against the float64 reference
// (selectiveScanFusedReference on the CPU), on fresh random inputs of many shapes, with
// every output poisoned (NaN) before the kernel runs. Label gpu: exits 77 (ctest: skipped)
// without a CUDA build or device. `tst_scan_gpu sanitizerCase` is the small case that
// tests/engine/run_sanitizer.sh runs under compute-sanitizer.
#include "engine_test_util.h"

#include "engine/selective_scan.h"

#include <QtTest>

#include <cstdio>
#include <functional>

#if defined(MEMMAMBA_WITH_CUDA)
#include "kernels/selective_scan.h"

#include <ATen/cuda/CUDAContext.h>
#include <c10/core/GradMode.h>
#endif

using namespace mm;
using namespace mm::engine;

namespace {

bool gpuPresent()
{
#if defined(MEMMAMBA_WITH_CUDA)
    return at::hasCUDA();
#else
    return false;
#endif
}

#if defined(MEMMAMBA_WITH_CUDA)

struct Shape {
    int64_t Bt, T, E, N;
};

// The fused scan's operands, float64 on the CPU, realistic ranges: deltaRaw + bias around
// softplus^-1 of Mamba's dt range, A < 0.
struct FusedInputs {
    at::Tensor u, deltaRaw, deltaBias, A, Bm, Cm, D, z, h0;
    std::vector<at::Tensor*> all() { return {&u, &deltaRaw, &deltaBias, &A, &Bm, &Cm, &D, &z, &h0}; }
};

FusedInputs randomInputs(const Shape& s, uint64_t seed)
{
    at::Generator g = at::detail::createCPUGenerator(seed);
    const auto o = at::TensorOptions().dtype(at::kDouble);
    FusedInputs in;
    in.u = at::empty({s.Bt, s.T, s.E}, o).normal_(0, 1, g);
    in.deltaRaw = at::empty({s.Bt, s.T, s.E}, o).normal_(0, 1, g);
    in.deltaBias = at::empty({s.E}, o).uniform_(-6, -2, g);
    in.A = -at::exp(at::empty({s.E, s.N}, o).normal_(0, 1, g));
    in.Bm = at::empty({s.Bt, s.T, s.N}, o).normal_(0, 1, g);
    in.Cm = at::empty({s.Bt, s.T, s.N}, o).normal_(0, 1, g);
    in.D = at::empty({s.E}, o).normal_(0, 1, g);
    in.z = at::empty({s.Bt, s.T, s.E}, o).normal_(0, 1, g);
    in.h0 = at::empty({s.Bt, s.E, s.N}, o).normal_(0, 1, g);
    return in;
}

ScanResult referenceFloat64(const FusedInputs& in)
{
    const c10::AutoGradMode noGrad(false);
    return selectiveScanFusedReference(in.u, in.deltaRaw, in.deltaBias, in.A, in.Bm, in.Cm, in.D, in.z, in.h0);
}

at::Tensor nanFilled(at::IntArrayRef sizes, at::ScalarType type)
{
    return at::full(sizes, NAN, at::TensorOptions().dtype(type).device(at::kCUDA));
}

bool allFinite(const at::Tensor& t)
{
    return t.isfinite().all().item<bool>();
}

struct KernelOut {
    at::Tensor y, hLast, checkpoints;
};

// scanForward on poisoned outputs (y, h_last, checkpoints, workspace all NaN first).
KernelOut runKernel(const FusedInputs& in, at::ScalarType type, bool checkpoints)
{
    const int64_t Bt = in.u.size(0), T = in.u.size(1), E = in.u.size(2), N = in.A.size(1);
    auto dev = [&](const at::Tensor& t, at::ScalarType ty) { return t.to(at::kCUDA, ty).contiguous(); };
    const at::Tensor u = dev(in.u, type), dr = dev(in.deltaRaw, type), z = dev(in.z, type);
    const at::Tensor Bm = dev(in.Bm, type), Cm = dev(in.Cm, type);
    const at::Tensor bias = dev(in.deltaBias, at::kFloat), A = dev(in.A, at::kFloat), D = dev(in.D, at::kFloat);
    const at::Tensor h0 = dev(in.h0, at::kFloat);
    KernelOut out;
    out.y = nanFilled({Bt, T, E}, type);
    out.hLast = nanFilled({Bt, E, N}, at::kFloat);
    if (checkpoints)
        out.checkpoints = nanFilled({Bt, (T + 15) / 16, E, N}, at::kFloat);
    const at::Tensor work = nanFilled({std::max<int64_t>(1, kernels::scanForwardWorkspaceFloats(Bt, T, E, N))}, at::kFloat);
    kernels::ScanForwardArgs a;
    a.batch = Bt, a.length = T, a.channels = E, a.state = N;
    a.dtype = type == at::kBFloat16 ? kernels::ScanDType::BF16 : kernels::ScanDType::F32;
    a.u = {u.data_ptr(), u.stride(0), u.stride(1)};
    a.deltaRaw = {dr.data_ptr(), dr.stride(0), dr.stride(1)};
    a.z = {z.data_ptr(), z.stride(0), z.stride(1)};
    a.B = {Bm.data_ptr(), Bm.stride(0), Bm.stride(1)};
    a.C = {Cm.data_ptr(), Cm.stride(0), Cm.stride(1)};
    a.deltaBias = bias.data_ptr<float>(), a.A = A.data_ptr<float>(), a.D = D.data_ptr<float>();
    a.h0 = h0.data_ptr<float>(), a.y = out.y.data_ptr(), a.hLast = out.hLast.data_ptr<float>();
    a.checkpoints = checkpoints ? out.checkpoints.data_ptr<float>() : nullptr;
    a.workspace = work.data_ptr<float>();
    const cudaError_t err = kernels::scanForward(a, at::cuda::getCurrentCUDAStream());
    if (err != cudaSuccess)
        qFatal("scanForward: %s", cudaGetErrorString(err));
    const cudaError_t sync = cudaDeviceSynchronize();
    if (sync != cudaSuccess)
        qFatal("scanForward (sync): %s", cudaGetErrorString(sync));
    return out;
}

// Inputs rounded to the kernel's input type, so the reference sees what the kernel sees.
FusedInputs roundedTo(FusedInputs in, at::ScalarType type)
{
    for (at::Tensor* t : {&in.u, &in.deltaRaw, &in.z, &in.Bm, &in.Cm})
        *t = t->to(type).to(at::kDouble);
    for (at::Tensor* t : {&in.deltaBias, &in.A, &in.D, &in.h0})
        *t = t->to(at::kFloat).to(at::kDouble);
    return in;
}

void checkForward(const Shape& s, at::ScalarType type, double tolerance, uint64_t seed)
{
    const FusedInputs in = roundedTo(randomInputs(s, seed), type);
    const ScanResult ref = referenceFloat64(in);
    for (bool checkpoints : {false, true}) {
        const KernelOut k = runKernel(in, type, checkpoints);
        QVERIFY2(allFinite(k.y) && allFinite(k.hLast), "an output element was not written (NaN left)");
        if (checkpoints)
            QVERIFY2(allFinite(k.checkpoints), "a checkpoint was not written (NaN left)");
        const double ey = test::relativeError(ref.y, k.y.cpu()), eh = test::relativeError(ref.h_last, k.hLast.cpu());
        qInfo("Bt=%lld T=%lld E=%lld N=%lld %s%s: y %.3g, h_last %.3g", (long long)s.Bt, (long long)s.T,
              (long long)s.E, (long long)s.N, type == at::kBFloat16 ? "bf16" : "fp32",
              checkpoints ? " +checkpoints" : "", ey, eh);
        QVERIFY(ey < tolerance && eh < tolerance);
    }
}

// Gradients of sum(y * wy) + sum(h_last * wh) through the engine's dispatch (the autograd
// Function on the kernels) against the float64 reference's autograd.
void checkBackward(const Shape& s, uint64_t seed, double tolerance)
{
    FusedInputs ref = randomInputs(s, seed);
    at::Generator g = at::detail::createCPUGenerator(seed + 7);
    const at::Tensor wy = at::empty({s.Bt, s.T, s.E}, at::kDouble).normal_(0, 1, g);
    const at::Tensor wh = at::empty({s.Bt, s.E, s.N}, at::kDouble).normal_(0, 1, g);
    ref = roundedTo(ref, at::kFloat);
    FusedInputs dev;
    std::vector<at::Tensor*> refAll = ref.all(), devAll = dev.all();
    for (size_t i = 0; i < refAll.size(); ++i) {
        *devAll[i] = refAll[i]->to(at::kCUDA, at::kFloat).requires_grad_(true);
        refAll[i]->requires_grad_(true);
    }
    const ScanResult r = selectiveScanFusedReference(ref.u, ref.deltaRaw, ref.deltaBias, ref.A, ref.Bm, ref.Cm, ref.D,
                                                     ref.z, ref.h0);
    ((r.y * wy).sum() + (r.h_last * wh).sum()).backward();
    const ScanResult k = selectiveScanFused(dev.u, dev.deltaRaw, dev.deltaBias, dev.A, dev.Bm, dev.Cm, dev.D, dev.z,
                                            dev.h0);
    ((k.y * wy.to(at::kCUDA, at::kFloat)).sum() + (k.h_last * wh.to(at::kCUDA, at::kFloat)).sum()).backward();
    QVERIFY(test::relativeError(r.y.detach(), k.y.detach().cpu()) < 1e-5);
    const char* names[] = {"u", "deltaRaw", "deltaBias", "A", "Bm", "Cm", "D", "z", "h0"};
    for (size_t i = 0; i < refAll.size(); ++i) {
        QVERIFY2(devAll[i]->grad().defined(), names[i]);
        const at::Tensor gk = devAll[i]->grad().cpu();
        QVERIFY2(allFinite(gk), names[i]);
        const double e = test::relativeError(refAll[i]->grad(), gk);
        qInfo("Bt=%lld T=%lld E=%lld N=%lld: d%s %.3g", (long long)s.Bt, (long long)s.T, (long long)s.E,
              (long long)s.N, names[i], e);
        QVERIFY2(e < tolerance, names[i]);
    }
}

#endif  // MEMMAMBA_WITH_CUDA

}  // namespace

class TestScanGpu : public QObject {
    Q_OBJECT

#if defined(MEMMAMBA_WITH_CUDA)
private slots:
    void initTestCase() { at::manual_seed(12345); }

    // Lengths that are no multiple of 16, 64 or any chunk length; channel counts that
    // leave partial blocks; every state size the kernels are built for; batches.
    void forwardFp32ManyShapes()
    {
        const std::vector<Shape> shapes = {{1, 1, 1, 16},    {1, 2, 7, 4},       {2, 17, 40, 16},  {3, 100, 130, 8},
                                           {1, 1000, 64, 32}, {2, 4099, 96, 16}, {5, 333, 33, 16}, {1, 70001, 24, 16},
                                           {4, 2049, 640, 16}, {1, 12345, 640, 16}};
        uint64_t seed = 100;
        for (const Shape& s : shapes)
            checkForward(s, at::kFloat, 1e-5, seed++);
    }

    void forwardFp32Long()
    {
        // Up to 1M tokens: the chunked path with its carry over hundreds of chunks.
        const std::vector<Shape> shapes = {{1, 262147, 64, 16}, {1, (1 << 20) + 3, 32, 16}, {2, 1 << 20, 16, 16}};
        uint64_t seed = 300;
        for (const Shape& s : shapes)
            checkForward(s, at::kFloat, 1e-5, seed++);
    }

    void forwardBf16()
    {
        const std::vector<Shape> shapes = {{1, 5, 8, 16}, {2, 1000, 130, 16}, {1, 65539, 64, 16}, {3, 777, 40, 8}};
        uint64_t seed = 500;
        for (const Shape& s : shapes)
            checkForward(s, at::kBFloat16, 1e-2, seed++);
    }

    void backwardMatchesReferenceAutograd()
    {
        const std::vector<Shape> shapes = {{1, 1, 8, 16},  {2, 17, 40, 16}, {3, 100, 24, 8},
                                           {1, 1000, 64, 16}, {2, 333, 20, 32}, {2, 50, 300, 4}};
        uint64_t seed = 700;
        for (const Shape& s : shapes)
            checkBackward(s, seed++, 1e-4);
    }

    // The engine's dispatch with the views the reading path passes (z, B and C inside
    // wider projections, bias separate) against the torch-op reference on the GPU.
    void dispatchWithViewsMatchesTorchOps()
    {
        const c10::AutoGradMode noGrad(false);
        const int64_t T = 1500, E = 96, N = 16, R = 6;
        const auto o = at::TensorOptions().dtype(at::kFloat).device(at::kCUDA);
        const at::Tensor xz = at::randn({1, T, 2 * E}, o), xdbl = at::randn({1, T, R + 2 * N}, o);
        const at::Tensor u = at::randn({1, T, E}, o), dr = at::randn({1, T, E}, o);
        const at::Tensor bias = at::rand({E}, o) * -4 - 2, A = -at::exp(at::randn({E, N}, o)), D = at::randn({E}, o);
        const at::Tensor h0 = at::randn({1, E, N}, o);
        const at::Tensor z = xz.narrow(2, E, E), Bm = xdbl.narrow(2, R, N), Cm = xdbl.narrow(2, R + N, N);
        const ScanResult k = selectiveScanFused(u, dr, bias, A, Bm, Cm, D, z, h0);
        const ScanResult r = selectiveScanFusedReference(u.to(at::kDouble), dr.to(at::kDouble), bias.to(at::kDouble),
                                                         A.to(at::kDouble), Bm.to(at::kDouble), Cm.to(at::kDouble),
                                                         D.to(at::kDouble), z.to(at::kDouble), h0.to(at::kDouble));
        const double ey = test::relativeError(r.y.cpu(), k.y.cpu()), eh = test::relativeError(r.h_last.cpu(), k.h_last.cpu());
        qInfo("views: y %.3g, h_last %.3g", ey, eh);
        QVERIFY(ey < 1e-5 && eh < 1e-5);
    }

    // The single-token step (T = 1, h in and out) repeated equals one sequence call.
    void stepsEqualSequence()
    {
        const c10::AutoGradMode noGrad(false);
        const int64_t T = 40, E = 64, N = 16;
        const auto o = at::TensorOptions().dtype(at::kFloat).device(at::kCUDA);
        const at::Tensor u = at::randn({1, T, E}, o), dr = at::randn({1, T, E}, o), z = at::randn({1, T, E}, o);
        const at::Tensor Bm = at::randn({1, T, N}, o), Cm = at::randn({1, T, N}, o);
        const at::Tensor bias = at::rand({E}, o) * -4 - 2, A = -at::exp(at::randn({E, N}, o)), D = at::randn({E}, o);
        const ScanResult whole = selectiveScanFused(u, dr, bias, A, Bm, Cm, D, z, at::zeros({1, E, N}, o));
        at::Tensor h = at::zeros({1, E, N}, o);
        std::vector<at::Tensor> ys;
        for (int64_t t = 0; t < T; ++t) {
            auto at_ = [&](const at::Tensor& x) { return x.narrow(1, t, 1); };
            ScanResult s = selectiveScanFused(at_(u), at_(dr), bias, A, at_(Bm), at_(Cm), D, at_(z), h);
            ys.push_back(s.y);
            h = s.h_last;
        }
        const double ey = test::relativeError(whole.y.cpu(), at::cat(ys, 1).cpu());
        const double eh = test::relativeError(whole.h_last.cpu(), h.cpu());
        qInfo("steps vs sequence: y %.3g, h %.3g", ey, eh);
        QVERIFY(ey < 1e-6 && eh < 1e-6);
    }

    // Timing only (no assertion): the default model's layer shape (E 640, N 16) at 1M
    // tokens, forward; and a training batch forward + backward. docs/perf.md uses these.
    void kernelTimings()
    {
        const c10::AutoGradMode noGrad(false);
        auto timeMs = [](const std::function<void()>& fn) {
            fn();  // warm-up
            cudaEvent_t start, stop;
            cudaEventCreate(&start), cudaEventCreate(&stop);
            cudaEventRecord(start, at::cuda::getCurrentCUDAStream());
            const int reps = 3;
            for (int i = 0; i < reps; ++i)
                fn();
            cudaEventRecord(stop, at::cuda::getCurrentCUDAStream());
            cudaEventSynchronize(stop);
            float ms = 0;
            cudaEventElapsedTime(&ms, start, stop);
            cudaEventDestroy(start), cudaEventDestroy(stop);
            return ms / reps;
        };
        const auto o = at::TensorOptions().dtype(at::kFloat).device(at::kCUDA);
        for (const Shape& s : std::vector<Shape>{{1, 1 << 20, 640, 16}, {1, 65536, 640, 16}, {1, 8192, 640, 16}}) {
            const at::Tensor u = at::randn({s.Bt, s.T, s.E}, o), dr = at::randn({s.Bt, s.T, s.E}, o);
            const at::Tensor z = at::randn({s.Bt, s.T, s.E}, o), Bm = at::randn({s.Bt, s.T, s.N}, o);
            const at::Tensor Cm = at::randn({s.Bt, s.T, s.N}, o), h0 = at::randn({s.Bt, s.E, s.N}, o);
            const at::Tensor bias = at::rand({s.E}, o) * -4 - 2, A = -at::exp(at::randn({s.E, s.N}, o));
            const at::Tensor D = at::randn({s.E}, o);
            const double ms = timeMs([&] { selectiveScanFused(u, dr, bias, A, Bm, Cm, D, z, h0); });
            // Bytes that must move: u, deltaRaw, z read and y written (T x E each), B and C read.
            const double bytes = 4.0 * s.Bt * s.T * (4.0 * s.E + 2.0 * s.N);
            qInfo("TIMING forward Bt=%lld T=%lld E=%lld N=%lld: %.3f ms, %.0f GB/s (of ~4300), chunk %lld",
                  (long long)s.Bt, (long long)s.T, (long long)s.E, (long long)s.N, ms, bytes / ms / 1e6,
                  (long long)kernels::scanChunkLength(s.Bt, s.T, s.E));
        }
        {
            const c10::AutoGradMode grad(true);
            const Shape s{16, 2048, 640, 16};
            auto param = [&](std::vector<int64_t> sizes) { return at::randn(sizes, o).requires_grad_(true); };
            const at::Tensor u = param({s.Bt, s.T, s.E}), dr = param({s.Bt, s.T, s.E}), z = param({s.Bt, s.T, s.E});
            const at::Tensor Bm = param({s.Bt, s.T, s.N}), Cm = param({s.Bt, s.T, s.N}), h0 = param({s.Bt, s.E, s.N});
            const at::Tensor bias = param({s.E}), A = param({s.E, s.N}), D = param({s.E});
            const at::Tensor gy = at::randn({s.Bt, s.T, s.E}, o);
            const double ms = timeMs([&] {
                ScanResult r = selectiveScanFused(u, dr, bias, -at::exp(A), Bm, Cm, D, z, h0);
                r.y.backward(gy);
            });
            qInfo("TIMING forward+backward Bt=%lld T=%lld E=%lld N=%lld: %.3f ms", (long long)s.Bt, (long long)s.T,
                  (long long)s.E, (long long)s.N, ms);
        }
    }

    // Small forward + backward for compute-sanitizer (tests/engine/run_sanitizer.sh).
    void sanitizerCase()
    {
        checkForward({2, 100, 40, 16}, at::kFloat, 1e-5, 900);
        checkForward({1, 3000, 24, 8}, at::kBFloat16, 1e-2, 901);
        checkBackward({2, 37, 20, 16}, 902, 1e-4);
    }
#endif
};

int main(int argc, char** argv)
{
    if (!gpuPresent()) {
        std::printf("SKIP: no CUDA build or no CUDA device\n");
        return 77;  // SKIP_RETURN_CODE in tests/engine/CMakeLists.txt
    }
    QCoreApplication app(argc, argv);
    TestScanGpu tc;
    return QTest::qExec(&tc, argc, argv);
}

#include "tst_scan_gpu.moc"
