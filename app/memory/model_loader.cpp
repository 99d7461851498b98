// See model_loader.h.
#include "app/memory/model_loader.h"


#include <algorithm>
#include <chrono>
#include <fstream>

namespace mm::memory {

namespace {

std::string shippedModelDir() { return resourceDir() + "/models/default"; }

bool hasConfig(const std::string& dir) { return std::ifstream(dir + "/config.json").good(); }

double msSince(const std::chrono::steady_clock::time_point& t0)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

bool shippedModelPresent() { return hasConfig(shippedModelDir()); }

OpenedModel openModel(const ModelChoice& choice)
{
    OpenedModel m;
    if (choice.random) {
        m.model = Model::createRandom(choice.randomConfig, 0, choice.device);
        m.source = "random";
        return m;
    }
    std::string dir = choice.modelDir;
    if (dir.empty()) {
        dir = shippedModelDir();
        if (!hasConfig(dir))
            throw LoadError(LoadErrorKind::MissingFile,
                            "no shipped model exists yet (" + dir +
                                "): pass --model DIR, or --random for a randomly initialised model");
        m.source = "shipped";
    } else {
        if (!hasConfig(dir))
            throw LoadError(LoadErrorKind::MissingFile,
                            "no model in " + dir + " (config.json is missing): pass --model DIR");
        m.source = dir;
    }
    m.model = Model::load(dir, choice.device);
    return m;
}

LoadedModel loadModel(const ModelChoice& choice, bool warm)
{
    const auto t0 = std::chrono::steady_clock::now();
    LoadedModel m;
    OpenedModel opened = openModel(choice);
    m.model = std::move(opened.model);
    m.source = std::move(opened.source);
    m.tokenizer = Tokenizer::loadDefault();
    m.info = m.model->info();
    if (!m.info.tokenizerFingerprint.empty() && m.info.tokenizerFingerprint != m.tokenizer->fingerprint())
        throw LoadError(LoadErrorKind::TokenizerMismatch, "the model was trained with tokenizer " +
                                                              m.info.tokenizerFingerprint + ", but " +
                                                              m.tokenizer->fingerprint() + " is installed");
    m.layers = int(m.info.config.n_layer);
    m.poolSlots = int(m.info.config.pool_slots);
    m.noteChunk = m.info.config.note_chunk;
    m.loadMs = msSince(t0);
    // A fresh process's first device work (CUDA context, cuBLAS, kernel loading) would
    // otherwise land in the first ingest span or the first answer token.
    if (warm)
        m.warmupMs = warmUp(*m.model, *m.tokenizer);
    return m;
}

double warmUp(const Model& model, const Tokenizer& tokenizer)
{
    if (model.info().device.rfind("cuda", 0) != 0)
        return 0;
    const auto t0 = std::chrono::steady_clock::now();
    // The paths a first ingest span and a first question take: a long read with every
    // output (note chunks close, pools fill), a short prompt read with pool attention,
    // a few generated tokens, and the state's trip to the host and back.
    const std::vector<int32_t> sentence = tokenizer.encode("The warm-up reads a sentence about nothing in particular. ");
    std::vector<int32_t> ids;
    while (!sentence.empty() && ids.size() < 2048)
        ids.insert(ids.end(), sentence.begin(), sentence.end());
    ids.resize(std::min<size_t>(ids.size(), 2048));
    State state = model.newState();
    ReadOptions all;
    all.noteSummaries = true;
    all.poolAttention = true;
    model.read(state, ids, all);
    State loaded = model.loadState(model.saveState(state));
    ReadOptions prompt;
    prompt.surprisal = false;
    prompt.importance = false;
    prompt.noteEvents = false;
    prompt.poolAttention = true;
    model.read(loaded, {tokenizer.questionId(), sentence.empty() ? 0 : sentence.front(), tokenizer.answerId()}, prompt);
    GenerateOptions go;
    go.maxTokens = 3;
    go.poolAttention = true;
    model.generate(loaded, go);
    // A question of the answer pipeline (answer/model_likelihood.h): "<q> question <a>" read
    // quietly, then its five candidate answers read together (the branch pass, whose kernels
    // and shapes nothing above uses: 20-27 ms more for the first question on an H100).
    ReadOptions quiet;
    quiet.importance = false;
    quiet.noteEvents = false;
    std::vector<int32_t> question{tokenizer.questionId()};
    question.insert(question.end(), sentence.begin(), sentence.begin() + static_cast<ptrdiff_t>(std::min<size_t>(12, sentence.size())));
    question.push_back(tokenizer.answerId());
    quiet.surprisal = false;
    model.read(loaded, question, quiet);
    quiet.surprisal = true;
    std::vector<std::vector<int32_t>> answers;
    for (ptrdiff_t n = 2; n <= 6 && n <= static_cast<ptrdiff_t>(sentence.size()); ++n)
        answers.emplace_back(sentence.begin(), sentence.begin() + n);
    if (!answers.empty())
        model.readEach(loaded, answers, quiet);
    // ... and the read ahead's pass over every candidate (model_likelihood.h offer): a
    // hundred rows, shapes of their own.
    std::vector<std::vector<int32_t>> many;
    for (size_t k = 0; k < 100 && !answers.empty(); ++k)
        many.push_back(answers[k % answers.size()]);
    quiet.branchesOnly = true;
    if (!many.empty())
        model.readEach(loaded, many, quiet);
    return msSince(t0);
}

DeviceInfo deviceOf(const LoadedModel& model)
{
    const RuntimeInfo runtime = runtimeInfo();
    DeviceInfo d;
    d.gpu = model.info.device.rfind("cuda", 0) == 0;
    d.cudaDeviceName = d.gpu ? runtime.cudaDeviceName : std::string();
    d.threads = runtime.threads;
    return d;
}

double measureReadingSpeed(const Model& model, const Tokenizer& tokenizer)
{
    const int32_t vocab = std::max(16, tokenizer.vocabSize());
    std::vector<int32_t> tokens(544);
    for (size_t i = 0; i < tokens.size(); ++i)
        tokens[i] = int32_t(10 + (int64_t(i) * 7919) % (vocab - 10));
    ReadOptions options;
    options.surprisal = false;
    options.importance = false;
    options.noteEvents = false;
    State state = model.newState();
    model.read(state, std::vector<int32_t>(tokens.begin(), tokens.begin() + 32), options);
    const auto t0 = std::chrono::steady_clock::now();
    model.read(state, std::vector<int32_t>(tokens.begin() + 32, tokens.end()), options);
    const double seconds = msSince(t0) / 1000;
    return seconds > 0 ? 512.0 / seconds : 0.0;
}

}  // namespace mm::memory
