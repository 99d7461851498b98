// The library panel: a tree of collections and documents. Activating a document asks
// for it to be opened; the panel never talks to storage itself.
#pragma once

#include "ui/library_types.h"

#include <QWidget>

class QTreeView;

namespace mm::ui {

class LibraryModel;

class LibraryPanel : public QWidget {
    Q_OBJECT
public:
    explicit LibraryPanel(QWidget* parent = nullptr);

    LibraryModel* model() const { return m_model; }
    QTreeView* view() const { return m_view; }

public slots:
    void setSnapshot(const mm::ui::LibrarySnapshot& snapshot);
    /// Marks the open document (selection only; emits nothing).
    void setCurrentDocument(qint64 docId);

signals:
    void documentActivated(qint64 docId);

private:
    LibraryModel* m_model;
    QTreeView* m_view;
    qint64 m_currentDocId = 0;
};

}  // namespace mm::ui
