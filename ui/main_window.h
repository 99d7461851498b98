// The reader's main window. It composes the panels (library, contents, search; and the
// model's memory: map, notes, ask, ingest queue, charts) as dock widgets around the reading view
// and wires them to the LibraryService and, when one is set, the MemoryService. What the
// reader is doing (document, position, selection, memory state) is the ReadingSession's,
// which the panels follow; the window holds only the glue and the hit waiting for its
// document to arrive. The memory docks are built in main_window_memory.cpp; what they
// show is MemoryDocks' (ui/memory_docks.h).
#pragma once

#include "ui/library_types.h"
#include "ui/memory_types.h"

#include <QMainWindow>

#include <optional>

class QDockWidget;
class QLabel;
class QTimer;

namespace mm::ui {

class AskPanel;
class ChartsPanel;
class ImportProgressWidget;
class IngestQueuePanel;
class LibraryPanel;
class LibraryService;
class MemoryDocks;
class MemoryGate;
class MemoryMapPanel;
class MemoryService;
class NotesPanel;
class ReadingPositionSaver;
class ReadingSession;
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
    MemoryMapPanel* memoryMapPanel() const { return m_mapPanel; }
    NotesPanel* notesPanel() const { return m_notes; }
    AskPanel* askPanel() const { return m_ask; }
    IngestQueuePanel* ingestQueuePanel() const { return m_ingest; }
    ChartsPanel* chartsPanel() const { return m_charts; }
    /// The gate in front of a memory dock's panel ("memoryMapDock", "notesDock", "askDock",
    /// "chartsDock").
    MemoryGate* memoryGate(const QString& dockName) const;
    MemoryService* memoryService() const;
    /// Connects the model's memory (not owned; it must outlive the window or be its
    /// child). Without one, the memory docks say the memory is not available.
    void setMemoryService(MemoryService* service);
    qint64 currentDocumentId() const;
    /// The open document, position, selection and memory state the panels follow.
    ReadingSession* readingSession() const { return m_session; }
    QString positionText() const;
    /// Dock widgets by their object name ("libraryDock", "tocDock", "searchDock",
    /// "memoryMapDock", "notesDock", "askDock", "ingestDock", "chartsDock").
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
    /// Queues the open document to be read by the model ("Read with model").
    void readOpenDocumentWithModel();

signals:
    /// A document is on screen, at its restored position or at a search hit.
    void documentShown(qint64 docId);
    /// The library could not be opened; the message names the file and the problem.
    void databaseUnavailable(const QString& message);

protected:
    void showEvent(QShowEvent* event) override;
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    /// Docks in proportion to the window (first start, no saved layout): at 1280x800 and
    /// at 1920x1080 the panels keep room for their columns and the text its measure.
    void fitDocksToWindow();
    void createDocks();
    void createMenus();
    void connectService();
    void onDocumentOpened(const OpenedDocument& document);
    void onImportFinished(const ImportOutcome& outcome);
    void showError(const QString& title, const QString& message);
    void updatePositionLabel(qint64 position);
    void restoreLayout();
    void saveLayout() const;
    void createMemoryDocks();
    void jumpTo(qint64 position);

    LibraryService* m_service;
    ReadingView* m_reader;
    LibraryPanel* m_library;
    TocPanel* m_toc;
    SearchPanel* m_search;
    ImportProgressWidget* m_importProgress;
    QLabel* m_positionLabel;
    ReadingPositionSaver* m_saver;
    ReadingSession* m_session;
    QList<QDockWidget*> m_docks;
    QList<QAction*> m_importActions;
    MemoryMapPanel* m_mapPanel;
    NotesPanel* m_notes;
    AskPanel* m_ask;
    IngestQueuePanel* m_ingest;
    ChartsPanel* m_charts;
    MemoryDocks* m_memoryDocks;
    bool m_fitDocksOnShow = false;  ///< no saved layout: size the docks when first shown

    qint64 m_requestedDocId = 0;  ///< asked for, not yet arrived
    std::optional<storage::SearchHit> m_pendingHit;
    QStringList m_pendingHitTerms;
};

}  // namespace mm::ui
