// memmamba-reader [--db PATH] [--collection NAME] [--search QUERY] [FILE...]: the desktop reader. FILE arguments are imported
// (a book already in the library is just opened) and the first one is opened; without
// them the last session continues where it was left; --search QUERY opens the best
// full-text hit instead.
#include "storage/database.h"
#include "ui/main_window.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QMessageBox>

int main(int argc, char* argv[])
{
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
    parser.addPositionalArgument(QStringLiteral("FILE"), QStringLiteral("Books to import and open."),
                                 QStringLiteral("[FILE...]"));
    parser.process(app);

    const QString dbPath = parser.isSet(dbOption) ? parser.value(dbOption) : mm::storage::defaultDatabasePath();

    mm::ui::MainWindow window(dbPath);
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
