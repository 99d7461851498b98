// `memmamba train`: the training loop (llm.c's train_gpt2 shape: load data, init or
// resume, then step / log / validate / checkpoint until the step count or the wall-clock
// budget is spent; the shipping model is written at the end).
//
// One step: a batch of windows (engine/train/data.h), the batched forward
// (batched_forward.h), next-token cross-entropy plus the note score's surprisal target
// (objectives.h), global-norm clipping, AdamW with two parameter groups (weight decay on
// matrices and embeddings; none on A_log, D, norms and biases), warm-up then cosine.
// The curriculum of docs/spec/MODEL.md lesson 1-2 switches on once the synthetic answers are
// learned with full state: then a share of the synthetic rows drops its SSM and conv
// state at the note-chunk boundary after the planted fact, keeping the pools.
#pragma once

#include "engine/train/lr_schedule.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace mm::engine {
struct Weights;
}
namespace mm {
struct ModelConfig;
}

namespace mm::engine::train {

struct TrainOptions {
    std::string dataDir;           ///< --data: training .txt books
    std::string validDir;          ///< --valid: held-out books ("" = no validation)
    std::string outDir;            ///< --out: checkpoint/, model/, log.jsonl
    std::string configJson = "{}"; ///< --config FILE's text, or --notes off ({"notes": false})
    bool resume = false;
    std::string device = "cpu";
    uint64_t seed = 1;
    int64_t batchRows = 8;
    int64_t seqLen = 8192;
    int64_t steps = 2000;           ///< total steps (the cosine's length); 0 = auto from the time budget
    double timeBudgetMin = 0;       ///< 0 = no budget
    double lr = 6e-4, minLr = 6e-5;
    int64_t warmupSteps = 100;
    double weightDecay = 0.1;
    double gradClip = 1.0;
    double beta1 = 0.9, beta2 = 0.95;
    bool amp = true;                ///< bf16 autocast on CUDA where LibTorch has it
    double syntheticShare = 0.08;
    int64_t syntheticMin = 256, syntheticMax = 2048;
    bool syntheticPacked = false;   ///< --synthetic-packed: synthetic rows hold samples back to back
    double auxWeight = 0.1;         ///< weight of the note score's surprisal target
    double curriculumThreshold = 0.9;  ///< answer accuracy (moving average) that switches it on
    int64_t curriculumMinSteps = 50;   ///< earliest step it may switch on
    double curriculumShare = 0.5;      ///< share of eligible synthetic rows that drop their state
    /// "staged": passkey alone on short haystacks, then every task of `tasks` up to half
    /// the length, then the whole length, then (notes on) the state drop; each stage starts
    /// once the exact-match gate of the one before passes. "off": every task and length
    /// from step 0, the state drop once the gate passes (the behaviour before stages).
    std::string curriculumMode = "staged";
    unsigned tasks = 3;                ///< SyntheticTask bits (data.h): passkey | multikey by default
    std::string filler = "mixed";      ///< haystack filler: mixed, repeat, books
    bool isolateSamples = true;        ///< samples never share state (data.h)
    double answerWeight = 1.0;         ///< weight of the mean loss over answer tokens (0: off)
    double lmWeight = 1.0;             ///< weight of the language-model loss (0: answers only)
    /// "gated": warm-up, then the peak rate until the last curriculum stage's gate passes,
    /// then a cosine over decaySteps. "cosine": warm-up and cosine over the run's steps.
    std::string schedule = "gated";
    int64_t decaySteps = 1000;
    /// --init-from: a model folder (config.json, model.safetensors and, when it came from
    /// this trainer, trainer.json): the run continues it with a fresh AdamW and a short
    /// re-warm; --steps then counts the steps of this run.
    std::string initFrom;
    int64_t validSamples = 64;         ///< held-out synthetic samples for the exact match at validation
    /// --bench: a few steps to measure training tokens/s; no validation, checkpoint or model.
    bool bench = false;
    /// --stop-when-learned: end the run once the last gate has passed and the decay that
    /// follows it is done (stopped_by "learned"), whatever --steps says.
    bool stopWhenLearned = false;
    int64_t logEvery = 10;
    int64_t validEvery = 200;
    int64_t validWindows = 16;
    int64_t checkpointEvery = 500;
    int threads = 0;                ///< tokenizer threads (0: all cores)
    std::string tokenCache;         ///< --token-cache FILE ("" = none)
    std::string tokenizerPath;      ///< "" = the shipped tokenizer
    int64_t stopAfterSteps = 0;     ///< stop (and checkpoint) after this many steps of this run; 0 = no limit
};

/// One log line's numbers.
struct StepLog {
    int64_t step = 0;          ///< steps done
    double loss = 0, auxLoss = 0, auxWeight = 0, lr = 0, tokensPerSecond = 0, meanScore = 0, notesPerChunk = 0;
    double answerAccuracy = -1;  ///< per answer token; -1: no synthetic answer in the interval
    double answerAccuracyAvg = 0;  ///< moving average of answerExact: what the gates watch
    double answerExact = -1;       ///< samples whose every answer token is right; -1: none
    double answerLoss = 0;
    int stage = 0;
    bool curriculum = false;
    int64_t droppedRows = 0;
    int64_t syntheticSamples = 0;  ///< synthetic samples in the interval's batches
    double gradNorm = 0;
};

/// Thrown for bad options or data (one line).
class TrainError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Runs the training; progress lines go to `progress` (stderr in the CLI). Returns the
/// summary (steps, final losses, model folder, its size, tokens/s). Throws TrainError.
nlohmann::json runTraining(const TrainOptions& options, const std::function<void(const std::string&)>& progress);

/// Parameters without weight decay: A_log, D, every norm weight and every bias.
bool exemptFromWeightDecay(const std::string& parameterName);

/// A curriculum stage: which samples are drawn, how long, whether rows drop their state.
struct CurriculumStage {
    std::string name;
    unsigned tasks = 0;
    int64_t minLength = 0, maxLength = 0;
    bool dropState = false;
};
/// The stages of a run's options (trainer.h's curriculumMode); `notes` adds the state-drop stage.
std::vector<CurriculumStage> curriculumStages(const TrainOptions& options, bool notes);

/// Named option sets (`--preset NAME`), applied before the options given after them.
/// "passkey-ref": the reference fact of docs/training.md (4 layers, d_model 256, notes
/// off, batch 32, passkey with the repeated filler at 512-2048 tokens, answers-only loss,
/// AdamW at a constant 1e-3). Throws TrainError for an unknown name.
void applyPreset(const std::string& name, TrainOptions& options);

}  // namespace mm::engine::train
