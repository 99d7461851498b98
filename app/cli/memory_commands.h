// The command line's memory commands (app/cli/cmd_memory.cpp): ingest, ask, notes, and
// the memory half of search. Torch-free: they use engine/engine.h and app/memory.
#pragma once

#include <QCommandLineParser>
#include <QStringList>

#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "engine/tokenizer/tokenizer.h"

#include <memory>
#include <string>

namespace mm::cli {

/// A loaded model and its tokenizer (--model DIR, --random, the shipped one).
struct Engine {
    std::unique_ptr<Model> model;
    std::unique_ptr<Tokenizer> tokenizer;
    std::string source;
    double loadMs = 0;
    double warmupMs = 0;  ///< CUDA only: memory::warmUp, after loading (0 on the CPU)
};
/// Loads the model the options name (throws UsageError for contradictory options).
Engine loadEngine(const QCommandLineParser& parser, bool warm = false);
/// Whether a model is available: --model, --random or the shipped one.
bool haveModel(const QCommandLineParser& parser);

int runIngest(const QStringList& args);
int runAsk(const QStringList& args);
int runNotes(const QStringList& args);
/// `memmamba eval qa`: the answer dev set's harness (cmd_eval_qa.cpp).
int runEvalQa(const QStringList& args);

/// Adds --model DIR, --random, --config JSON, --device to a parser.
void addModelOptions(QCommandLineParser& parser);
/// For `search`: note hits merged with full text by reciprocal rank fusion, or null when
/// no model is available (no shipped model and neither --model nor --random).
nlohmann::json memorySearchJson(const QCommandLineParser& parser, const QString& dbPath, const QString& query,
                                qint64 docId, int limit);

}  // namespace mm::cli
