// A plain decoder-only Transformer of a given width and depth, random weights, for the
// reading benchmark's comparison (docs/spec/MODEL.md "Efficiency"): pre-RMSNorm, causal attention
// through LibTorch's fused scaled_dot_product_attention (LibTorch 2.x only), 4x GELU MLP.
// Torch-free header (app/cli/cmd_bench.cpp includes it).
#pragma once

#include <cstdint>
#include <string>

namespace mm::engine {

struct TransformerBenchSpec {
    int64_t d_model = 320, n_layer = 8, heads = 5, vocab = 8192, tokens = 8192;
    std::string device = "cuda";
    std::string dtype = "fp32";  // fp32 or bf16
};

struct TransformerBenchResult {
    double seconds = 0;       // one causal forward over all tokens (a prefill), synchronised
    int64_t parameters = 0;
    std::string device;
};

/// Reads spec.tokens random tokens in one causal forward pass, after a short warm-up.
/// Throws std::runtime_error without LibTorch 2.x (no scaled_dot_product_attention) and
/// on device errors (out of memory included, with the allocator's message).
TransformerBenchResult benchTransformerRead(const TransformerBenchSpec& spec);

}  // namespace mm::engine
