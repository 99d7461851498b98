// LibraryService: the widgets' only door to the library. It owns a QThread running a
// LibraryWorker, which opens its own storage::Database on that thread, so no SQLite
// call ever runs on the GUI thread. The public slots queue requests to the worker;
// the signals deliver results on the GUI thread. Cancelling an import sets an atomic
// flag directly, because the worker is busy inside the import when it matters.
#pragma once

#include "ui/library_types.h"

#include <QObject>
#include <QThread>

#include <atomic>

namespace mm::ui {

class LibraryWorker;

class LibraryService : public QObject {
    Q_OBJECT
public:
    /// Starts the service thread and opens the database at dbPath on it; the result
    /// arrives as databaseOpened or databaseFailed.
    explicit LibraryService(const QString& dbPath, QObject* parent = nullptr);
    /// Cancels a running import, lets queued requests (session saves) finish, closes
    /// the database on its thread, then quits and waits for the thread.
    ~LibraryService() override;

    bool isImporting() const { return m_importsRunning > 0; }

public slots:
    void refreshLibrary();
    void openDocument(qint64 docId);
    /// Opens the most recently read document (documentOpened), or emits noLastSession.
    void continueReading();
    void search(const QString& query, int limit = 50);
    void saveSession(qint64 docId, qint64 position, const QByteArray& uiState = {});
    /// Imports the files one after another (into `collection` when not empty).
    void importFiles(const QStringList& paths, const QString& collection = {}, bool openFirst = false);
    /// Safe to call at any time from the GUI thread; the import stops at its next check.
    void cancelImport();

signals:
    void databaseOpened(const QString& path);
    void databaseFailed(const QString& message);
    void libraryListed(const mm::ui::LibrarySnapshot& snapshot);
    void documentOpened(const mm::ui::OpenedDocument& document);
    void noLastSession();
    void searchFinished(const QString& query, const QVector<mm::storage::SearchHit>& hits);
    void sessionSaved(qint64 docId, qint64 position);
    void importStarted(int fileCount);
    void importProgress(double fraction, const QString& message);
    void importFinished(const mm::ui::ImportOutcome& outcome);
    void importFailed(const QString& message);
    void importCancelled(int filesImportedBefore);
    void errorOccurred(const QString& message);

private:
    void onImportEnded();

    QThread m_thread;
    LibraryWorker* m_worker = nullptr;
    std::atomic_bool m_cancelImport{false};
    int m_importsRunning = 0;
};

}  // namespace mm::ui
