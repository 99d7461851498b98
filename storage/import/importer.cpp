#include "storage/import/importer.h"

#include "storage/import/streamed_text.h"
#include "storage/import/text_reader.h"
#include "storage/text_offsets.h"

#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>

#include <algorithm>

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

void assignPages(QVector<storage::PassageSpan>& passages, const QString& text, const QVector<qint64>& pageStarts)
{
    if (pageStarts.isEmpty())
        return;
    const storage::CodePointIndex index(text);
    QVector<qint64> starts;  // code points
    starts.reserve(pageStarts.size());
    for (qint64 utf16 : pageStarts)
        starts.push_back(index.toCodePoint(utf16));
    for (storage::PassageSpan& p : passages) {
        // The last page starting at or before the passage's first character.
        const auto after = std::upper_bound(starts.begin(), starts.end(), p.charStart);
        p.page = int(std::max<qsizetype>(after - starts.begin(), 1));
    }
}

QString fileContentHash(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        throw ImportError(QStringLiteral("cannot read '%1': %2").arg(path, file.errorString()).toStdString());
    QCryptographicHash hash(QCryptographicHash::Sha256);
    if (!hash.addData(&file))
        throw ImportError(QStringLiteral("cannot read '%1': %2").arg(path, file.errorString()).toStdString());
    return QString::fromLatin1(hash.result().toHex());
}

ImportResult importFile(storage::Database& db, const QString& path, const ImportOptions& options)
{
    const QString reading = QStringLiteral("reading");
    const QString cutting = QStringLiteral("passages");
    const QString storing = QStringLiteral("storing");

    checkCancel(options);
    report(options, 0.0, reading);
    const DocumentReader* reader = ReaderRegistry::instance().readerForContent(path);
    if (reader->canStream() && QFileInfo(path).size() > options.streamAboveBytes)
        return importStreamedText(db, path, static_cast<const TextReaderBase&>(*reader), options);
    ImportedDocument imported = reader->read(path);
    // A paged document without an outline (most PDFs made from word processors) still
    // has its chapter headings in the text.
    if (imported.chapters.isEmpty() && (reader->capabilities() & Pages))
        imported.chapters = detectTextChapters(imported.text);

    checkCancel(options);
    report(options, 0.4, cutting);
    QVector<storage::PassageSpan> passages = splitPassages(imported.text, imported.chapters);
    assignPages(passages, imported.text, imported.pageStarts);

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
    result.warning = imported.warning;
    if (added.alreadyPresent) {
        // Report what the library holds, not what this copy would have become.
        if (const std::optional<storage::DocumentRecord> existing = db.document(added.docId)) {
            result.title = existing->title;
            result.characters = existing->characters;
        }
        result.passages = db.passageCount(added.docId);
        result.chapters = db.chapters(added.docId).size();
    } else {
        result.title = doc.title;
        result.characters = index.codePointCount();
        result.passages = passages.size();
        result.chapters = doc.chapters.size();
    }
    return result;
}

QVector<FolderImportEntry> importFolder(storage::Database& db, const QString& dir, const ImportOptions& options)
{
    const QFileInfo dirInfo(dir);
    if (!dirInfo.isDir())
        throw ImportError(QStringLiteral("cannot import '%1': it is not a folder").arg(dir).toStdString());
    if (!dirInfo.isReadable())
        throw ImportError(QStringLiteral("cannot import '%1': the folder is not readable").arg(dir).toStdString());

    ImportOptions fileOptions = options;
    if (fileOptions.collection.trimmed().isEmpty())
        fileOptions.collection = QDir(dirInfo.absoluteFilePath()).dirName();
    const qint64 collectionId = db.ensureCollection(fileOptions.collection);

    // Supported suffixes only: a folder of books also holds covers, notes and scripts.
    const QStringList suffixes = ReaderRegistry::instance().supportedSuffixes();
    QStringList files;
    QDirIterator it(dirInfo.absoluteFilePath(), QDir::Files | QDir::Readable | QDir::NoDotAndDotDot,
                    QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString file = it.next();
        if (suffixes.contains(QFileInfo(file).suffix().toLower()))
            files << file;
    }
    std::sort(files.begin(), files.end());

    QSet<QString> hashesInCollection;
    for (const storage::DocumentRecord& d : db.documents(collectionId))
        hashesInCollection.insert(d.contentHash);

    QVector<FolderImportEntry> entries;
    entries.reserve(files.size());
    for (qsizetype i = 0; i < files.size(); ++i) {
        const QString& file = files[i];
        checkCancel(options);
        FolderImportEntry entry;
        entry.path = file;
        if (options.progress) {
            // The fraction is the folder's (5,000 small files must not each run 0 to 100 %);
            // the stage names the file.
            const QString name = QDir(dirInfo.absoluteFilePath()).relativeFilePath(file);
            const double count = double(files.size());
            fileOptions.progress = [&options, name, i, count](double fraction, const QString& stage) {
                options.progress((double(i) + std::clamp(fraction, 0.0, 1.0)) / count, name + QStringLiteral(": ") + stage);
            };
        }
        try {
            const QString hash = fileContentHash(file);
            if (hashesInCollection.contains(hash)) {
                entry.outcome = FolderImportEntry::Outcome::Unchanged;
                entry.result.docId = db.documentByHash(hash).value_or(0);
                if (const auto existing = db.document(entry.result.docId)) {
                    entry.result.title = existing->title;
                    entry.result.characters = existing->characters;
                }
                entry.result.alreadyPresent = true;
                entries.push_back(entry);
                continue;
            }
            const QString sourcePath = QFileInfo(file).absoluteFilePath();
            const QVector<qint64> previous = db.documentsAtPath(collectionId, sourcePath);
            entry.result = importFile(db, file, fileOptions);
            hashesInCollection.insert(hash);
            // The new version is stored; only now drop the old one of the same path.
            bool replaced = false;
            for (qint64 old : previous) {
                if (old != entry.result.docId) {
                    db.removeDocument(old);
                    replaced = true;
                }
            }
            entry.outcome = replaced ? FolderImportEntry::Outcome::Replaced : FolderImportEntry::Outcome::Imported;
        } catch (const ImportCancelled&) {
            throw;
        } catch (const std::exception& e) {
            entry.outcome = FolderImportEntry::Outcome::Failed;
            entry.error = QString::fromStdString(e.what());
        }
        entries.push_back(entry);
    }
    return entries;
}

}  // namespace mm::import
