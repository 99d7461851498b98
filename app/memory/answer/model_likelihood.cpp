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
// Timed on an H100 it changed nothing beyond the spread between runs (docs/results.md "The
// answers read ahead"), so separate is the default on every device; on the CPU it is the faster (the prompt overlaps the pipeline on another
// core; folded, the pass's arithmetic grows with its rows: answers 36 vs 18 ms p50).
// MEMMAMBA_ANSWER_PROMPT=folded|separate chooses.
bool foldPrompt()
{
    return qEnvironmentVariable("MEMMAMBA_ANSWER_PROMPT") == QLatin1String("folded");
}

// Read ahead: the GPU is idle while the text pipeline classifies and ranks the candidates
// (about a third of its time), and a batched pass of a hundred short rows costs about what
// one of five does there (launch-bound), so the answers' pass leaves the answer's critical
// path. On the CPU the pass's arithmetic grows with its rows (a hundred rows on 2 cores
// would outlast the whole answer): off there. MEMMAMBA_ANSWER_AHEAD=on|off chooses.
bool readAheadOn(const Model& model)
{
    const QString env = qEnvironmentVariable("MEMMAMBA_ANSWER_AHEAD");
    if (env == QLatin1String("on"))
        return true;
    if (env == QLatin1String("off"))
        return false;
    return model.info().device.rfind("cuda", 0) == 0;
}

// The read options of every answer read: surprisal only.
ReadOptions quietRead()
{
    ReadOptions quiet;
    quiet.importance = false;
    quiet.noteEvents = false;
    quiet.surprisal = true;
    return quiet;
}

// Mean log-probability per token of a read answer, its first `skip` tokens (the folded
// prompt) left out.
double meanLogProbability(const ReadResult& r, size_t skip)
{
    double sum = 0;
    int n = 0;
    for (size_t k = skip; k < r.surprisal.size(); ++k)
        if (const float v = r.surprisal[k]; std::isfinite(v)) {
            sum += double(v);
            ++n;
        }
    return n > 0 ? -sum / double(n) : 0.0;
}

}  // namespace

ModelLikelihood::ModelLikelihood(storage::Database& db, const Model& model, const Tokenizer& tokenizer,
                                 std::optional<bool> fold, std::optional<bool> readAhead)
    : m_db(db), m_model(model), m_tokenizer(tokenizer), m_memory(db, model, tokenizer),
      m_fold(fold ? *fold : foldPrompt()), m_readAhead(readAhead ? *readAhead : readAheadOn(model))
{
}

ModelLikelihood::~ModelLikelihood()
{
    m_ahead.waitForFinished();    // it reads the model from the prompt's state
    m_pending.waitForFinished();  // its decode uses m_memory, its read m_reader
}

Likelihood ModelLikelihood::at(qint64 docId, qint64 atChar)
{
    Likelihood l;
    l.prepare = [this, docId, atChar](const QString& question) { prepare(docId, atChar, question); };
    if (m_readAhead)  // else the pipeline need not list its candidates
        l.offer = [this, docId, atChar](const QString& question, const QStringList& answers) {
            offer(docId, atChar, question, answers);
        };
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
    m_ahead.waitForFinished();
    m_ahead = QFuture<Ahead>();
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
            ReadOptions quiet = quietRead();
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

std::vector<int32_t> ModelLikelihood::answerRow(const QString& answer) const
{
    std::vector<int32_t> ids = m_fold ? m_pendingPrompt : std::vector<int32_t>{};
    for (int32_t id : m_tokenizer.encode((QStringLiteral(" ") + answer).toStdString()))
        ids.push_back(id);
    ids.push_back(m_tokenizer.eosId());
    return ids;
}

void ModelLikelihood::offer(qint64 docId, qint64 atChar, const QString& question, const QStringList& answers)
{
    if (!m_readAhead || !m_pending.isValid() || m_pendingDoc != docId || m_pendingAt != atChar || m_pendingQuestion != question)
        return;
    m_ahead.waitForFinished();  // offered twice: the later offer counts
    QStringList texts;
    std::vector<std::vector<int32_t>> rows;
    for (const QString& a : answers) {
        if (texts.size() >= kAheadRows)
            break;
        texts << a;
        rows.push_back(answerRow(a));  // tokenised here: the tokenizer stays on this thread
    }
    if (rows.empty()) {
        m_ahead = QFuture<Ahead>();
        return;
    }
    const size_t skip = m_fold ? m_pendingPrompt.size() : 0;
    // After the prompt's read, on the pool (not this thread: it goes on classifying and
    // ranking). Only what one batched pass reads: an answer beyond its reach is read by
    // score() if it is among the best.
    m_ahead = QtConcurrent::run([this, pending = m_pending, texts = std::move(texts), rows = std::move(rows), skip]() mutable {
        Ahead out;
        out.rows = int(rows.size());
        pending.waitForFinished();
        const Prompted& p = pending.result();
        const std::shared_ptr<const State> from = m_fold ? p.start : p.prompted;
        if (!from)
            return out;
        QElapsedTimer timer;
        timer.start();
        ReadOptions quiet = quietRead();
        quiet.branchesOnly = true;
        try {
            const std::vector<ReadResult> results = m_model.readEach(*from, rows, quiet);
            for (size_t i = 0; i < results.size(); ++i)
                if (results[i].tokensRead > 0)
                    out.values.insert(texts[qsizetype(i)], meanLogProbability(results[i], skip));
        } catch (const std::exception&) {
            out.values.clear();  // score() reads what it needs itself (and meets the error there)
        }
        out.ms = double(timer.nsecsElapsed()) / 1e6;
        return out;
    });
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
    // Read ahead (offer) for this question: its values, once its pass is done. (promptedFor
    // prepares afresh, dropping it, when the question is not the one prepared.)
    QHash<QString, double> ahead;
    if (prompted && m_ahead.isValid()) {
        m_ahead.waitForFinished();
        ahead = m_ahead.result().values;
        m_timings.aheadMs = m_ahead.result().ms;
        m_timings.aheadRows = m_ahead.result().rows;
    }
    m_timings.waitMs = double(timer.nsecsElapsed()) / 1e6;
    m_timings.promptMs = m_pending.isValid() ? m_pending.result().promptMs : 0.0;
    if (!prompted)
        return std::nullopt;
    // Folded: each read is "<q> question <a> answer" from the checkpoint's state, and only
    // the answer's tokens count (their surprisal after the whole prompt, as when separate).
    const size_t skip = m_fold ? m_pendingPrompt.size() : 0;
    QVector<double> out(answers.size());
    std::vector<std::vector<int32_t>> reads;
    std::vector<qsizetype> readFor;  // the answer of each read
    for (qsizetype i = 0; i < answers.size(); ++i) {
        if (const auto it = ahead.constFind(answers[i]); it != ahead.constEnd()) {
            out[i] = it.value();
            ++m_timings.aheadHits;
        } else {
            reads.push_back(answerRow(answers[i]));
            readFor.push_back(i);
        }
    }
    if (reads.empty())
        return out;
    try {
        timer.restart();
        const std::vector<ReadResult> results = m_model.readEach(*prompted, reads, quietRead());
        m_timings.answersMs = double(timer.nsecsElapsed()) / 1e6;
        for (size_t k = 0; k < results.size(); ++k)
            out[readFor[k]] = meanLogProbability(results[k], skip);
        return out;
    } catch (const EngineError&) {
        return std::nullopt;
    }
}

}  // namespace mm::answer
