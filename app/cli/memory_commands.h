// The command line's memory commands (app/cli/cmd_memory.cpp): ingest, ask, notes, selftest, and
// the memory half of search. Torch-free: they use engine/engine.h and app/memory.
#pragma once

#include <QCommandLineParser>
#include <QStringList>

#include <nlohmann/json.hpp>

#include <string>

namespace mm::cli {

int runIngest(const QStringList& args);
int runAsk(const QStringList& args);
int runNotes(const QStringList& args);
int runSelfTest(const QStringList& args);

/// Adds --model DIR, --random, --config JSON, --device to a parser.
void addModelOptions(QCommandLineParser& parser);
/// For `search`: note hits merged with full text by reciprocal rank fusion, or null when
/// no model is available (no shipped model and neither --model nor --random).
nlohmann::json memorySearchJson(const QCommandLineParser& parser, const QString& dbPath, const QString& query,
                                qint64 docId, int limit);

}  // namespace mm::cli
