#include "ui/library_panel.h"

#include "ui/library_model.h"

#include <QHeaderView>
#include <QSignalBlocker>
#include <QTreeView>
#include <QVBoxLayout>

namespace mm::ui {

LibraryPanel::LibraryPanel(QWidget* parent)
    : QWidget(parent), m_model(new LibraryModel(this)), m_view(new QTreeView(this))
{
    m_view->setModel(m_model);
    m_view->setObjectName(QStringLiteral("libraryView"));
    m_view->setUniformRowHeights(true);
    m_view->setAlternatingRowColors(false);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_view->setFrameShape(QFrame::NoFrame);
    m_view->header()->setStretchLastSection(false);
    m_view->header()->setSectionResizeMode(LibraryModel::TitleColumn, QHeaderView::Stretch);
    m_view->header()->setSectionResizeMode(LibraryModel::AuthorColumn, QHeaderView::Interactive);
    m_view->header()->setSectionResizeMode(LibraryModel::LengthColumn, QHeaderView::ResizeToContents);
    m_view->header()->resizeSection(LibraryModel::AuthorColumn, 110);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_view);

    connect(m_view, &QTreeView::activated, this, [this](const QModelIndex& index) {
        const QModelIndex titleIndex = index.siblingAtColumn(LibraryModel::TitleColumn);
        const QVariant id = titleIndex.data(LibraryModel::DocumentIdRole);
        if (id.isValid())
            emit documentActivated(id.toLongLong());
    });
}

void LibraryPanel::setSnapshot(const LibrarySnapshot& snapshot)
{
    m_model->setSnapshot(snapshot);
    m_view->expandAll();
    setCurrentDocument(m_currentDocId);
}

void LibraryPanel::setCurrentDocument(qint64 docId)
{
    m_currentDocId = docId;
    const QModelIndex index = m_model->indexOfDocument(docId);
    if (!index.isValid())
        return;
    const QSignalBlocker blocker(m_view);
    m_view->setCurrentIndex(index);
    m_view->scrollTo(index);
}

}  // namespace mm::ui
