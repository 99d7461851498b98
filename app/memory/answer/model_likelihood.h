// The MemMamba model's part in answering: how likely each candidate answer is after the
// question, read from the stored state nearest at or before the reading position (a
// checkpoint: no replay of the tokens between it and the position, so a question costs
// one state load and a few dozen tokens). The prompt is the memory's question layout,
// "<q> question <a> answer" (docs/memory.md). Spoiler-safe: the state has read nothing
// after the position.
//
// Latency: prepare() finds the checkpoint and starts reading its bytes from the library
// (a connection of its own), decoding them and reading "<q> question <a>" on a thread of its
// own while the text pipeline retrieves and ranks; score() reads the answers from there at
// once (Model::readEach: one batched pass). Folded (MEMMAMBA_ANSWER_PROMPT=folded), that
// thread only decodes, and score() reads "<q> question <a> answer" for every answer at once.
// Read ahead (on CUDA): once the pipeline has found its candidate answers, offer() reads
// them all in one batched pass on that thread while the pipeline classifies and ranks them;
// score() takes the best few's values from there and reads only those not among them.
#pragma once

#include "app/memory/answer/answerer.h"
#include "app/memory/memory.h"
#include "engine/engine.h"
#include "engine/tokenizer/tokenizer.h"
#include "storage/database.h"

#include <QFuture>
#include <QHash>

#include <memory>
#include <optional>

namespace mm::answer {

class ModelLikelihood {
public:
    /// foldPrompt: read the prompt with each answer (true) or beside the text pipeline
    /// (false); none: MEMMAMBA_ANSWER_PROMPT (model_likelihood.cpp foldPrompt).
    /// readAhead: read the offered answers ahead (true) or only those scored (false); none:
    /// MEMMAMBA_ANSWER_AHEAD=on|off, else on where the model is on CUDA.
    ModelLikelihood(storage::Database& db, const Model& model, const Tokenizer& tokenizer,
                    std::optional<bool> foldPrompt = std::nullopt, std::optional<bool> readAhead = std::nullopt);
    ~ModelLikelihood();  ///< waits for a question still being read

    /// The model's part for questions about docId at atChar: prepare + score. score gives
    /// none when the document's memory cannot serve (not read by this model, stale, not
    /// read as far as the nearest checkpoint); the answer is then scored without the model.
    Likelihood at(qint64 docId, qint64 atChar);

    /// Finds the checkpoint at or before atChar (on this thread: the database is this
    /// thread's) and starts reading its bytes (another connection), decoding them and
    /// reading "<q> question <a>" from it on another thread.
    void prepare(qint64 docId, qint64 atChar, const QString& question);
    /// The answers the prepared question may be scored on (at most kAheadRows, in the order
    /// given): with read-ahead on, read on prepare()'s thread once its prompt is read, in
    /// one batched pass (Model::readEach, branchesOnly). Nothing when the question is not
    /// the prepared one or read-ahead is off.
    void offer(qint64 docId, qint64 atChar, const QString& question, const QStringList& answers);
    static constexpr int kAheadRows = 256;
    /// Mean log-probability per token of each answer after "<q> question <a>" from the
    /// checkpoint at or before atChar; none when there is no usable checkpoint. Uses the
    /// prepared question when it matches, else prepares it first.
    std::optional<QVector<double>> score(qint64 docId, qint64 atChar, const QString& question, const QStringList& answers);

    double lastStateLoadMs() const { return m_stateLoadMs; }
    /// Where the last score()'s time went: waiting for the prompt's thread, and reading the
    /// answers; and how long that thread took to read "<q> question <a>" (after decoding).
    ModelTimings lastTimings() const { return m_timings; }

private:
    /// What the thread of prepare() gives back: the start state (kept for the next
    /// question at the same checkpoint) and the state after "<q> question <a>".
    struct Prompted {
        std::shared_ptr<const State> start;
        std::shared_ptr<const State> prompted;  ///< null when the memory cannot serve
        qint64 position = -1;                   ///< the checkpoint's token position (of m_pendingDoc)
        double decodeMs = 0;
        double promptMs = 0;
    };
    /// The state the answers are read from (prepared now if it was not): after "<q> question
    /// <a>", or the checkpoint's own when the prompt is folded into the answers' reads; null
    /// when the memory cannot serve.
    std::shared_ptr<const State> promptedFor(qint64 docId, qint64 atChar, const QString& question);
    /// Waits for the question being read; keeps its start state and the load time.
    void harvest();
    /// "<q> question <a>" (folded) and " answer </s>" as tokens.
    std::vector<int32_t> answerRow(const QString& answer) const;
    /// What offer()'s pass gives back: each answer read and its value.
    struct Ahead {
        QHash<QString, double> values;
        int rows = 0;  ///< answers offered to the pass
        double ms = 0;
    };

    storage::Database& m_db;
    const Model& m_model;
    const Tokenizer& m_tokenizer;
    memory::DocumentMemory m_memory;
    /// The library again, for the checkpoints' bytes on prepare()'s thread (opened there on
    /// first use; a connection is used by one thread at a time).
    std::unique_ptr<storage::Database> m_reader;
    // The last checkpoint's state, kept: questions at nearby positions share it.
    qint64 m_cachedDoc = -1;
    qint64 m_cachedPosition = -1;
    std::shared_ptr<const State> m_cached;
    // The question being read (prepare) and for what.
    qint64 m_pendingDoc = -1;
    qint64 m_pendingAt = -1;
    QString m_pendingQuestion;
    std::vector<int32_t> m_pendingPrompt;  ///< "<q> question <a>" as tokens
    /// The prompt read with each answer in their one pass instead of beside the text pipeline
    /// (model_likelihood.cpp foldPrompt).
    const bool m_fold;
    QFuture<Prompted> m_pending;
    const bool m_readAhead;
    QFuture<Ahead> m_ahead;  ///< of the pending question, when offered
    double m_readMs = 0;       ///< finding the checkpoint (this thread)
    double m_stateLoadMs = 0;  ///< that, and reading and decoding its bytes (the other)
    ModelTimings m_timings;
};

}  // namespace mm::answer
