// The library panel: a tree of collections and documents. Activating a document asks
// for it to be opened; its context menu offers "Read with model" for a document or a
// whole collection. The panel never talks to storage itself.
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
    /// Offers "Read with model" in the context menu (only when a MemoryService is set).
    void setReadWithModelEnabled(bool enabled) { m_readWithModel = enabled; }
    /// Asks for the document at `index`, or every document under it (a collection), to
    /// be read by the model: what the context menu does.
    void requestReadWithModel(const QModelIndex& index);
    /// Marks the open document (selection only; emits nothing).
    void setCurrentDocument(qint64 docId);

signals:
    void documentActivated(qint64 docId);
    /// Documents to queue for the model, with their titles (same order).
    void readWithModelRequested(const QVector<qint64>& docIds, const QStringList& titles);

protected:
    /// The author column takes a share of the width, so the title keeps the most room.
    void resizeEvent(QResizeEvent* event) override;

private:
    LibraryModel* m_model;
    QTreeView* m_view;
    qint64 m_currentDocId = 0;
    bool m_readWithModel = false;
};

}  // namespace mm::ui
