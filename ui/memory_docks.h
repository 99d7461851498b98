// MemoryDocks: what the memory docks (map, notes, ask, charts, reading queue) show, and
// their wiring to the MemoryService. It follows the ReadingSession (the open document,
// the reading position) and keeps the session's memory state: None until the open
// document's memory map arrives (Ready), Reading while the model reads it. Until then
// each dock's MemoryGate says why it is empty. MainWindow builds the docks and hands it
// the panels and gates; what needs the window (status bar, raising the queue's dock)
// goes out as signals.
#pragma once

#include "ui/memory_types.h"

#include <QList>
#include <QObject>
#include <QString>

#include <memory>

class QAction;
class QTimer;

namespace mm::ui {

class AskPanel;
class ChartsPanel;
class IngestQueuePanel;
class LibraryPanel;
class MemoryGate;
class MemoryMapPanel;
class MemoryService;
class NotesPanel;
class ReadingSession;
class ReadingView;

struct MemoryDockPanels {
    ReadingView* reader = nullptr;
    MemoryMapPanel* map = nullptr;
    NotesPanel* notes = nullptr;
    AskPanel* ask = nullptr;
    IngestQueuePanel* ingest = nullptr;
    ChartsPanel* charts = nullptr;
    LibraryPanel* library = nullptr;
};

class MemoryDocks : public QObject {
    Q_OBJECT
public:
    MemoryDocks(ReadingSession* session, const MemoryDockPanels& panels, QObject* parent = nullptr);

    /// A gate in front of a memory dock's panel; its Read button reads the open document.
    void addGate(MemoryGate* gate);
    /// Memory ▸ Read this book with the model: enabled with a service and an open document.
    void setReadAction(QAction* action);
    MemoryService* service() const { return m_memory; }
    /// Connects the model's memory (not owned); null: the memory is not available.
    void setService(MemoryService* service);
    /// The session's document was (re)opened with this text: asks for its memory.
    void documentOpened(const QString& text);
    /// Every gate shows `message`; the Read button only with `offerRead` and a service.
    void setGates(const QString& message, bool offerRead);

public slots:
    /// Queues the open document to be read by the model.
    void readOpenDocument();

signals:
    void statusMessage(const QString& text, int timeoutMs);
    /// A book was queued: the reading queue's dock should be shown.
    void ingestDockWanted();

private:
    void connectService();
    void onMemoryMapReady(std::shared_ptr<const MemoryMapData> data);
    void requestPoolSoon();

    ReadingSession* m_session;
    ReadingView* m_reader;
    MemoryMapPanel* m_map;
    NotesPanel* m_notes;
    AskPanel* m_ask;
    IngestQueuePanel* m_ingest;
    ChartsPanel* m_charts;
    LibraryPanel* m_library;
    QList<MemoryGate*> m_gates;
    QAction* m_readAction = nullptr;
    QTimer* m_poolTimer;
    MemoryService* m_memory = nullptr;
    QString m_text;  ///< the open document's text (the map's tooltips)
};

}  // namespace mm::ui
