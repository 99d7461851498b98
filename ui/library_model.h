// The library as a tree: "All documents", then each collection, each holding its
// documents (title, author, length). Rebuilt from a LibrarySnapshot.
#pragma once

#include "ui/library_types.h"

#include <QStandardItemModel>

namespace mm::ui {

class LibraryModel : public QStandardItemModel {
    Q_OBJECT
public:
    enum Roles { DocumentIdRole = Qt::UserRole + 1 };
    enum Columns { TitleColumn, AuthorColumn, LengthColumn, ColumnCount };

    explicit LibraryModel(QObject* parent = nullptr);

    void setSnapshot(const LibrarySnapshot& snapshot);
    /// The first row showing docId (under "All documents"), or an invalid index.
    QModelIndex indexOfDocument(qint64 docId) const;
    /// Document ids in the order of the "All documents" group.
    QVector<qint64> documentIds() const;

    static QString formatLength(qint64 characters);
};

}  // namespace mm::ui
