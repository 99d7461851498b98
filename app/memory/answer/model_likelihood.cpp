#include "app/memory/answer/model_likelihood.h"

#include "storage/memory_store.h"

#include <QElapsedTimer>
#include <QtConcurrent/QtConcurrentRun>

#include <cmath>

namespace mm::answer {

ModelLikelihood::ModelLikelihood(storage::Database& db, const Model& model, const Tokenizer& tokenizer)
    : m_db(db), m_model(model), m_tokenizer(tokenizer), m_memory(db, model, tokenizer)
{
}

ModelLikelihood::~ModelLikelihood()
{
    m_pending.waitForFinished();
}

Likelihood ModelLikelihood::at(qint64 docId, qint64 atChar)
{
    Likelihood l;
    l.prepare = [this, docId, atChar](const QString& question) { prepare(docId, atChar, question); };
    l.score = [this, docId, atChar](const QString& question, const QStringList& answers) {
        return score(docId, atChar, question, answers);
    };
    l.stateLoadMs = [this] { return m_stateLoadMs; };
    return l;
}

void ModelLikelihood::prepare(qint64 docId, qint64 atChar, const QString& question)
{
    m_pending.waitForFinished();  // one question at a time: the cached state is shared
    m_pendingDoc = docId;
    m_pendingAt = atChar;
    m_pendingQuestion = question;
    QElapsedTimer timer;
    timer.start();
    std::shared_ptr<const State> start;
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
                if (!m_cached || m_cachedDoc != docId || m_cachedPosition != checkpoint->position) {
                    m_cached = std::make_shared<const State>(m_memory.checkpointState(docId, checkpoint->position));
                    m_cachedDoc = docId;
                    m_cachedPosition = checkpoint->position;
                }
                start = m_cached;
            }
        }
    } catch (const memory::MemoryError&) {
        start.reset();  // stale, damaged or not read: answered without the model
    }
    m_stateLoadMs = double(timer.nsecsElapsed()) / 1e6;
    if (!start) {
        m_pending = QtFuture::makeReadyFuture(std::shared_ptr<const State>());
        return;
    }
    std::vector<int32_t> prompt{m_tokenizer.questionId()};
    for (int32_t id : m_tokenizer.encode(question.toStdString()))
        prompt.push_back(id);
    prompt.push_back(m_tokenizer.answerId());
    // The model only reads here (no database): safe beside the text pipeline's queries.
    auto readPrompt = [model = &m_model, start, prompt = std::move(prompt)]() -> std::shared_ptr<const State> {
        try {
            ReadOptions quiet;
            quiet.importance = false;
            quiet.noteEvents = false;
            quiet.surprisal = false;
            State s = start->clone();
            model->read(s, prompt, quiet);
            return std::make_shared<const State>(std::move(s));
        } catch (const EngineError&) {
            return nullptr;
        }
    };
    // MEMMAMBA_ANSWER_OVERLAP=off: read the question here, before the text pipeline (to
    // measure what the overlap saves).
    static const bool overlap = qEnvironmentVariable("MEMMAMBA_ANSWER_OVERLAP") != QLatin1String("off");
    if (overlap)
        m_pending = QtConcurrent::run(std::move(readPrompt));
    else
        m_pending = QtFuture::makeReadyFuture(readPrompt());
}

std::shared_ptr<const State> ModelLikelihood::promptedFor(qint64 docId, qint64 atChar, const QString& question)
{
    if (!m_pending.isValid() || m_pendingDoc != docId || m_pendingAt != atChar || m_pendingQuestion != question)
        prepare(docId, atChar, question);
    return m_pending.result();
}

std::optional<QVector<double>> ModelLikelihood::score(qint64 docId, qint64 atChar, const QString& question,
                                                      const QStringList& answers)
{
    const std::shared_ptr<const State> prompted = promptedFor(docId, atChar, question);
    if (!prompted)
        return std::nullopt;
    std::vector<std::vector<int32_t>> reads;
    for (const QString& answer : answers) {
        std::vector<int32_t> ids = m_tokenizer.encode((QStringLiteral(" ") + answer).toStdString());
        ids.push_back(m_tokenizer.eosId());
        reads.push_back(std::move(ids));
    }
    ReadOptions quiet;
    quiet.importance = false;
    quiet.noteEvents = false;
    try {
        QVector<double> out;
        for (const ReadResult& r : m_model.readEach(*prompted, reads, quiet)) {
            double sum = 0;
            int n = 0;
            for (float v : r.surprisal)
                if (std::isfinite(v)) {
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
