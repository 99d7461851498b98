// The half of the LibraryService that lives on the service thread: it owns that
// thread's storage::Database and does every SQLite call and import. Its slots are
// only ever invoked through queued calls from LibraryService; its signals carry the
// results back. Exceptions from storage and import become signals, never crashes.
#pragma once

#include "ui/library_types.h"

#include <QObject>

#include <atomic>
#include <memory>

namespace mm::ui {

class LibraryWorker : public QObject {
    Q_OBJECT
public:
    explicit LibraryWorker(const std::atomic_bool* cancelFlag);
    ~LibraryWorker() override;

public slots:
    void openDatabase(const QString& path);
    void closeDatabase();
    void listLibrary();
    void openDocument(qint64 docId);
    void openLastSession();
    void search(const QString& query, int limit);
    void saveSession(qint64 docId, qint64 position, const QByteArray& uiState);
    void importFiles(const QStringList& paths, const QString& collection, bool openFirst);

signals:
    void databaseOpened(const QString& path);
    void databaseFailed(const QString& message);
    void libraryListed(const mm::ui::LibrarySnapshot& snapshot);
    void documentOpened(const mm::ui::OpenedDocument& document);
    void noLastSession();
    void searchFinished(const QString& query, const QVector<mm::storage::SearchHit>& hits);
    void sessionSaved(qint64 docId, qint64 position);
    void importProgress(double fraction, const QString& message);
    void importFinished(const mm::ui::ImportOutcome& outcome);
    void importFailed(const QString& message);
    void importCancelled(int filesImportedBefore);
    void errorOccurred(const QString& message);

private:
    /// The open database, or nullptr after emitting errorOccurred for `action`.
    storage::Database* databaseFor(const QString& action);

    std::unique_ptr<storage::Database> m_db;
    const std::atomic_bool* m_cancel;
    bool m_openFailed = false;  ///< reported once by databaseFailed; later requests stay quiet
};

}  // namespace mm::ui
