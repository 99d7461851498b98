// memmamba: the command line of MemMamba Reader.
//
// Contract (docs/spec/PRODUCT.md): `memmamba <command> [options]`; every command accepts --json and
// then prints one JSON object on stdout; progress goes to stderr; errors exit non-zero with
// one line that names the problem (2: usage, 1: everything else).
#include "app/heap.h"
#include "cli_common.h"
#ifdef MEMMAMBA_HAVE_ENGINE
#include "engine_commands.h"
#endif
#ifdef MEMMAMBA_HAVE_EVAL
#include "eval_commands.h"
#endif
#ifdef MEMMAMBA_HAVE_TRAIN
#include "train_commands.h"
#endif
#ifdef MEMMAMBA_HAVE_MEMORY
#include "memory_commands.h"
#endif

#include <QCoreApplication>

#include <cstdio>
#include <functional>
#include <map>

namespace {

const char* kUsage =
    "usage: memmamba <command> [options]   (every command takes --json and --help)\n"
    "  info                         versions, device, model, tokenizer, library\n"
    "  import FILE... [--collection NAME]   add books to the library\n"
    "  list                         documents in the library\n"
    "  search QUERY [--doc ID] [--limit N]  full-text search\n"
    "  show --doc ID [--from C] [--to C]    print a range of a document's text\n"
#ifdef MEMMAMBA_HAVE_MEMORY
    "  ingest FILE... | --doc ID [--checkpoint-every N]   read documents into the model's memory\n"
    "  ask --doc ID [--at POSITION] QUESTION   answer from the memory as of a position\n"
    "  notes --doc ID [--layer L] [--at POSITION]   a layer's note pool at a position\n"
    "  (ingest, ask, notes, search: --model DIR | --random [--config JSON], --device auto|cpu|cuda)\n"
#endif
#ifdef MEMMAMBA_HAVE_ENGINE
    "  bench ingest --tokens N [--device cpu|cuda|auto]  reading speed of the engine\n"
#endif
#ifdef MEMMAMBA_HAVE_EVAL
    "  eval ppl|passkey|multikey|fidelity|speed [options]  the evaluation protocols (eval --help)\n"
#endif
#ifdef MEMMAMBA_HAVE_TRAIN
    "  train --data DIR --out DIR [options]  train a model (train --help, docs/training.md)\n"
#endif
    "  --db PATH selects the library (default: the reader's own)\n";

}  // namespace

int main(int argc, char** argv)
{
    mm::keepFreedMemory();
#ifdef MEMMAMBA_HAVE_EVAL
    // A QApplication (offscreen) only for `eval ... --plot`, which renders Qt Charts.
    const std::unique_ptr<QCoreApplication> app = mm::cli::createApplication(argc, argv);
#else
    QCoreApplication app(argc, argv);
#endif
    // The same names as the GUI, so both find the same default library.
    QCoreApplication::setOrganizationName(QStringLiteral("MemMamba"));
    QCoreApplication::setApplicationName(QStringLiteral("MemMamba Reader"));
    QCoreApplication::setApplicationVersion(QStringLiteral(MEMMAMBA_VERSION));

    const QStringList args = QCoreApplication::arguments().mid(1);
    if (args.isEmpty() || args[0] == QLatin1String("--help") || args[0] == QLatin1String("-h") ||
        args[0] == QLatin1String("help")) {
        std::fputs(kUsage, args.isEmpty() ? stderr : stdout);
        return args.isEmpty() ? 2 : 0;
    }
    if (args[0] == QLatin1String("--version")) {
        std::printf("memmamba %s\n", MEMMAMBA_VERSION);
        return 0;
    }

    const std::map<QString, std::function<int(const QStringList&)>> commands = {
        {QStringLiteral("info"), mm::cli::runInfo},     {QStringLiteral("import"), mm::cli::runImport},
        {QStringLiteral("search"), mm::cli::runSearch}, {QStringLiteral("show"), mm::cli::runShow},
        {QStringLiteral("list"), mm::cli::runList},
#ifdef MEMMAMBA_HAVE_ENGINE
        {QStringLiteral("bench"),
         [](const QStringList& a) {
             std::vector<std::string> v;
             for (const QString& s : a.mid(1))
                 v.push_back(s.toStdString());
             return mm::cli::runBench(v);
         }},
#endif
#ifdef MEMMAMBA_HAVE_MEMORY
        {QStringLiteral("ingest"), mm::cli::runIngest},
        {QStringLiteral("ask"), mm::cli::runAsk},
        {QStringLiteral("notes"), mm::cli::runNotes},
        {QStringLiteral("selftest"), mm::cli::runSelfTest},
#endif
#ifdef MEMMAMBA_HAVE_EVAL
        {QStringLiteral("eval"),
         [](const QStringList& a) {
#ifdef MEMMAMBA_HAVE_ANSWERS
             if (a.size() > 1 && a[1] == QLatin1String("qa"))
                 return mm::cli::runEvalQa(a.mid(1));
#endif
             std::vector<std::string> v;
             for (const QString& s : a.mid(1))
                 v.push_back(s.toStdString());
             return mm::cli::runEval(v);
         }},
#endif
#ifdef MEMMAMBA_HAVE_TRAIN
        {QStringLiteral("train"),
         [](const QStringList& a) {
             std::vector<std::string> v;
             for (const QString& s : a.mid(1))
                 v.push_back(s.toStdString());
             return mm::cli::runTrain(v);
         }},
#endif
    };
    const auto command = commands.find(args[0]);
    if (command == commands.end()) {
        std::fprintf(stderr, "memmamba: unknown command '%s' (try memmamba --help)\n", args[0].toUtf8().constData());
        return 2;
    }
    try {
        return command->second(args);
    } catch (const mm::cli::UsageError& e) {
        std::fprintf(stderr, "memmamba %s: %s\n", args[0].toUtf8().constData(), e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "memmamba %s: %s\n", args[0].toUtf8().constData(), e.what());
        return 1;
    }
}
