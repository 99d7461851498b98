// The reader's main window. It composes the panels (library, contents, search) as dock
// widgets around the reading view, so later panels (memory map, notes, ask) dock in
// beside them, and wires them to the LibraryService. The window holds only the glue:
// which document is open and the hit waiting for its document to arrive.
#pragma once

#include "ui/library_types.h"

#include <QMainWindow>

#include <optional>

class QDockWidget;
class QLabel;

namespace mm::ui {

class ImportProgressWidget;
class LibraryPanel;
class LibraryService;
class ReadingPositionSaver;
class ReadingView;
class SearchPanel;
class TocPanel;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    /// Opens (on the service thread) the library at databasePath.
    explicit MainWindow(const QString& databasePath, QWidget* parent = nullptr);
    ~MainWindow() override;

    /// Imports `files` (into `collection` if given) and opens the first; without files,
    /// continues the last session.
    void start(const QStringList& files = {}, const QString& collection = {});

    LibraryService* service() const { return m_service; }
    ReadingView* readingView() const { return m_reader; }
    LibraryPanel* libraryPanel() const { return m_library; }
    TocPanel* tocPanel() const { return m_toc; }
    SearchPanel* searchPanel() const { return m_search; }
    ImportProgressWidget* importProgress() const { return m_importProgress; }
    qint64 currentDocumentId() const { return m_openDocId; }
    QString positionText() const;
    /// Dock widgets by their object name ("libraryDock", "tocDock", "searchDock").
    QDockWidget* dock(const QString& objectName) const;

public slots:
    /// What the menu and drops do: imports files (into `collection` if given).
    void importFiles(const QStringList& paths, const QString& collection = {}, bool openFirst = true);
    /// Imports every supported file under `folder` into a collection named after it.
    void importFolder(const QString& folder);
    void openDocument(qint64 docId);
    void showSearchHit(const mm::storage::SearchHit& hit, const QStringList& highlightTerms);
    /// Searches the library and opens the best hit (memmamba-reader --search).
    void searchAndShowBestHit(const QString& query);
    void chooseFilesToImport();
    void chooseFolderToImport();

signals:
    /// A document is on screen, at its restored position or at a search hit.
    void documentShown(qint64 docId);
    /// The library could not be opened; the message names the file and the problem.
    void databaseUnavailable(const QString& message);

protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void createDocks();
    void createMenus();
    void connectService();
    void onDocumentOpened(const OpenedDocument& document);
    void onImportFinished(const ImportOutcome& outcome);
    void showError(const QString& title, const QString& message);
    void updatePositionLabel(qint64 position);
    void restoreLayout();
    void saveLayout() const;

    LibraryService* m_service;
    ReadingView* m_reader;
    LibraryPanel* m_library;
    TocPanel* m_toc;
    SearchPanel* m_search;
    ImportProgressWidget* m_importProgress;
    QLabel* m_positionLabel;
    ReadingPositionSaver* m_saver;
    QList<QDockWidget*> m_docks;
    QList<QAction*> m_importActions;

    qint64 m_openDocId = 0;
    qint64 m_requestedDocId = 0;  ///< asked for, not yet arrived
    QString m_openTitle;
    std::optional<storage::SearchHit> m_pendingHit;
    QStringList m_pendingHitTerms;
};

}  // namespace mm::ui
