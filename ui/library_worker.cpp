#include "ui/library_worker.h"

#include "storage/import/importer.h"

#include <QFileInfo>

#include <algorithm>

namespace mm::ui {

LibraryWorker::LibraryWorker(const std::atomic_bool* cancelFlag) : m_cancel(cancelFlag) {}

LibraryWorker::~LibraryWorker() = default;

storage::Database* LibraryWorker::databaseFor(const QString& action)
{
    if (!m_db && !m_openFailed)
        emit errorOccurred(tr("Cannot %1: the library database is not open.").arg(action));
    return m_db.get();
}

void LibraryWorker::openDatabase(const QString& path)
{
    try {
        m_db = std::make_unique<storage::Database>(path);
        m_openFailed = false;
        emit databaseOpened(m_db->path());
    } catch (const std::exception& e) {
        m_db.reset();
        m_openFailed = true;
        emit databaseFailed(QString::fromUtf8(e.what()));
    }
}

void LibraryWorker::closeDatabase()
{
    m_db.reset();
}

void LibraryWorker::listLibrary()
{
    auto* db = databaseFor(tr("list the library"));
    if (!db)
        return;
    try {
        LibrarySnapshot snapshot;
        snapshot.documents = db->documents();
        snapshot.collections = db->collections();
        for (const auto& collection : std::as_const(snapshot.collections))
            snapshot.documentsByCollection.insert(collection.id, db->documents(collection.id));
        emit libraryListed(snapshot);
    } catch (const std::exception& e) {
        emit errorOccurred(tr("Cannot list the library: %1").arg(QString::fromUtf8(e.what())));
    }
}

void LibraryWorker::openDocument(qint64 docId)
{
    auto* db = databaseFor(tr("open a document"));
    if (!db)
        return;
    try {
        const auto record = db->document(docId);
        if (!record) {
            emit errorOccurred(tr("Document %1 is no longer in the library.").arg(docId));
            return;
        }
        OpenedDocument opened;
        opened.record = *record;
        opened.text = db->documentText(docId);
        opened.chapters = db->chapters(docId);
        if (const auto session = db->session(docId)) {
            opened.savedPosition = session->position;
            opened.hasSession = true;
        }
        emit documentOpened(opened);
    } catch (const std::exception& e) {
        emit errorOccurred(tr("Cannot open document %1: %2").arg(docId).arg(QString::fromUtf8(e.what())));
    }
}

void LibraryWorker::openLastSession()
{
    auto* db = databaseFor(tr("continue reading"));
    if (!db)
        return;
    std::optional<storage::SessionRecord> last;
    try {
        last = db->lastSession();
    } catch (const std::exception& e) {
        emit errorOccurred(tr("Cannot read the last session: %1").arg(QString::fromUtf8(e.what())));
        return;
    }
    if (!last) {
        emit noLastSession();
        return;
    }
    openDocument(last->docId);
}

void LibraryWorker::search(const QString& query, int limit)
{
    auto* db = databaseFor(tr("search"));
    if (!db)
        return;
    try {
        emit searchFinished(query, db->search(query, limit));
    } catch (const std::exception& e) {
        emit errorOccurred(tr("Search for \"%1\" failed: %2").arg(query, QString::fromUtf8(e.what())));
        emit searchFinished(query, {});
    }
}

void LibraryWorker::saveSession(qint64 docId, qint64 position, const QByteArray& uiState)
{
    auto* db = databaseFor(tr("save the reading position"));
    if (!db)
        return;
    try {
        storage::SessionRecord session;
        session.docId = docId;
        session.position = position;
        session.uiState = uiState;
        db->saveSession(session);
        emit sessionSaved(docId, position);
    } catch (const std::exception& e) {
        emit errorOccurred(tr("Cannot save the reading position: %1").arg(QString::fromUtf8(e.what())));
    }
}

void LibraryWorker::importFiles(const QStringList& paths, const QString& collection, bool openFirst)
{
    auto* db = databaseFor(tr("import"));
    if (!db) {
        emit importFailed(tr("Cannot import: the library database is not open."));
        return;
    }
    ImportOutcome outcome;
    outcome.openFirst = openFirst;
    const int fileCount = paths.size();
    for (int i = 0; i < fileCount; ++i) {
        // The GUI sets the flag at any time; checking between files (and the importer
        // between its stages) keeps a multi-file import cancellable.
        if (m_cancel && m_cancel->load()) {
            emit importCancelled(outcome.docIds.size());
            return;
        }
        const QString fileName = QFileInfo(paths[i]).fileName();
        import::ImportOptions options;
        options.collection = collection;
        options.cancel = m_cancel;
        options.progress = [this, i, fileCount, fileName](double fraction, const QString& stage) {
            const double overall = (i + std::clamp(fraction, 0.0, 1.0)) / fileCount;
            emit importProgress(overall, tr("Importing %1 (%2 of %3): %4")
                                             .arg(fileName).arg(i + 1).arg(fileCount).arg(stage));
        };
        emit importProgress(double(i) / fileCount,
                            tr("Importing %1 (%2 of %3)").arg(fileName).arg(i + 1).arg(fileCount));
        try {
            const auto result = import::importFile(*db, paths[i], options);
            outcome.docIds << result.docId;
            outcome.titles << result.title;
            if (!result.alreadyPresent)
                ++outcome.newDocuments;
        } catch (const import::ImportCancelled&) {
            emit importCancelled(outcome.docIds.size());
            return;
        } catch (const std::exception& e) {
            outcome.errors << QString::fromUtf8(e.what());
        }
    }
    emit importProgress(1.0, tr("Import finished"));
    if (outcome.docIds.isEmpty() && !outcome.errors.isEmpty())
        emit importFailed(outcome.errors.join(QLatin1Char('\n')));
    else
        emit importFinished(outcome);
}

}  // namespace mm::ui
