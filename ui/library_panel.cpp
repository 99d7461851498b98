#include "ui/library_panel.h"

#include "ui/library_model.h"

#include <QHeaderView>
#include <QMenu>
#include <QResizeEvent>
#include <QSignalBlocker>
#include <QTreeView>
#include <QVBoxLayout>

#include <algorithm>

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
    m_view->header()->setMinimumSectionSize(40);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_view);

    connect(m_view, &QTreeView::activated, this, [this](const QModelIndex& index) {
        const QModelIndex titleIndex = index.siblingAtColumn(LibraryModel::TitleColumn);
        const QVariant id = titleIndex.data(LibraryModel::DocumentIdRole);
        if (id.isValid())
            emit documentActivated(id.toLongLong());
    });
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_view, &QTreeView::customContextMenuRequested, this, [this](const QPoint& pos) {
        const QModelIndex index = m_view->indexAt(pos);
        if (!index.isValid() || !m_readWithModel)
            return;
        QMenu menu(this);
        const bool isDocument = index.siblingAtColumn(LibraryModel::TitleColumn).data(LibraryModel::DocumentIdRole).isValid();
        menu.addAction(isDocument ? tr("Read with model") : tr("Read collection with model"), this,
                       [this, index] { requestReadWithModel(index); });
        menu.exec(m_view->viewport()->mapToGlobal(pos));
    });
}

void LibraryPanel::resizeEvent(QResizeEvent* event)
{
    QWidget::resizeEvent(event);
    // Elided authors (whole in their tooltip) rather than elided titles.
    m_view->header()->resizeSection(LibraryModel::AuthorColumn, std::clamp(width() * 26 / 100, 60, 220));
}

void LibraryPanel::requestReadWithModel(const QModelIndex& index)
{
    QVector<qint64> ids;
    QStringList titles;
    const QModelIndex title = index.siblingAtColumn(LibraryModel::TitleColumn);
    const QVariant id = title.data(LibraryModel::DocumentIdRole);
    if (id.isValid()) {
        ids << id.toLongLong();
        titles << title.data().toString();
    } else {
        for (int row = 0; row < m_model->rowCount(title); ++row) {
            const QModelIndex child = m_model->index(row, LibraryModel::TitleColumn, title);
            const QVariant childId = child.data(LibraryModel::DocumentIdRole);
            if (childId.isValid() && !ids.contains(childId.toLongLong())) {
                ids << childId.toLongLong();
                titles << child.data().toString();
            }
        }
    }
    if (!ids.isEmpty())
        emit readWithModelRequested(ids, titles);
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
