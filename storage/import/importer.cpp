#include "storage/import/importer.h"

#include "storage/text_offsets.h"

#include <QFileInfo>

namespace mm::import {
namespace {

void checkCancel(const ImportOptions& options)
{
    if (options.cancel && options.cancel->load())
        throw ImportCancelled();
}

void report(const ImportOptions& options, double fraction, const QString& stage)
{
    if (options.progress)
        options.progress(fraction, stage);
}

}  // namespace

ImportResult importFile(storage::Database& db, const QString& path, const ImportOptions& options)
{
    const QString reading = QStringLiteral("reading");
    const QString cutting = QStringLiteral("passages");
    const QString storing = QStringLiteral("storing");

    checkCancel(options);
    report(options, 0.0, reading);
    const DocumentReader* reader = ReaderRegistry::instance().readerFor(path);
    if (!reader)
        throw ImportError(QStringLiteral("'%1' has an unsupported format (supported: %2)")
                              .arg(QFileInfo(path).fileName(),
                                   ReaderRegistry::instance().supportedSuffixes().join(QStringLiteral(", ")))
                              .toStdString());
    const ImportedDocument imported = reader->read(path);

    checkCancel(options);
    report(options, 0.4, cutting);
    const QVector<storage::PassageSpan> passages = splitPassages(imported.text, imported.chapters);

    checkCancel(options);
    report(options, 0.6, storing);
    const storage::CodePointIndex index(imported.text);
    storage::NewDocument doc;
    doc.contentHash = imported.contentHash;
    doc.title = imported.title;
    doc.author = imported.author;
    doc.format = imported.format;
    doc.sourcePath = imported.sourcePath;
    doc.bytes = imported.bytes;
    doc.text = imported.text;
    doc.collection = options.collection;
    doc.passages = passages;
    for (const ImportedChapter& c : imported.chapters)
        doc.chapters.push_back({int(doc.chapters.size()), c.title, index.toCodePoint(c.utf16Offset)});
    // Last chance to cancel: after this the document is stored whole or not at all.
    checkCancel(options);
    const storage::Database::AddResult added = db.addDocument(doc);
    report(options, 1.0, storing);

    ImportResult result;
    result.docId = added.docId;
    result.alreadyPresent = added.alreadyPresent;
    if (added.alreadyPresent) {
        // Report what the library holds, not what this copy would have become.
        if (const std::optional<storage::DocumentRecord> existing = db.document(added.docId)) {
            result.title = existing->title;
            result.characters = existing->characters;
        }
        result.passages = db.passages(added.docId).size();
        result.chapters = db.chapters(added.docId).size();
    } else {
        result.title = doc.title;
        result.characters = index.codePointCount();
        result.passages = passages.size();
        result.chapters = doc.chapters.size();
    }
    return result;
}

}  // namespace mm::import
