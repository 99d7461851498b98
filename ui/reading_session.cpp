// See reading_session.h.
#include "ui/reading_session.h"

namespace mm::ui {

void ReadingSession::setDocument(qint64 docId, const QString& title)
{
    if (docId == m_docId && title == m_title)
        return;
    m_docId = docId;
    m_title = title;
    m_position = -1;  // the view reports the new document's position
    emit documentChanged(docId, title);
    setSelection({});
    setMemoryState(memory::MemoryState::None);
}

void ReadingSession::setPosition(qint64 position)
{
    if (position == m_position)
        return;
    m_position = position;
    emit positionChanged(position);
}

void ReadingSession::setSelection(const CharRange& selection)
{
    if (selection == m_selection)
        return;
    m_selection = selection;
    emit selectionChanged(selection);
}

void ReadingSession::setMemoryState(memory::MemoryState state)
{
    if (state == m_memoryState)
        return;
    m_memoryState = state;
    emit memoryStateChanged(state);
}

}  // namespace mm::ui
