#include "ui/library_model.h"

#include <QLocale>

namespace mm::ui {

namespace {
QList<QStandardItem*> documentRow(const storage::DocumentRecord& doc)
{
    auto* title = new QStandardItem(doc.title);
    title->setData(doc.id, LibraryModel::DocumentIdRole);
    // The whole title and author, for a column too narrow to show them (elided).
    title->setToolTip(doc.author.isEmpty() ? QStringLiteral("%1\n%2").arg(doc.title, doc.sourcePath)
                                           : QObject::tr("%1\nby %2\n%3").arg(doc.title, doc.author, doc.sourcePath));
    auto* author = new QStandardItem(doc.author);
    author->setToolTip(doc.author);
    auto* length = new QStandardItem(LibraryModel::formatLength(doc.characters));
    length->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    length->setToolTip(QObject::tr("%L1 characters").arg(doc.characters));
    QList<QStandardItem*> row{title, author, length};
    for (auto* item : row)
        item->setEditable(false);
    return row;
}

QList<QStandardItem*> groupRow(const QString& name, qint64 count)
{
    auto* title = new QStandardItem(name);
    QFont font = title->font();
    font.setBold(true);
    title->setFont(font);
    title->setToolTip(QObject::tr("%1: %n book(s)", nullptr, int(count)).arg(name));
    auto* author = new QStandardItem;
    auto* length = new QStandardItem(QObject::tr("%n book(s)", nullptr, int(count)));
    length->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    QList<QStandardItem*> row{title, author, length};
    for (auto* item : row) {
        item->setEditable(false);
        item->setSelectable(item == title);
    }
    return row;
}
}  // namespace

LibraryModel::LibraryModel(QObject* parent) : QStandardItemModel(0, ColumnCount, parent)
{
    setHorizontalHeaderLabels({tr("Title"), tr("Author"), tr("Length")});
}

QString LibraryModel::formatLength(qint64 characters)
{
    if (characters >= 1000000)
        return tr("%1M chars").arg(QLocale().toString(characters / 1.0e6, 'f', 1));
    if (characters >= 1000)
        return tr("%1k chars").arg(characters / 1000);
    return tr("%1 chars").arg(characters);
}

void LibraryModel::setSnapshot(const LibrarySnapshot& snapshot)
{
    removeRows(0, rowCount());
    auto allRow = groupRow(tr("All documents"), snapshot.documents.size());
    for (const auto& doc : snapshot.documents)
        allRow.first()->appendRow(documentRow(doc));
    appendRow(allRow);

    for (const auto& collection : snapshot.collections) {
        const auto docs = snapshot.documentsByCollection.value(collection.id);
        auto row = groupRow(collection.name, docs.size());
        for (const auto& doc : docs)
            row.first()->appendRow(documentRow(doc));
        appendRow(row);
    }
}

QModelIndex LibraryModel::indexOfDocument(qint64 docId) const
{
    const QStandardItem* all = item(0);
    if (!all)
        return {};
    for (int row = 0; row < all->rowCount(); ++row) {
        if (all->child(row)->data(DocumentIdRole).toLongLong() == docId)
            return all->child(row)->index();
    }
    return {};
}

QVector<qint64> LibraryModel::documentIds() const
{
    QVector<qint64> ids;
    if (const QStandardItem* all = item(0)) {
        for (int row = 0; row < all->rowCount(); ++row)
            ids << all->child(row)->data(DocumentIdRole).toLongLong();
    }
    return ids;
}

}  // namespace mm::ui
