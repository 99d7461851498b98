#include "ui/reading_position_saver.h"

#include <QTimer>

namespace mm::ui {

ReadingPositionSaver::ReadingPositionSaver(QObject* parent, int debounceMs)
    : QObject(parent), m_debounce(new QTimer(this))
{
    m_debounce->setSingleShot(true);
    m_debounce->setInterval(debounceMs);
    connect(m_debounce, &QTimer::timeout, this, &ReadingPositionSaver::flush);
}

void ReadingPositionSaver::track(qint64 docId, qint64 position)
{
    flush();
    m_docId = docId;
    m_position = position;
    m_savedPosition = position;
    // Saved at once: opening a document makes it the one "Continue reading" returns to.
    if (m_docId > 0)
        emit saveRequested(m_docId, m_position);
}

void ReadingPositionSaver::positionChanged(qint64 position)
{
    if (m_docId <= 0)
        return;
    m_position = position;
    m_debounce->start();
}

void ReadingPositionSaver::flush()
{
    m_debounce->stop();
    if (m_docId <= 0 || m_position == m_savedPosition)
        return;
    m_savedPosition = m_position;
    emit saveRequested(m_docId, m_position);
}

}  // namespace mm::ui
