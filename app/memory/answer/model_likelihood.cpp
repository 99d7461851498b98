#include "app/memory/answer/model_likelihood.h"

#include "storage/memory_store.h"

#include <QElapsedTimer>

#include <cmath>

namespace mm::answer {

ModelLikelihood::ModelLikelihood(storage::Database& db, const Model& model, const Tokenizer& tokenizer)
    : m_db(db), m_model(model), m_tokenizer(tokenizer), m_memory(db, model, tokenizer)
{
}

ModelLikelihood::~ModelLikelihood() = default;

LikelihoodFunction ModelLikelihood::at(qint64 docId, qint64 atChar)
{
    return [this, docId, atChar](const QString& question, const QStringList& answers) {
        return score(docId, atChar, question, answers);
    };
}

std::optional<QVector<double>> ModelLikelihood::score(qint64 docId, qint64 atChar, const QString& question,
                                                      const QStringList& answers)
{
    QElapsedTimer timer;
    timer.start();
    try {
        const memory::MemoryStatus status = m_memory.status(docId);
        if (status.state != memory::MemoryState::Ready && status.state != memory::MemoryState::Reading)
            return std::nullopt;
        // The checkpoint whose characters end at or before the position (its char_offset:
        // no token lookup, which would decode memory blocks).
        std::optional<storage::CheckpointRecord> checkpoint;
        for (const storage::CheckpointRecord& c :
             storage::MemoryStore(m_db).checkpoints(docId, QString::fromStdString(m_memory.producer())))
            if (c.charOffset <= atChar && (!checkpoint || c.position > checkpoint->position))
                checkpoint = c;
        if (!checkpoint)
            return std::nullopt;
        if (!m_cached || m_cachedDoc != docId || m_cachedPosition != checkpoint->position) {
            m_cached = std::make_unique<State>(m_memory.checkpointState(docId, checkpoint->position));
            m_cachedDoc = docId;
            m_cachedPosition = checkpoint->position;
        }
        m_stateLoadMs = double(timer.nsecsElapsed()) / 1e6;

        ReadOptions quiet;
        quiet.importance = false;
        quiet.noteEvents = false;
        State prompted = m_cached->clone();
        std::vector<int32_t> prompt{m_tokenizer.questionId()};
        for (int32_t id : m_tokenizer.encode(question.toStdString()))
            prompt.push_back(id);
        prompt.push_back(m_tokenizer.answerId());
        quiet.surprisal = false;
        m_model.read(prompted, prompt, quiet);
        quiet.surprisal = true;
        QVector<double> out;
        for (const QString& answer : answers) {
            std::vector<int32_t> ids = m_tokenizer.encode((QStringLiteral(" ") + answer).toStdString());
            ids.push_back(m_tokenizer.eosId());
            State s = prompted.clone();
            const ReadResult r = m_model.read(s, ids, quiet);
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
    } catch (const memory::MemoryError&) {
        return std::nullopt;  // stale, damaged or not read: answered without the model
    }
}

}  // namespace mm::answer
