// memmamba import | search | show | list: the library commands, on storage/ alone.
#include "cli_common.h"
#ifdef MEMMAMBA_HAVE_MEMORY
#include "memory_commands.h"
#endif

#include "storage/database.h"
#include "storage/import/importer.h"
#include "storage/text_offsets.h"

#include <QFileInfo>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <unistd.h>
#include <iostream>

namespace mm::cli {
namespace {

std::atomic<bool> g_importCancel{false};

extern "C" void mmImportOnInterrupt(int)
{
    g_importCancel.store(true);
    std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

nlohmann::json hitJson(const storage::SearchHit& hit)
{
    nlohmann::json j;
    j["doc"] = hit.docId;
    j["doc_title"] = utf8(hit.docTitle);
    j["chapter"] = hit.chapterIndex >= 0 ? nlohmann::json(utf8(hit.chapterTitle)) : nlohmann::json();
    j["chapter_index"] = hit.chapterIndex;
    j["char_start"] = hit.charStart;
    j["char_end"] = hit.charEnd;
    j["text"] = utf8(hit.text);
    j["snippet"] = utf8(hit.snippet);
    j["score"] = hit.score;
    j["source"] = "fulltext";
    j["page"] = hit.page > 0 ? nlohmann::json(hit.page) : nlohmann::json();
    return j;
}

nlohmann::json documentJson(const storage::DocumentRecord& doc)
{
    return {{"doc", doc.id},           {"title", utf8(doc.title)},   {"author", utf8(doc.author)},
            {"format", utf8(doc.format)}, {"chars", doc.characters}, {"bytes", doc.bytes},
            {"tokens", doc.tokens},    {"status", utf8(doc.status)}, {"source_path", utf8(doc.sourcePath)},
            {"collection", doc.collectionId}};
}

void endProgressLine()
{
    if (isatty(fileno(stderr)))
        std::fputc('\n', stderr);
}

}  // namespace

int runImport(const QStringList& args)
{
    QCommandLineParser parser;
    parser.addOption({QStringLiteral("collection"),
                      QStringLiteral("Add the files to this collection (a folder: its name by default)."),
                      QStringLiteral("NAME")});
    parser.addPositionalArgument(QStringLiteral("FILE"), QStringLiteral("Books, or folders of books, to import."),
                                 QStringLiteral("FILE|DIR..."));
    parseCommand(parser, args, QStringLiteral("memmamba import FILE|DIR... [--db PATH] [--collection NAME] [--json]"));
    const QStringList files = parser.positionalArguments();
    if (files.isEmpty())
        throw UsageError("import needs at least one FILE or DIR");
    const bool json = parser.isSet(QStringLiteral("json"));

    storage::Database db(databasePathFrom(parser));
    import::ImportOptions options;
    options.collection = parser.value(QStringLiteral("collection"));
    // Ctrl-C cancels cleanly: the file being imported is rolled back whole (the ones
    // before it stay), and the command says so.
    std::signal(SIGINT, mmImportOnInterrupt);
    options.cancel = &g_importCancel;
    bool cancelled = false;

    nlohmann::json results = nlohmann::json::array();
    nlohmann::json errors = nlohmann::json::array();
    auto progressFor = [](const std::string& name) {
        // On a terminal one line is rewritten in place; in a log, one line per stage.
        return [name, tty = bool(isatty(fileno(stderr)))](double fraction, const QString& stage) {
            std::fprintf(stderr, tty ? "\r%s: %s %3d%%" : "%s: %s %3d%%\n", name.c_str(),
                         stage.toUtf8().constData(), int(fraction * 100));
            std::fflush(stderr);
        };
    };
    auto reportImported = [&](const QString& file, const import::ImportResult& r, const char* outcome) {
        nlohmann::json entry = {{"path", utf8(file)},          {"doc", r.docId},
                                {"title", utf8(r.title)},      {"chars", r.characters},
                                {"passages", r.passages},      {"chapters", r.chapters},
                                {"already_present", r.alreadyPresent}, {"outcome", outcome}};
        if (!r.warning.isEmpty()) {
            entry["warning"] = utf8(r.warning);
            std::fprintf(stderr, "memmamba: warning: %s\n", r.warning.toUtf8().constData());
        }
        if (!json)
            std::printf("%s doc %lld: %s (%lld chars, %d chapters, %d passages)\n",
                        r.alreadyPresent ? "already in library:" : "imported",
                        static_cast<long long>(r.docId), r.title.toUtf8().constData(),
                        static_cast<long long>(r.characters), r.chapters, r.passages);
        results.push_back(std::move(entry));
    };
    auto reportError = [&](const QString& file, const std::string& message) {
        // One clear line per failed file; the others still import.
        std::fprintf(stderr, "memmamba: %s\n", message.c_str());
        errors.push_back({{"path", utf8(file)}, {"error", message}});
    };
    auto reportCancelled = [&](const QString& file) {
        endProgressLine();
        std::fprintf(stderr, "memmamba: import cancelled: '%s' was not stored%s\n", utf8(file).c_str(),
                     results.empty() ? "" : " (the files imported before it were)");
        cancelled = true;
    };
    for (const QString& file : files) {
        if (cancelled)
            break;
        if (QFileInfo(file).isDir()) {
            // A folder is a collection, imported incrementally (by content hash).
            options.progress = progressFor(utf8(QFileInfo(file).fileName()));
            try {
                const QVector<import::FolderImportEntry> entries = import::importFolder(db, file, options);
                endProgressLine();
                for (const import::FolderImportEntry& e : entries) {
                    using Outcome = import::FolderImportEntry::Outcome;
                    if (e.outcome == Outcome::Failed) {
                        reportError(e.path, utf8(e.error));
                    } else if (e.outcome == Outcome::Unchanged) {
                        if (!json)
                            std::printf("unchanged doc %lld: %s\n", static_cast<long long>(e.result.docId),
                                        e.result.title.toUtf8().constData());
                        results.push_back({{"path", utf8(e.path)}, {"doc", e.result.docId}, {"title", utf8(e.result.title)},
                                           {"chars", e.result.characters}, {"already_present", true}, {"outcome", "unchanged"}});
                    } else {
                        reportImported(e.path, e.result, e.outcome == Outcome::Replaced ? "replaced" : "imported");
                    }
                }
            } catch (const import::ImportCancelled&) {
                reportCancelled(file);
            } catch (const std::exception& e) {
                endProgressLine();
                reportError(file, e.what());
            }
            continue;
        }
        options.progress = progressFor(utf8(QFileInfo(file).fileName()));
        try {
            const import::ImportResult r = import::importFile(db, file, options);
            endProgressLine();
            reportImported(file, r, r.alreadyPresent ? "unchanged" : "imported");
        } catch (const import::ImportCancelled&) {
            reportCancelled(file);
        } catch (const std::exception& e) {
            endProgressLine();
            reportError(file, e.what());
        }
    }
    if (json) {
        nlohmann::json out = {{"files", results}, {"errors", errors}, {"cancelled", cancelled}};
        if (files.size() == 1 && results.size() == 1 && !QFileInfo(files[0]).isDir())
            for (auto it = results[0].begin(); it != results[0].end(); ++it)
                out[it.key()] = it.value();  // a single file's fields also at the top level
        printJson(out);
    }
    std::signal(SIGINT, SIG_DFL);
    if (cancelled)
        return 130;  // as a shell reports a command ended by Ctrl-C
    return errors.empty() ? 0 : 1;
}

int runSearch(const QStringList& args)
{
    QCommandLineParser parser;
    parser.addOption({QStringLiteral("limit"), QStringLiteral("At most N hits (default 10)."), QStringLiteral("N")});
    parser.addOption({QStringLiteral("doc"), QStringLiteral("Only in this document."), QStringLiteral("ID")});
    parser.addPositionalArgument(QStringLiteral("QUERY"), QStringLiteral("Words or a sentence to find."));
#ifdef MEMMAMBA_HAVE_MEMORY
    addModelOptions(parser);
#endif
    parseCommand(parser, args, QStringLiteral("memmamba search QUERY [--doc ID] [--limit N] [--model DIR | --random] [--db PATH] [--json]"));
    const QString query = parser.positionalArguments().join(QLatin1Char(' ')).trimmed();
    if (query.isEmpty())
        throw UsageError("search needs a QUERY");
    const qint64 limit = integerOption(parser, QStringLiteral("limit"), 10);
    if (limit < 1)
        throw UsageError("--limit must be at least 1");
    const qint64 docId = integerOption(parser, QStringLiteral("doc"), -1);

    storage::Database db(databasePathFrom(parser));
    const QVector<storage::SearchHit> hits = db.search(query, int(limit), docId);
    // Memory: passages ranked by the model's notes, merged with the full-text ranking
    // (reciprocal rank fusion); null when no model is available.
    nlohmann::json memoryHits = nullptr;
#ifdef MEMMAMBA_HAVE_MEMORY
    memoryHits = memorySearchJson(parser, databasePathFrom(parser), query, docId, int(limit));
#endif
    if (parser.isSet(QStringLiteral("json"))) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& hit : hits)
            list.push_back(hitJson(hit));
        printJson({{"query", utf8(query)}, {"hits", list}, {"memory_hits", memoryHits}});
        return 0;
    }
    if (hits.isEmpty())
        std::printf("no passage matches '%s'\n", query.toUtf8().constData());
    for (const auto& hit : hits)
        std::printf("doc %lld  %s  [%s]  chars %lld-%lld\n    %s\n", static_cast<long long>(hit.docId),
                    hit.docTitle.toUtf8().constData(), hit.chapterTitle.toUtf8().constData(),
                    static_cast<long long>(hit.charStart), static_cast<long long>(hit.charEnd),
                    hit.snippet.simplified().toUtf8().constData());
    if (memoryHits.is_array()) {
        std::printf("\nwith the model's notes (reciprocal rank fusion):\n");
        for (const auto& h : memoryHits) {
            std::string sources;
            for (const auto& s : h["sources"])
                sources += (sources.empty() ? "" : "+") + s.get<std::string>();
            std::printf("doc %lld  chars %lld-%lld  [%s]  %.4f\n", static_cast<long long>(h["doc"].get<qint64>()),
                        static_cast<long long>(h["char_start"].get<qint64>()),
                        static_cast<long long>(h["char_end"].get<qint64>()), sources.c_str(), h["score"].get<double>());
        }
    }
    return 0;
}

