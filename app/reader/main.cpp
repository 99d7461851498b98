// memmamba-reader [--db PATH] [--collection NAME] [--search QUERY] [--model DIR | --random
// [--config JSON]] [--device auto|cpu|cuda] [FILE...]: the desktop reader. FILE arguments are
// imported (a book already in the library is just opened) and the first one is opened;
// without them the last session continues where it was left; --search QUERY opens the
// best full-text hit instead. The model's memory (ModelMemoryService) uses the shipped
// model unless --model or --random says otherwise.
#include "app/heap.h"
#include "storage/database.h"
#include "ui/library_service.h"
#include "ui/main_window.h"
#ifdef MEMMAMBA_HAVE_MEMORY
#include "app/reader/model_memory_service.h"
#endif

#include <QApplication>
#include <QCommandLineParser>
#include <QMessageBox>

#include <cstdio>

int main(int argc, char* argv[])
{
    mm::keepFreedMemory();
    QApplication app(argc, argv);
    // These names place the default library in AppDataLocation and the window layout
    // in QSettings; they must be set before either is looked up.
    QApplication::setOrganizationName(QStringLiteral("MemMamba"));
    QApplication::setApplicationName(QStringLiteral("MemMamba Reader"));
    QApplication::setApplicationVersion(QStringLiteral(MEMMAMBA_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("MemMamba Reader: a reader for long books."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption dbOption(QStringLiteral("db"),
                                      QStringLiteral("Library database to open (default: %1).")
                                          .arg(mm::storage::defaultDatabasePath()),
                                      QStringLiteral("PATH"));
    parser.addOption(dbOption);
    const QCommandLineOption searchOption(QStringLiteral("search"),
                                          QStringLiteral("Search the library and open the best hit."),
                                          QStringLiteral("QUERY"));
    parser.addOption(searchOption);
    const QCommandLineOption collectionOption(QStringLiteral("collection"),
                                              QStringLiteral("Import the FILEs into this collection."),
                                              QStringLiteral("NAME"));
    parser.addOption(collectionOption);
#ifdef MEMMAMBA_HAVE_MEMORY
    const QCommandLineOption modelOption(QStringLiteral("model"),
                                         QStringLiteral("Model folder (default: the shipped model)."),
                                         QStringLiteral("DIR"));
    const QCommandLineOption randomOption(QStringLiteral("random"),
                                          QStringLiteral("A randomly initialised model (tests)."));
    const QCommandLineOption configOption(QStringLiteral("config"),
                                          QStringLiteral("Config of the --random model (JSON, may be partial)."),
                                          QStringLiteral("JSON"));
    const QCommandLineOption deviceOption(QStringLiteral("device"),
                                          QStringLiteral("Where the model runs: auto (CUDA when present), cpu or cuda."),
                                          QStringLiteral("auto|cpu|cuda"), QStringLiteral("auto"));
    const QCommandLineOption noModelOption(QStringLiteral("no-model"),
                                           QStringLiteral("Start without the model's memory."));
    parser.addOptions({modelOption, randomOption, configOption, deviceOption, noModelOption});
#endif
    parser.addPositionalArgument(QStringLiteral("FILE"), QStringLiteral("Books to import and open."),
                                 QStringLiteral("[FILE...]"));
    parser.process(app);

    const QString dbPath = parser.isSet(dbOption) ? parser.value(dbOption) : mm::storage::defaultDatabasePath();

#ifdef MEMMAMBA_HAVE_MEMORY
    const QString device = parser.value(deviceOption);
    QString usage;
    if (parser.isSet(randomOption) && parser.isSet(modelOption))
        usage = QStringLiteral("--random and --model exclude each other");
    else if (parser.isSet(configOption) && !parser.isSet(randomOption))
        usage = QStringLiteral("--config applies to --random only");
    else if (device != QStringLiteral("auto") && device != QStringLiteral("cpu") && device != QStringLiteral("cuda"))
        usage = QStringLiteral("--device must be auto, cpu or cuda, not '%1'").arg(device);
    if (!usage.isEmpty()) {
        fprintf(stderr, "memmamba-reader: %s\n", qPrintable(usage));
        return 2;
    }
#endif

    mm::ui::MainWindow window(dbPath);
#ifdef MEMMAMBA_HAVE_MEMORY
    // The model's memory: loaded on its own thread once the library is open (the library
    // service may have to create or migrate it first).
    mm::memoryui::ModelMemoryService* memory = nullptr;
    if (!parser.isSet(noModelOption)) {
        mm::memoryui::ModelMemoryOptions options;
        options.databasePath = dbPath;
        options.modelDir = parser.value(modelOption);
        options.device = device;
        options.random = parser.isSet(randomOption);
        if (parser.isSet(configOption))
            options.randomConfig = parser.value(configOption);
        memory = new mm::memoryui::ModelMemoryService(options, &window);
        window.setMemoryService(memory);
        QObject::connect(window.service(), &mm::ui::LibraryService::databaseOpened, memory,
                         &mm::memoryui::ModelMemoryService::start);
    }
#endif
    // A library that cannot be opened (not a MemMamba library, written by a newer
    // version, an unwritable folder) ends the program with the reason, not a crash.
    QObject::connect(&window, &mm::ui::MainWindow::databaseUnavailable, &app, [&](const QString& message) {
        QMessageBox::critical(&window, QObject::tr("MemMamba Reader"),
                              QObject::tr("The library %1 cannot be opened:\n\n%2").arg(dbPath, message));
        QApplication::exit(2);
    });
    window.show();
    if (parser.isSet(searchOption))
        window.searchAndShowBestHit(parser.value(searchOption));
    else
        window.start(parser.positionalArguments(), parser.value(collectionOption));
    return QApplication::exec();
}
