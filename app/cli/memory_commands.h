// The command line's memory commands (app/cli/cmd_memory.cpp): ingest, ask, notes, selftest, and
// the memory half of search, and `eval qa`. The model only through the memory library (app/memory).
#pragma once

#include <QCommandLineParser>
#include <QStringList>

#include <nlohmann/json.hpp>

#include "app/memory/model_loader.h"

namespace mm::cli {

/// Loads the model the options name (--model DIR, --random, the shipped one; throws
/// UsageError for contradictory options).
memory::LoadedModel loadEngine(const QCommandLineParser& parser, bool warm = false);
/// Whether a model is available: --model, --random or the shipped one.
bool haveModel(const QCommandLineParser& parser);

int runIngest(const QStringList& args);
int runAsk(const QStringList& args);
int runNotes(const QStringList& args);
int runSelfTest(const QStringList& args);
/// `memmamba eval qa`: the answer dev set's harness (cmd_eval_qa.cpp).
int runEvalQa(const QStringList& args);

/// Adds --model DIR, --random, --config JSON, --device to a parser.
void addModelOptions(QCommandLineParser& parser);
/// For `search`: note hits merged with full text by reciprocal rank fusion, or null when
/// no model is available (no shipped model and neither --model nor --random).
nlohmann::json memorySearchJson(const QCommandLineParser& parser, const QString& dbPath, const QString& query,
                                qint64 docId, int limit);

}  // namespace mm::cli
