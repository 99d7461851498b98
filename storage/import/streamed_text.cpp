#include "storage/import/streamed_text.h"

#include "storage/import/text_decoding.h"
#include "storage/text_offsets.h"

#include <QCryptographicHash>
#include <QFile>
#include <QFileInfo>
#include <QStringDecoder>

#include <memory>

namespace mm::import {
namespace {

constexpr qint64 kPieceBytes = 1024 * 1024;

[[noreturn]] void refuse(const QString& path, const QString& problem)
{
    throw ImportError(QStringLiteral("'%1' %2").arg(QFileInfo(path).fileName(), problem).toStdString());
}

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

QByteArray readPiece(QFile& file, const QString& path)
{
    const QByteArray piece = file.read(kPieceBytes);
    if (file.error() != QFileDevice::NoError)
        throw ImportError(QStringLiteral("cannot read '%1': %2").arg(path, file.errorString()).toStdString());
    return piece;
}

/// First pass: hash, binary sniffing of the first piece, UTF-8 check of everything.
struct FirstPass {
    QString hash;
    qint64 bytes = 0;
    Utf8Scanner utf8;
};

FirstPass scanFile(QFile& file, const QString& path, const ImportOptions& options)
{
    FirstPass pass;
    QCryptographicHash hash(QCryptographicHash::Sha256);
    const qint64 size = file.size();
    bool first = true;
    for (;;) {
        const QByteArray piece = readPiece(file, path);
        if (piece.isEmpty())
            break;
        if (first) {
            if (const std::optional<QString> reason = binaryReason(piece))
                refuse(path, QStringLiteral("looks like a binary file, not text (%1)").arg(*reason));
            first = false;
        }
        hash.addData(piece);
        pass.bytes += piece.size();
        pass.utf8.feed(piece.constData(), piece.size());
        checkCancel(options);
        report(options, 0.2 * double(file.pos()) / double(std::max<qint64>(size, 1)), QStringLiteral("reading"));
    }
    pass.utf8.finish();
    pass.hash = QString::fromLatin1(hash.result().toHex());
    return pass;
}

/// Turns decoded pieces into blocks that end at a paragraph break, and each block into
/// chapters and passages stored through the writer.
class BlockStorer {
public:
    BlockStorer(storage::Database& db, const TextReaderBase& reader, storage::DocumentWriter::Header header)
        : m_db(db), m_reader(reader), m_header(std::move(header))
    {
    }

    bool alreadyPresent() const { return m_writer && m_writer->alreadyPresent(); }
    bool sawText() const { return m_sawText; }
    storage::DocumentWriter& writer() { return *m_writer; }
    int chapters() const { return m_chapters; }
    int passages() const { return m_passages; }
    const QString& title() const { return m_header.title; }

    /// Appends decoded text; stores every whole block it completes.
    void append(const QString& text)
    {
        m_pending += text;
        while (m_pending.size() >= kStreamBlockChars && !alreadyPresent())
            storeBlock(cutPoint());
    }

    void finish()
    {
        if (!m_pending.isEmpty() && !alreadyPresent())
            storeBlock(m_pending.size());
        if (!m_writer)
            open(QString());
    }

private:
    /// After the last blank line in the block, else the last line break, else a hard
    /// cut that keeps surrogate pairs whole.
    qsizetype cutPoint() const
    {
        const qsizetype half = kStreamBlockChars / 2;
        qsizetype cut = m_pending.lastIndexOf(QLatin1String("\n\n"), kStreamBlockChars - 2);
        if (cut >= half)
            return cut + 2;
        cut = m_pending.lastIndexOf(QLatin1Char('\n'), kStreamBlockChars - 1);
        if (cut >= half)
            return cut + 1;
        cut = kStreamBlockChars;
        if (m_pending.at(cut - 1).isHighSurrogate())
            --cut;
        return cut;
    }

    void open(const QString& firstBlock)
    {
        const TitleAuthor guess = m_reader.guessTitleAuthor(firstBlock.left(256 * 1024));
        if (!guess.title.trimmed().isEmpty())
            m_header.title = guess.title;
        m_header.author = guess.author;
        m_writer = std::make_unique<storage::DocumentWriter>(m_db, m_header);
    }

    void storeBlock(qsizetype cut)
    {
        const QString block = m_pending.left(cut);
        m_pending.remove(0, cut);
        if (!m_writer)
            open(block);
        if (m_writer->alreadyPresent())
            return;
        for (QChar c : block) {
            if (!c.isSpace()) {
                m_sawText = true;
                break;
            }
        }
        const storage::CodePointIndex index(block);
        const qint64 base = m_writer->characters();
        const QVector<ImportedChapter> chapters = m_reader.detectChapters(block);
        const int chapterBase = m_chapters;
        for (const ImportedChapter& c : chapters)
            m_writer->addChapter(c.title, base + index.toCodePoint(c.utf16Offset));
        m_chapters += chapters.size();
        for (const storage::PassageSpan& p : splitPassages(block, chapters)) {
            const qint64 from = index.toUtf16(p.charStart);
            const qint64 to = index.toUtf16(p.charEnd);
            // Before the block's first heading the previous block's last chapter goes on.
            const int chapter = p.chapterIndex >= 0 ? chapterBase + p.chapterIndex : chapterBase - 1;
            m_writer->addPassage(block.mid(from, to - from), chapter);
            ++m_passages;
        }
    }

