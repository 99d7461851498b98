// memmamba info: versions, device, model, tokenizer and library database.
#include "cli_common.h"

#include "engine/tokenizer/tokenizer.h"
#ifdef MEMMAMBA_HAVE_ENGINE
#include "engine_commands.h"
#endif

#include <QtGlobal>

#include <sqlite3.h>

#include <cstdio>

namespace mm::cli {
namespace {

nlohmann::json tokenizerJson()
{
    try {
        const auto tok = Tokenizer::loadDefault();
        return {{"path", tok->modelPath()}, {"fingerprint", tok->fingerprint()}, {"vocab_size", tok->vocabSize()}};
    } catch (const std::exception& e) {
        return {{"error", e.what()}};
    }
}

void printHuman(const nlohmann::json& info)
{
    for (auto it = info.begin(); it != info.end(); ++it) {
        if (it->is_object()) {
            std::printf("%s:\n", it.key().c_str());
            for (auto jt = it->begin(); jt != it->end(); ++jt)
                std::printf("  %-18s %s\n", jt.key().c_str(),
                            jt->is_string() ? jt->get<std::string>().c_str() : jt->dump().c_str());
        } else {
            std::printf("%-20s %s\n", it.key().c_str(),
                        it->is_string() ? it->get<std::string>().c_str() : it->dump().c_str());
        }
    }
}

}  // namespace

int runInfo(const QStringList& args)
{
    QCommandLineParser parser;
    parser.addOption({QStringLiteral("model"), QStringLiteral("Model folder (default: the shipped model)."),
                      QStringLiteral("DIR")});
    parser.addOption({QStringLiteral("device"), QStringLiteral("auto, cpu or cuda (default auto)."),
                      QStringLiteral("DEVICE")});
    parseCommand(parser, args, QStringLiteral("memmamba info [--model DIR] [--device auto|cpu|cuda] [--db PATH] [--json]"));
    const QString device = parser.value(QStringLiteral("device")).isEmpty() ? QStringLiteral("auto")
                                                                            : parser.value(QStringLiteral("device"));
    if (device != QLatin1String("auto") && device != QLatin1String("cpu") && device != QLatin1String("cuda"))
        throw UsageError("--device must be auto, cpu or cuda, got '" + utf8(device) + "'");

    nlohmann::json info;
    info["app"] = {{"name", "memmamba"}, {"version", MEMMAMBA_VERSION}};
    info["libraries"] = {{"qt", qVersion()}, {"sqlite", sqlite3_libversion()}};
    info["tokenizer"] = tokenizerJson();
    info["resources"] = resourceDir();
#ifdef MEMMAMBA_HAVE_ENGINE
    const nlohmann::json engine = engineInfoJson(utf8(parser.value(QStringLiteral("model"))), utf8(device));
    for (auto it = engine.begin(); it != engine.end(); ++it)
        info[it.key()] = it.value();
#endif
    info["database"] = libraryInfoJson(databasePathFrom(parser));

    if (parser.isSet(QStringLiteral("json")))
        printJson(info);
    else
        printHuman(info);
    return 0;
}

}  // namespace mm::cli
