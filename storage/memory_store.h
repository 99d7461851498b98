// The model's memory of documents in the library: checkpoints (state blobs), memory
// blocks (tokens, offsets, surprisal, importance, note events of a span between two
// checkpoints) and the reading run of each document. Schema version 3.
//
// Storage knows nothing of the model: every blob is opaque and stored with its format
// version, the fingerprint of the model and tokenizer that produced it (the
// "producer"), its codec, raw size and checksum; app/memory encodes and checks them.
// Positions are token positions of the producer's tokenization; char offsets count code
// points into the stored text, as everywhere in storage.
//
// Writes are append-only and atomic: commitStep() stores one block and the checkpoint at
// its end in one transaction, so a process killed at any moment leaves the memory ending
// at its last checkpoint, and reading resumes from there.
#pragma once

#include "storage/database.h"

#include <QByteArray>
#include <QString>
#include <QStringList>
#include <QVector>

#include <limits>
#include <optional>

namespace mm::storage {

struct CheckpointRecord {
    qint64 id = 0;
    qint64 docId = 0;
    QString fingerprint;
    qint64 position = 0;       ///< tokens read when the state was saved
    qint64 charOffset = 0;     ///< code points covered by those tokens
    QString kind;              ///< "chapter", "periodic", "final"
    int chapterIndex = -1;     ///< the chapter starting here ("chapter"), else -1
    int formatVersion = 0;     ///< of the blob
    QString codec;             ///< "zstd"
    qint64 rawBytes = 0;       ///< size after decompression
    QString checksum;          ///< of the raw bytes (the producer's choice of hash)
    qint64 storedBytes = 0;    ///< size of the blob
    qint64 createdAtMs = 0;
    QByteArray blob;           ///< only when asked for (checkpointBlob)
};

struct MemoryBlockRecord {
    qint64 id = 0;
    qint64 docId = 0;
    QString fingerprint;
    qint64 firstPosition = 0;  ///< tokens [firstPosition, endPosition)
    qint64 endPosition = 0;
    qint64 charStart = 0;      ///< code points [charStart, charEnd) those tokens cover
    qint64 charEnd = 0;
    int formatVersion = 0;
    QString codec;
    qint64 rawBytes = 0;
    QString checksum;
    qint64 storedBytes = 0;
    QByteArray data;           ///< only when asked for
};

struct MemoryRun {
    qint64 docId = 0;
    QString fingerprint;       ///< the producer reading (or having read) the document
    qint64 totalTokens = 0;
    qint64 doneTokens = 0;     ///< end of the last committed block
    QString settings;          ///< JSON, opaque (checkpoint interval, ...)
    qint64 startedAtMs = 0;
    qint64 updatedAtMs = 0;
};

/// One question about a document and its answer (the Q&A history). The JSON columns
/// are opaque to storage; app/memory/qa_record.h writes and reads them.
struct AnswerRow {
    qint64 id = 0;               ///< 0 when new
    qint64 docId = 0;
    qint64 askedAtMs = 0;
    QString question;
    qint64 asOfChar = -1;        ///< -1: the whole document
    QString answer;
    QString evidenceJson = QStringLiteral("[]");  ///< opaque to storage
    QString timingsJson = QStringLiteral("{}");   ///< opaque to storage
    bool finished = false;
    bool cancelled = false;
    QString error;
    qint64 position = -1;        ///< tokens read before the question; -1: not known
    int chapterIndex = -1;       ///< the chapter at the asked position
    QString chapterTitle;
    QString model;               ///< fingerprint of what answered
    QString supportJson = QStringLiteral("null");  ///< opaque to storage
    qint64 askId = -1;           ///< the asking front end's id, -1: none
    int format = 1;              ///< of the JSON columns; 1: written before schema 5
};

struct MemoryUsage {
    qint64 checkpoints = 0;
    qint64 checkpointBytes = 0;  ///< stored (compressed) bytes
    qint64 blocks = 0;
    qint64 blockBytes = 0;
};

class MemoryStore {
public:
    /// Works on db's connection (same thread rules as Database).
    explicit MemoryStore(Database& db);

    /// Starts reading docId with this producer, or continues a run of the same producer.
    /// Memory of any other producer is deleted first (it cannot be used with this model).
    /// The document's status becomes "reading". Returns the run as it now stands.
    MemoryRun beginRun(qint64 docId, const QString& fingerprint, qint64 totalTokens, const QString& settings);
    /// Stores one block and the checkpoint at its end (checkpoint.position ==
    /// block.endPosition) in one transaction and advances the run; final: the document
    /// becomes "ready" with documents.tokens = the run's total.
    void commitStep(qint64 docId, const MemoryBlockRecord& block, const CheckpointRecord& checkpoint, bool final);
    /// A checkpoint outside a step (the state before the first token, a chapter start
    /// that coincides with a block end is already one).
    void addCheckpoint(qint64 docId, const CheckpointRecord& checkpoint);

    std::optional<MemoryRun> run(qint64 docId) const;
    /// Producers with any memory of the document.
    QStringList producers(qint64 docId) const;
    /// Checkpoints of a producer by position, without blobs.
    QVector<CheckpointRecord> checkpoints(qint64 docId, const QString& fingerprint) const;
    /// The last checkpoint at or before position, without blob.
    std::optional<CheckpointRecord> checkpointAtOrBefore(qint64 docId, const QString& fingerprint, qint64 position) const;
    QByteArray checkpointBlob(qint64 checkpointId) const;
    /// Blocks overlapping the token range [from, to), by position; with data if asked.
    QVector<MemoryBlockRecord> blocks(qint64 docId, const QString& fingerprint, qint64 from = 0,
                                      qint64 to = std::numeric_limits<qint64>::max(), bool withData = true) const;
    /// The block holding the token that covers code point charOffset (or the last one
    /// before it).
    std::optional<MemoryBlockRecord> blockAtChar(qint64 docId, const QString& fingerprint, qint64 charOffset) const;
    /// Deletes blocks and checkpoints of the producer after position (a resumed run
    /// continues from the checkpoint at position).
    void truncateAfter(qint64 docId, const QString& fingerprint, qint64 position);
    /// Keeps the newest `keep` checkpoints of this kind (by creation) and deletes the rest.
    void pruneCheckpoints(qint64 docId, const QString& fingerprint, const QString& kind, int keep);
    /// Deletes all memory of the document; status back to "imported", tokens 0.
    void removeMemory(qint64 docId);
    MemoryUsage usage(qint64 docId) const;

    /// Stores a new answer (id 0; returns its id) or replaces the one with that id.
    qint64 saveAnswer(const AnswerRow& row);
    /// The document's answers, oldest first.
    QVector<AnswerRow> answers(qint64 docId) const;
    /// Every document's answers whose format is below `format`, by id.
    QVector<AnswerRow> answersBelowFormat(int format) const;

private:
    Database& m_db;
};

}  // namespace mm::storage
