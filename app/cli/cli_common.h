// Shared plumbing of the `memmamba` command line: argument parsing per command, the
// one-line error contract, and JSON output.
#pragma once

#include <QCommandLineParser>
#include <QString>
#include <QStringList>

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

namespace mm::cli {

/// A usage or input problem: printed as "memmamba: <message>" and exit code 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Adds --json, --db and --help to a command's parser; parses args (which start with the
/// command name) and throws UsageError naming the bad option.
void parseCommand(QCommandLineParser& parser, const QStringList& args, const QString& synopsis);

/// The --db value, or the default library path (the reader's AppDataLocation).
QString databasePathFrom(const QCommandLineParser& parser);

/// An integer option; throws UsageError("--limit must be an integer, got 'x'").
qint64 integerOption(const QCommandLineParser& parser, const QString& name, qint64 fallback);

std::string utf8(const QString& s);
/// For `memmamba info`: the library's path, whether it exists, its schema version and
/// document count (never creates a library; an unreadable one gives "error").
nlohmann::json libraryInfoJson(const QString& path);
/// Prints one JSON object on stdout (the --json contract).
void printJson(const nlohmann::json& object);

int runInfo(const QStringList& args);
int runImport(const QStringList& args);
int runSearch(const QStringList& args);
int runShow(const QStringList& args);
int runList(const QStringList& args);

}  // namespace mm::cli
