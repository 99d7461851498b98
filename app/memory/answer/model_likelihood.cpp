#include "app/memory/answer/model_likelihood.h"

#include "storage/memory_store.h"

#include <QElapsedTimer>
#include <QtConcurrent/QtConcurrentRun>

#include <cmath>
#include <functional>

namespace mm::answer {
namespace {

// Folded: the prompt read with each answer in the answers' one batched pass. On CUDA a pass
// is bound by kernel launches, so 5 rows of 20 tokens should cost about what 5 rows of 5 do,
// and the separate read of the prompt beside the text pipeline (a thread launching kernels
// while the pipeline runs, which slows the pipeline by a third on the GPU host) would be
// gone; but rows that long cross a note chunk's end more often (a host walk per layer).
// Not yet timed on the GPU machine (docs/results.md), so separate is the default on every
// device; on the CPU it is also the faster (the prompt overlaps the pipeline on another
// core; folded, the pass's arithmetic grows with its rows: answers 36 vs 18 ms p50).
// MEMMAMBA_ANSWER_PROMPT=folded|separate chooses.
bool foldPrompt()
{
    return qEnvironmentVariable("MEMMAMBA_ANSWER_PROMPT") == QLatin1String("folded");
}

}  // namespace

ModelLikelihood::ModelLikelihood(storage::Database& db, const Model& model, const Tokenizer& tokenizer,
                                 std::optional<bool> fold)
    : m_db(db), m_model(model), m_tokenizer(tokenizer), m_memory(db, model, tokenizer),
      m_fold(fold ? *fold : foldPrompt())
{
}

ModelLikelihood::~ModelLikelihood()
{
    m_pending.waitForFinished();  // its decode uses m_memory, its read m_reader
}

Likelihood ModelLikelihood::at(qint64 docId, qint64 atChar)
{
    Likelihood l;
    l.prepare = [this, docId, atChar](const QString& question) { prepare(docId, atChar, question); };
    l.score = [this, docId, atChar](const QString& question, const QStringList& answers) {
        return score(docId, atChar, question, answers);
    };
    l.stateLoadMs = [this] { return m_stateLoadMs; };
    l.timings = [this] { return m_timings; };
    return l;
}

void ModelLikelihood::prepare(qint64 docId, qint64 atChar, const QString& question)
{
    harvest();  // one question at a time: the cached state is shared
    m_pendingDoc = docId;
    m_pendingAt = atChar;
    m_pendingQuestion = question;
    QElapsedTimer timer;
    timer.start();
    // The start state: the cached one, or the checkpoint found here (this thread's database)
    // and its bytes read and decoded beside the text pipeline (decode): a checkpoint is
    // megabytes, and reading them here made the answer's own queries wait (up to 7 ms).
    std::shared_ptr<const State> cached;
    memory::CheckpointDecoder decode;
    qint64 checkpointPosition = -1;
    try {
        const memory::MemoryStatus status = m_memory.status(docId);
        if (status.state == memory::MemoryState::Ready || status.state == memory::MemoryState::Reading) {
            // The checkpoint whose characters end at or before the position (its char_offset:
            // no token lookup, which would decode memory blocks).
            std::optional<storage::CheckpointRecord> checkpoint;
            for (const storage::CheckpointRecord& c :
                 storage::MemoryStore(m_db).checkpoints(docId, QString::fromStdString(m_memory.producer())))
                if (c.charOffset <= atChar && (!checkpoint || c.position > checkpoint->position))
                    checkpoint = c;
            if (checkpoint) {
                checkpointPosition = checkpoint->position;
                if (m_cached && m_cachedDoc == docId && m_cachedPosition == checkpointPosition)
                    cached = m_cached;
                else
                    decode = m_memory.checkpointDecoder(docId, checkpointPosition);
            }
        }
    } catch (const memory::MemoryError&) {
        decode = {};  // stale, damaged or not read: answered without the model
    }
    m_readMs = double(timer.nsecsElapsed()) / 1e6;
    m_stateLoadMs = m_readMs;
    if (!cached && !decode.decode) {
        m_pending = QtFuture::makeReadyFuture(Prompted{});
        return;
    }
    std::vector<int32_t> prompt{m_tokenizer.questionId()};
    for (int32_t id : m_tokenizer.encode(question.toStdString()))
        prompt.push_back(id);
    prompt.push_back(m_tokenizer.answerId());
    m_pendingPrompt = prompt;
    // From here not this thread's database: the checkpoint's bytes come through a connection
    // of the prompt's own (m_reader; one question is read at a time, harvest()), so this is
    // safe beside the text pipeline's queries.
    auto readPrompt = [this, cached, decode = std::move(decode), prompt = std::move(prompt),
                       checkpointPosition]() -> Prompted {
        Prompted out;
        out.position = checkpointPosition;
        try {
            QElapsedTimer decoding;
            decoding.start();
            if (!cached) {
                if (!m_reader)
                    m_reader = std::make_unique<storage::Database>(m_db.path());
                out.start = std::make_shared<const State>(
                    decode.decode(storage::MemoryStore(*m_reader).checkpointBlob(decode.checkpointId)));
            } else {
                out.start = cached;
            }
            out.decodeMs = cached ? 0.0 : double(decoding.nsecsElapsed()) / 1e6;
            if (m_fold)
                return out;  // the prompt is read with the answers (score)
            ReadOptions quiet;
            quiet.importance = false;
            quiet.noteEvents = false;
            quiet.surprisal = false;
            QElapsedTimer prompting;
            prompting.start();
            State s = out.start->clone();
            m_model.read(s, prompt, quiet);
            out.prompted = std::make_shared<const State>(std::move(s));
            out.promptMs = double(prompting.nsecsElapsed()) / 1e6;
        } catch (const std::exception&) {
            // A damaged checkpoint, an unreadable library or an engine error: answered without the model.
            out.prompted.reset();
        }
        return out;
    };
    // MEMMAMBA_ANSWER_OVERLAP=off: decode the state and read the question here, before the
    // text pipeline (to measure what the overlap saves).
    static const bool overlap = qEnvironmentVariable("MEMMAMBA_ANSWER_OVERLAP") != QLatin1String("off");
    if (overlap)
        m_pending = QtConcurrent::run(std::move(readPrompt));
    else
        m_pending = QtFuture::makeReadyFuture(readPrompt());
}

void ModelLikelihood::harvest()
{
    if (!m_pending.isValid())
        return;
    m_pending.waitForFinished();
    const Prompted& p = m_pending.result();
    if (p.start) {
        m_cached = p.start;
        m_cachedDoc = m_pendingDoc;
        m_cachedPosition = p.position;
    }
    m_stateLoadMs = m_readMs + p.decodeMs;
}

std::shared_ptr<const State> ModelLikelihood::promptedFor(qint64 docId, qint64 atChar, const QString& question)
{
    if (!m_pending.isValid() || m_pendingDoc != docId || m_pendingAt != atChar || m_pendingQuestion != question)
        prepare(docId, atChar, question);
    harvest();
    return m_fold ? m_pending.result().start : m_pending.result().prompted;
}

std::optional<QVector<double>> ModelLikelihood::score(qint64 docId, qint64 atChar, const QString& question,
                                                      const QStringList& answers)
{
    m_timings = {};
    QElapsedTimer timer;
    timer.start();
    const std::shared_ptr<const State> prompted = promptedFor(docId, atChar, question);
    m_timings.waitMs = double(timer.nsecsElapsed()) / 1e6;
    m_timings.promptMs = m_pending.isValid() ? m_pending.result().promptMs : 0.0;
    if (!prompted)
        return std::nullopt;
    // Folded: each read is "<q> question <a> answer" from the checkpoint's state, and only
    // the answer's tokens count (their surprisal after the whole prompt, as when separate).
    const size_t skip = m_fold ? m_pendingPrompt.size() : 0;
    std::vector<std::vector<int32_t>> reads;
    for (const QString& answer : answers) {
        std::vector<int32_t> ids = m_fold ? m_pendingPrompt : std::vector<int32_t>{};
        for (int32_t id : m_tokenizer.encode((QStringLiteral(" ") + answer).toStdString()))
            ids.push_back(id);
        ids.push_back(m_tokenizer.eosId());
        reads.push_back(std::move(ids));
    }
    ReadOptions quiet;
    quiet.importance = false;
    quiet.noteEvents = false;
    try {
        QVector<double> out;
        timer.restart();
        const std::vector<ReadResult> results = m_model.readEach(*prompted, reads, quiet);
        m_timings.answersMs = double(timer.nsecsElapsed()) / 1e6;
        for (const ReadResult& r : results) {
            double sum = 0;
            int n = 0;
            for (size_t k = skip; k < r.surprisal.size(); ++k)
                if (const float v = r.surprisal[k]; std::isfinite(v)) {
                    sum += double(v);
                    ++n;
                }
            out.push_back(n > 0 ? -sum / double(n) : 0.0);
        }
        return out;
    } catch (const EngineError&) {
        return std::nullopt;
    }
}

}  // namespace mm::answer
