// The model's memory of a document as the GUI sees it: plain value types, no storage,
// no torch. The memory module (ingest/ask/notes) fills them on its own thread and hands
// them to the widgets through MemoryService's queued signals, so each is copyable and a
// registered metatype. Positions come in two units, always named: `token` positions
// (the engine's absolute token index) and `char` positions (Unicode code points of the
// stored text, the unit of every other offset in the reader).
#pragma once

#include <QDateTime>
#include <QMetaType>
#include <QString>
#include <QVector>

#include <memory>

namespace mm::ui {

/// One insertion into a layer's note pool (engine's mm::NoteEvent, as stored).
struct MemoryNoteEvent {
    int layer = 0;
    qint64 position = 0;          ///< token noted (its absolute token position)
    float score = 0;              ///< its importance a_t, the entry's priority
    int slot = 0;                 ///< pool slot it went to
    qint64 evictedPosition = -1;  ///< token whose entry it replaced; -1 for an empty slot
};

/// A chapter start on the memory map.
struct MemoryChapterMark {
    qint64 charPosition = 0;
    QString title;
};

/// Everything the memory map draws for one document, per token. For a 1M-token book
/// with 8 layers: 8 MB of token offsets, 4 MB of surprisal, 32 MB of importance.
struct MemoryMapData {
    qint64 docId = 0;
    int layerCount = 0;
    int poolSize = 50;      ///< M, slots per layer
    int noteChunk = 128;    ///< C, tokens per note chunk (notes are written when one closes)
    qint64 textLength = 0;  ///< code points of the document's text
    /// tokenChars[i] = first code point of token i; ascending; size = token count.
    /// Token i ends where token i + 1 starts (the last one at textLength).
    QVector<qint64> tokenChars;
    /// Negative log-likelihood (nats) of each token; NaN where nothing predicts it.
    /// Empty when not stored.
    QVector<float> surprisal;
    /// [layer][token] importance a_t in (0, 1); empty when not stored (notes off).
    QVector<QVector<float>> importance;
    /// Every pool insertion, in order of occurrence (token position ascending).
    QVector<MemoryNoteEvent> notes;
    QVector<MemoryChapterMark> chapters;

