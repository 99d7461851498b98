// ReadingSession: what the reader is doing now, the one object the panels observe: the
// open document, the reading position, the selection (code points) and where the open
// document's memory stands for the model (app/memory's MemoryState). Each setter emits
// its signal only when the value changes. MainWindow feeds it from the reading view, the
// library service and the memory service; it touches neither storage nor the model.
#pragma once

#include "app/memory/memory_state.h"
#include "ui/char_range.h"

#include <QObject>
#include <QString>

namespace mm::ui {

class ReadingSession : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;

    qint64 documentId() const { return m_docId; }
    QString title() const { return m_title; }
    /// Code point of the first visible character; -1 until the view reports one.
    qint64 position() const { return m_position; }
    CharRange selection() const { return m_selection; }
    memory::MemoryState memoryState() const { return m_memoryState; }
    /// The open document's memory is on screen (map, notes, ask).
    bool memoryShown() const { return m_memoryState == memory::MemoryState::Ready; }

public slots:
    /// Another document (or the same under a new title): documentChanged; the position is
    /// unknown until the view reports it, the selection is cleared (selectionChanged when
    /// there was one) and the memory state goes back to None (memoryStateChanged when it
    /// was not).
    void setDocument(qint64 docId, const QString& title);
    void setPosition(qint64 position);
    void setSelection(const mm::ui::CharRange& selection);
    void setMemoryState(mm::memory::MemoryState state);

signals:
    void documentChanged(qint64 docId, const QString& title);
    void positionChanged(qint64 position);
    void selectionChanged(const mm::ui::CharRange& selection);
    void memoryStateChanged(mm::memory::MemoryState state);

private:
    qint64 m_docId = 0;
    QString m_title;
    qint64 m_position = -1;
    CharRange m_selection;
    memory::MemoryState m_memoryState = memory::MemoryState::None;
};

}  // namespace mm::ui

Q_DECLARE_METATYPE(mm::memory::MemoryState)
