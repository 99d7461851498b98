// Saves the reading position of the open document: debounced while the reader
// scrolls, and at once when the document changes or the window closes. It only asks
// the service to save; it never touches storage.
#pragma once

#include <QObject>

class QTimer;

namespace mm::ui {

class ReadingPositionSaver : public QObject {
    Q_OBJECT
public:
    explicit ReadingPositionSaver(QObject* parent = nullptr, int debounceMs = 1500);

    qint64 documentId() const { return m_docId; }
    qint64 lastSavedPosition() const { return m_savedPosition; }

public slots:
    /// Saves the previous document's position if pending, then tracks docId from
    /// `position`, saved at once so the document becomes the last one read.
    void track(qint64 docId, qint64 position);
    void positionChanged(qint64 position);
    /// Saves a pending position now.
    void flush();

signals:
    void saveRequested(qint64 docId, qint64 position);

private:
    QTimer* m_debounce;
    qint64 m_docId = 0;
    qint64 m_position = 0;
    qint64 m_savedPosition = -1;
};

}  // namespace mm::ui
