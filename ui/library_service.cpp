#include "ui/library_service.h"

#include "ui/library_worker.h"

namespace mm::ui {

namespace {
void registerMetaTypes()
{
    qRegisterMetaType<mm::storage::DocumentRecord>();
    qRegisterMetaType<mm::storage::SearchHit>();
    qRegisterMetaType<QVector<mm::storage::SearchHit>>();
    qRegisterMetaType<mm::ui::LibrarySnapshot>();
    qRegisterMetaType<mm::ui::OpenedDocument>();
    qRegisterMetaType<mm::ui::ImportOutcome>();
}
}  // namespace

LibraryService::LibraryService(const QString& dbPath, QObject* parent) : QObject(parent)
{
    registerMetaTypes();
    m_thread.setObjectName(QStringLiteral("LibraryService"));
    m_worker = new LibraryWorker(&m_cancelImport);
    m_worker->moveToThread(&m_thread);

    // Worker signals are re-emitted as ours; the connections are queued because the
    // worker lives on m_thread and we live on the GUI thread.
    connect(m_worker, &LibraryWorker::databaseOpened, this, &LibraryService::databaseOpened);
    connect(m_worker, &LibraryWorker::databaseFailed, this, &LibraryService::databaseFailed);
    connect(m_worker, &LibraryWorker::libraryListed, this, &LibraryService::libraryListed);
    connect(m_worker, &LibraryWorker::documentOpened, this, &LibraryService::documentOpened);
    connect(m_worker, &LibraryWorker::noLastSession, this, &LibraryService::noLastSession);
    connect(m_worker, &LibraryWorker::searchFinished, this, &LibraryService::searchFinished);
    connect(m_worker, &LibraryWorker::sessionSaved, this, &LibraryService::sessionSaved);
    connect(m_worker, &LibraryWorker::importProgress, this, &LibraryService::importProgress);
    connect(m_worker, &LibraryWorker::errorOccurred, this, &LibraryService::errorOccurred);
    connect(m_worker, &LibraryWorker::importFinished, this, [this](const ImportOutcome& outcome) {
        onImportEnded();
        emit importFinished(outcome);
    });
    connect(m_worker, &LibraryWorker::importFailed, this, [this](const QString& message) {
        onImportEnded();
        emit importFailed(message);
    });
    connect(m_worker, &LibraryWorker::importCancelled, this, [this](int filesImportedBefore) {
        onImportEnded();
        emit importCancelled(filesImportedBefore);
    });

    m_thread.start();
    QMetaObject::invokeMethod(m_worker, "openDatabase", Qt::QueuedConnection, Q_ARG(QString, dbPath));
}

LibraryService::~LibraryService()
{
    m_cancelImport = true;
    // A blocking call is queued behind every request already posted (the last session
    // save among them), so when it returns they have all run and the database is closed
    // on the thread that opened it.
    QMetaObject::invokeMethod(m_worker, "closeDatabase", Qt::BlockingQueuedConnection);
    m_thread.quit();
    m_thread.wait();
    delete m_worker;
}

void LibraryService::onImportEnded()
{
    if (m_importsRunning > 0)
        --m_importsRunning;
}

void LibraryService::refreshLibrary()
{
    QMetaObject::invokeMethod(m_worker, "listLibrary", Qt::QueuedConnection);
}

void LibraryService::openDocument(qint64 docId)
{
    QMetaObject::invokeMethod(m_worker, "openDocument", Qt::QueuedConnection, Q_ARG(qint64, docId));
}

void LibraryService::continueReading()
{
    QMetaObject::invokeMethod(m_worker, "openLastSession", Qt::QueuedConnection);
}

void LibraryService::search(const QString& query, int limit)
{
    QMetaObject::invokeMethod(m_worker, "search", Qt::QueuedConnection, Q_ARG(QString, query),
                              Q_ARG(int, limit));
}

void LibraryService::saveSession(qint64 docId, qint64 position, const QByteArray& uiState)
{
    QMetaObject::invokeMethod(m_worker, "saveSession", Qt::QueuedConnection, Q_ARG(qint64, docId),
                              Q_ARG(qint64, position), Q_ARG(QByteArray, uiState));
}

void LibraryService::importFiles(const QStringList& paths, const QString& collection, bool openFirst)
{
    // Cleared here, on the GUI thread, before the request is queued: a cancel that
    // follows immediately is then never lost to a reset on the worker side.
    m_cancelImport = false;
    ++m_importsRunning;
    emit importStarted(paths.size());
    QMetaObject::invokeMethod(m_worker, "importFiles", Qt::QueuedConnection, Q_ARG(QStringList, paths),
                              Q_ARG(QString, collection), Q_ARG(bool, openFirst));
}

void LibraryService::cancelImport()
{
    m_cancelImport = true;
}

}  // namespace mm::ui