    storage::Database& m_db;
    const TextReaderBase& m_reader;
    storage::DocumentWriter::Header m_header;
    std::unique_ptr<storage::DocumentWriter> m_writer;
    QString m_pending;
    int m_chapters = 0;
    int m_passages = 0;
    bool m_sawText = false;
};

/// CRLF and CR -> LF across piece boundaries: a CR ending a piece waits for the next.
class LineEndingNormalizer {
public:
    QString apply(QString text, bool last)
    {
        if (m_heldCr) {
            text.prepend(QLatin1Char('\r'));
            m_heldCr = false;
        }
        if (!last && text.endsWith(QLatin1Char('\r'))) {
            text.chop(1);
            m_heldCr = true;
        }
        return normalizeLineEndings(std::move(text));
    }

private:
    bool m_heldCr = false;
};

}  // namespace

ImportResult importStreamedText(storage::Database& db, const QString& path, const TextReaderBase& reader,
                                const ImportOptions& options)
{
    const QFileInfo info(path);
    if (info.size() > TextReaderBase::kMaxStreamedBytes)
        refuse(path, QStringLiteral("is too large to import (%1 MB; the limit is %2 MB)")
                         .arg(info.size() / (1024 * 1024)).arg(TextReaderBase::kMaxStreamedBytes / (1024 * 1024)));
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        throw ImportError(QStringLiteral("cannot read '%1': %2").arg(path, file.errorString()).toStdString());
    if (file.size() == 0)
        refuse(path, QStringLiteral("is empty"));

    const FirstPass pass = scanFile(file, path, options);
    const bool utf8 = pass.utf8.valid() || pass.utf8.mostlyUtf8();

    storage::DocumentWriter::Header header;
    header.contentHash = pass.hash;
    header.title = info.completeBaseName();
    header.format = reader.format();
    header.sourcePath = info.absoluteFilePath();
    header.bytes = info.size();
    header.collection = options.collection;
    BlockStorer storer(db, reader, header);

    if (!file.seek(0))
        throw ImportError(QStringLiteral("cannot read '%1': %2").arg(path, file.errorString()).toStdString());
    // Stateful: a sequence split between pieces decodes whole; invalid bytes become
    // U+FFFD; the BOM is dropped.
    QStringDecoder decoder(QStringConverter::Utf8);
    LineEndingNormalizer lineEndings;
    // The file is read twice; what is stored must be the bytes that were hashed, so the
    // second pass hashes again (about 1.3 s of CPU for 500 MB) and a file that changed,
    // shrank or grew in between is refused before anything is committed.
    QCryptographicHash hashAgain(QCryptographicHash::Sha256);
    qint64 bytesAgain = 0;
    while (!storer.alreadyPresent()) {
        const QByteArray piece = readPiece(file, path);
        hashAgain.addData(piece);
        bytesAgain += piece.size();
        const bool last = piece.isEmpty();
        const QString decoded = last ? QString() : utf8 ? decoder.decode(piece) : decodeWindows1252(piece);
        storer.append(lineEndings.apply(decoded, last));
        if (last)
            break;
        checkCancel(options);
        report(options, 0.2 + 0.8 * double(file.pos()) / double(file.size()), QStringLiteral("storing"));
    }
    storer.finish();

    ImportResult result;
    if (storer.alreadyPresent()) {
        const storage::Database::AddResult added = storer.writer().commit();
        result.docId = added.docId;
        result.alreadyPresent = true;
        if (const std::optional<storage::DocumentRecord> existing = db.document(added.docId)) {
            result.title = existing->title;
            result.characters = existing->characters;
        }
        result.passages = db.passageCount(added.docId);
        result.chapters = db.chapters(added.docId).size();
        return result;
    }
    if (bytesAgain != pass.bytes || QString::fromLatin1(hashAgain.result().toHex()) != pass.hash)
        refuse(path, QStringLiteral("changed while it was being imported (%1 bytes when first read, %2 bytes the second time); "
                                    "nothing was stored: import it again once it is complete")
                         .arg(pass.bytes).arg(bytesAgain));
    if (!storer.sawText())
        refuse(path, QStringLiteral("is empty"));
    checkCancel(options);
    const storage::Database::AddResult added = storer.writer().commit();
    report(options, 1.0, QStringLiteral("storing"));
    result.docId = added.docId;
    result.title = storer.title();
    result.characters = storer.writer().characters();
    result.passages = storer.passages();
    result.chapters = storer.chapters();
    if (!pass.utf8.valid() && utf8)
        result.warning = QStringLiteral("'%1' %2").arg(info.fileName(),
                                                       invalidUtf8Warning(pass.utf8.invalidBytes(), pass.utf8.firstInvalidOffset()));
    return result;
}

}  // namespace mm::import