int runShow(const QStringList& args)
{
    QCommandLineParser parser;
    parser.addOption({QStringLiteral("doc"), QStringLiteral("Document id."), QStringLiteral("ID")});
    parser.addOption({QStringLiteral("from"), QStringLiteral("First character (default 0)."), QStringLiteral("C")});
    parser.addOption({QStringLiteral("to"), QStringLiteral("End character, exclusive (default: end)."), QStringLiteral("C")});
    parseCommand(parser, args, QStringLiteral("memmamba show --doc ID [--from C] [--to C] [--db PATH] [--json]"));
    if (!parser.isSet(QStringLiteral("doc")))
        throw UsageError("show needs --doc ID");
    const qint64 docId = integerOption(parser, QStringLiteral("doc"), 0);
    const qint64 from = integerOption(parser, QStringLiteral("from"), 0);
    const qint64 to = integerOption(parser, QStringLiteral("to"), -1);

    storage::Database db(databasePathFrom(parser));
    const QString text = db.documentText(docId, from, to);
    if (parser.isSet(QStringLiteral("json"))) {
        const qint64 end = to < 0 ? from + storage::CodePointIndex(text).codePointCount() : to;
        printJson({{"doc", docId}, {"from", from}, {"to", end}, {"text", utf8(text)}});
        return 0;
    }
    // Exactly the stored characters, no newline added: scripts compare it byte for byte.
    const std::string bytes = utf8(text);
    std::fwrite(bytes.data(), 1, bytes.size(), stdout);
    return 0;
}

int runList(const QStringList& args)
{
    QCommandLineParser parser;
    parseCommand(parser, args, QStringLiteral("memmamba list [--db PATH] [--json]"));
    storage::Database db(databasePathFrom(parser));
    const auto docs = db.documents();
    if (parser.isSet(QStringLiteral("json"))) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& d : docs)
            list.push_back(documentJson(d));
        printJson({{"documents", list}});
        return 0;
    }
    for (const auto& d : docs)
        std::printf("%5lld  %-50s  %-25s  %9lld chars  %s\n", static_cast<long long>(d.id),
                    d.title.left(50).toUtf8().constData(), d.author.left(25).toUtf8().constData(),
                    static_cast<long long>(d.characters), d.status.toUtf8().constData());
    return 0;
}

}  // namespace mm::cli