    qint64 tokenCount() const { return tokenChars.size(); }
};

/// One pool entry as it stood at a reading position.
struct PoolEntry {
    int layer = 0;
    int slot = 0;
    qint64 tokenPosition = 0;  ///< the noted token
    qint64 charStart = 0;      ///< its text, [charStart, charEnd) in code points
    qint64 charEnd = 0;
    float score = 0;           ///< priority a_t
    qint64 ageTokens = 0;      ///< reading position (token) minus tokenPosition
    /// How strongly the last question's cross-token/cross-layer attention read this
    /// slot (0..1, summed over heads and answer tokens, normalised); < 0: not asked yet.
    float lastQuestionAttention = -1;
    QString context;           ///< a few words around the token
    int contextTokenStart = 0; ///< where the token sits in `context` (UTF-16 index)
    int contextTokenLength = 0;
};

/// A note that was in a pool before the reading position and has since been evicted.
struct EvictedNote {
    int layer = 0;
    qint64 tokenPosition = 0;
    qint64 charStart = 0;
    qint64 charEnd = 0;
    qint64 evictedAtToken = 0;  ///< the token whose note pushed it out
};

/// The pools of every layer at one reading position (docs/spec/MODEL.md: the pools as they stood
/// after the last note chunk that closed at or before the position).
struct PoolSnapshot {
    qint64 docId = 0;
    qint64 atChar = 0;
    qint64 atToken = 0;
    int layerCount = 0;
    int poolSize = 50;
    QVector<PoolEntry> entries;
    QVector<EvictedNote> evicted;
};

/// A question about one document.
struct AskRequest {
    enum Scope {
        AsOfPosition,  ///< the model has read only up to asOfChar (spoiler safe; default)
        WholeBook,     ///< the model has read the whole document
    };
    qint64 askId = 0;  ///< chosen by the GUI, echoed in every answer signal
    qint64 docId = 0;
    QString question;
    Scope scope = AsOfPosition;
    qint64 asOfChar = 0;
};

/// A passage an answer rests on: a note it attended to, or a full-text hit.
struct AnswerEvidence {
    enum Kind { Note, Passage };
    Kind kind = Passage;
    qint64 charStart = 0;
    qint64 charEnd = 0;
    QString chapter;   ///< chapter title ("" before the first chapter)
    int page = -1;     ///< page number where the format has pages, else -1
    QString snippet;   ///< the passage's text, short
    float weight = 0;  ///< attention weight (Note) or rank score (Passage), higher first
    int layer = -1;    ///< the note's layer (Note only)
};

/// Where the time of an answer went (the `ask` command's timings).
struct AnswerTimings {
    double stateLoadMs = -1;
    double firstTokenMs = -1;
    double totalMs = -1;
};

/// A question with its (possibly partial) answer: one entry of a document's Q&A history.
struct AnswerRecord {
    AskRequest request;
    QString answer;
    QVector<AnswerEvidence> evidence;
    AnswerTimings timings;
    QDateTime askedAt;
    bool finished = false;
    bool cancelled = false;
    QString error;  ///< non-empty when the answer failed; names the problem
};

/// One "Read with model" request in the ingest queue.
struct IngestJob {
    enum State { Queued, Running, Paused, Finished, Failed, Cancelled };
    qint64 jobId = 0;  ///< chosen by the service
    qint64 docId = 0;
    QString title;
    State state = Queued;
    qint64 tokensDone = 0;   ///< committed (a resumed ingest starts from its last checkpoint)
    qint64 tokensTotal = 0;  ///< 0 while not yet tokenized
    double tokensPerSecond = 0;  ///< measured over the last seconds; 0 while unknown
    QString error;
};

/// The device the model reads on, and what to expect of it.
struct MemoryDevice {
    QString name;                  ///< e.g. "CUDA GPU: NVIDIA H200" or "CPU (2 threads)"
    bool gpu = false;
    double expectedTokensPerSecond = 0;  ///< measured or benchmarked; 0 while unknown
};

/// What MemoryService::requestFidelity measures: the engine's fidelity protocol (`memmamba
/// eval fidelity`, docs/eval.md section 4) on excerpts of the document's own text.
struct FidelityRequest {
    qint64 docId = 0;
    int samples = 4;  ///< perturbed positions (one excerpt of the document each)
    /// Tokens after the perturbed token at which every layer's output is compared;
    /// those a short document cannot hold are left out of the result.
    QVector<qint64> distances{1, 4, 16, 64, 256, 1024, 4096};
    qint64 context = 256;      ///< tokens read before the perturbed one
    bool withAblation = true;  ///< also measure the same excerpts with the note pools emptied
};

/// The memory-fidelity curves of a document: the ETMF proxy per layer and distance,
/// etmf[l][i] = mean over samples of 1 - cos(out_l(t + d_i), out'_l(t + d_i)), where out'
/// is the read with token t replaced: how much a token still changes layer l's output
/// d_i tokens later (0: no trace left; range [0, 2]).
struct FidelityCurves {
    qint64 docId = 0;
    QVector<qint64> distances;           ///< ascending, in tokens
    int layerCount = 0;
    int samples = 0;                     ///< samples measured
    qint64 context = 0;                  ///< tokens read before each perturbed token
    qint64 documentTokens = 0;           ///< the document's tokens (excerpts come from them)
    QVector<QVector<double>> etmf;       ///< [layer][distance]
    QVector<QVector<double>> etmfNoPool; ///< [layer][distance] with the pools emptied; empty when not measured
    double seconds = 0;                  ///< how long the measurement took (0 when cached)
};

}  // namespace mm::ui

Q_DECLARE_METATYPE(mm::ui::FidelityRequest)
Q_DECLARE_METATYPE(mm::ui::FidelityCurves)
Q_DECLARE_METATYPE(mm::ui::MemoryNoteEvent)
Q_DECLARE_METATYPE(std::shared_ptr<const mm::ui::MemoryMapData>)
Q_DECLARE_METATYPE(mm::ui::PoolSnapshot)
Q_DECLARE_METATYPE(mm::ui::AskRequest)
Q_DECLARE_METATYPE(mm::ui::AnswerEvidence)
Q_DECLARE_METATYPE(mm::ui::AnswerRecord)
Q_DECLARE_METATYPE(mm::ui::IngestJob)
Q_DECLARE_METATYPE(mm::ui::MemoryDevice)
