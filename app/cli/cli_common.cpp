#include "cli_common.h"

#include "storage/database.h"

#include <QFileInfo>

#include <cstdio>
#include <iostream>

namespace mm::cli {

void parseCommand(QCommandLineParser& parser, const QStringList& args, const QString& synopsis)
{
    parser.setApplicationDescription(synopsis);
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    parser.addOption({QStringLiteral("json"), QStringLiteral("Print one JSON object on stdout.")});
    parser.addOption({QStringLiteral("db"), QStringLiteral("Library database (default: the reader's)."),
                      QStringLiteral("PATH")});
    parser.addHelpOption();
    if (!parser.parse(args))
        throw UsageError(parser.errorText().toStdString());
    if (parser.isSet(QStringLiteral("help"))) {
        std::fputs(parser.helpText().toUtf8().constData(), stdout);
        std::exit(0);
    }
}

QString databasePathFrom(const QCommandLineParser& parser)
{
    const QString path = parser.value(QStringLiteral("db"));
    return path.isEmpty() ? storage::defaultDatabasePath() : path;
}

qint64 integerOption(const QCommandLineParser& parser, const QString& name, qint64 fallback)
{
    if (!parser.isSet(name))
        return fallback;
    bool ok = false;
    const qint64 value = parser.value(name).toLongLong(&ok);
    if (!ok)
        throw UsageError("--" + name.toStdString() + " must be an integer, got '" +
                         parser.value(name).toStdString() + "'");
    return value;
}

nlohmann::json libraryInfoJson(const QString& path)
{
    nlohmann::json j = {{"path", utf8(path)}, {"exists", QFileInfo::exists(path)}};
    if (!QFileInfo::exists(path))
        return j;  // info never creates a library
    try {
        storage::Database db(path);
        j["schema_version"] = db.schemaVersion();
        j["documents"] = db.documents().size();
    } catch (const std::exception& e) {
        j["error"] = e.what();
    }
    return j;
}

std::string utf8(const QString& s)
{
    const QByteArray bytes = s.toUtf8();
    return std::string(bytes.constData(), size_t(bytes.size()));
}

void printJson(const nlohmann::json& object)
{
    // Replace rather than throw on invalid UTF-8: a JSON line must always come out.
    std::cout << object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
}

}  // namespace mm::cli
