// Value types the LibraryService hands from its thread to the widgets. They travel
// through queued signals, so each is copyable and registered as a Qt metatype.
#pragma once

#include "storage/database.h"

#include <QHash>
#include <QMetaType>
#include <QStringList>
#include <QVector>

namespace mm::ui {

/// The whole library as the panel shows it: every document, and each collection with
/// the documents in it.
struct LibrarySnapshot {
    QVector<storage::DocumentRecord> documents;
    QVector<storage::CollectionRecord> collections;
    QHash<qint64, QVector<storage::DocumentRecord>> documentsByCollection;
};

/// A document ready to be read: its text, chapters and where the reader left it.
struct OpenedDocument {
    storage::DocumentRecord record;
    QString text;
    QVector<storage::ChapterRecord> chapters;
    qint64 savedPosition = 0;  ///< code points; 0 when never read
    bool hasSession = false;
};

/// One finished import request (one file or a whole folder).
struct ImportOutcome {
    QVector<qint64> docIds;      ///< imported or already present, in request order
    QStringList titles;
    int newDocuments = 0;        ///< how many were not in the library before
    QStringList errors;          ///< one specific message per file that failed
    bool openFirst = false;      ///< the request asked to open the first document
};

}  // namespace mm::ui

Q_DECLARE_METATYPE(mm::storage::DocumentRecord)
Q_DECLARE_METATYPE(mm::storage::SearchHit)
Q_DECLARE_METATYPE(mm::ui::LibrarySnapshot)
Q_DECLARE_METATYPE(mm::ui::OpenedDocument)
Q_DECLARE_METATYPE(mm::ui::ImportOutcome)
