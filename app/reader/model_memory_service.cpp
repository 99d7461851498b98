#include "app/reader/model_memory_service.h"

#include "app/memory/document_fidelity.h"
#include "app/memory/memory.h"
#include "storage/database.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTimer>

#include <algorithm>
#include <cmath>
#include <map>

namespace mm::memoryui {

namespace {

QString q(const std::string& s)
{
    return QString::fromUtf8(s.data(), qsizetype(s.size()));
}

constexpr qsizetype kSnippetChars = 280;
constexpr int64_t kContextChars = 60;  // a note's context: as DocumentMemory::notes gives it

QString oneLine(QString s)
{
    s.replace(QLatin1Char('\n'), QLatin1Char(' '));
    return s.simplified();
}

// UTF-16 index of the `codePoints`-th code point of s.
int utf16Index(const QString& s, qint64 codePoints)
{
    int i = 0;
    for (qint64 n = 0; n < codePoints && i < s.size(); ++n)
        i += (s.at(i).isHighSurrogate() && i + 1 < s.size()) ? 2 : 1;
    return i;
}

QString staleReason(const memory::MemoryStatus& status)
{
    return QObject::tr("It was read by another model (%1), whose memory cannot be used with this one: read it again "
                       "with this model.")
        .arg(q(status.producer).section(QLatin1Char('|'), 0, 0).left(16));
}

// The one record (app/memory/qa_record.h) as the ask panel shows it.
ui::AnswerRecord answerRecordOf(const memory::QaRecord& r)
{
    ui::AnswerRecord out;
    out.request.askId = r.askId >= 0 ? r.askId : -r.id;
    out.request.docId = r.docId;
    out.request.question = q(r.question);
    out.request.scope = r.asOfChar < 0 ? ui::AskRequest::WholeBook : ui::AskRequest::AsOfPosition;
    out.request.asOfChar = r.asOfChar;
    out.answer = q(r.answer);
    for (const memory::QaEvidence& e : r.evidence) {
        ui::AnswerEvidence ev;
        ev.kind = e.source == "note" ? ui::AnswerEvidence::Note : ui::AnswerEvidence::Passage;
        ev.charStart = e.charStart;
        ev.charEnd = e.charEnd;
        ev.chapter = q(e.chapterTitle).simplified();
        ev.page = e.page;
        ev.snippet = oneLine(q(e.text));
        if (ev.snippet.size() > kSnippetChars)  // a full-text passage can be a page long
            ev.snippet = ev.snippet.left(kSnippetChars).section(QLatin1Char(' '), 0, -2) + QStringLiteral(" …");
        ev.weight = float(e.weight);
        ev.layer = e.layer;
        out.evidence << ev;
    }
    out.timings = {r.timings.stateLoadMs, r.timings.firstTokenMs, r.timings.totalMs};
    out.askedAt = QDateTime::fromMSecsSinceEpoch(r.askedAtMs, Qt::UTC);
    out.finished = r.finished;
    out.cancelled = r.cancelled;
    out.error = q(r.error);
    return out;
}

// What the panel asks to keep: the record the answer made (all of it), with the
// panel's outcome (a cancelled or failed answer keeps what it streamed); without one,
// the panel's record as it stands.
memory::QaRecord qaRecordOf(const ui::AnswerRecord& shown, const memory::QaRecord* made)
{
    memory::QaRecord r = made ? *made : memory::QaRecord{};
    r.askId = shown.request.askId;
    r.docId = shown.request.docId;
    r.question = shown.request.question.toStdString();
    r.asOfChar = shown.request.scope == ui::AskRequest::WholeBook ? -1 : shown.request.asOfChar;
    r.answer = shown.answer.toStdString();
    if (!made) {
        for (const ui::AnswerEvidence& e : shown.evidence) {
            memory::QaEvidence ev;
            ev.docId = shown.request.docId;
            ev.source = e.kind == ui::AnswerEvidence::Note ? "note" : "fulltext";
            ev.charStart = e.charStart;
            ev.charEnd = e.charEnd;
            ev.chapterTitle = e.chapter.toStdString();
            ev.page = e.page;
            ev.text = e.snippet.toStdString();
            ev.weight = e.weight;
            ev.layer = e.layer;
            r.evidence.push_back(std::move(ev));
        }
        r.timings = {shown.timings.stateLoadMs, shown.timings.firstTokenMs, shown.timings.totalMs};
    }
    r.askedAtMs = (shown.askedAt.isValid() ? shown.askedAt : QDateTime::currentDateTimeUtc()).toMSecsSinceEpoch();
    r.finished = shown.finished;
    r.cancelled = shown.cancelled;
    r.error = shown.error.toStdString();
    return r;
}

}  // namespace

// ---- the query thread ------------------------------------------------------------------

/// The open document's memory as the map loaded it, kept so the pools at any position are
/// a filter over its note history (memory::PoolHistory), with the notes' context from the
/// text in memory: milliseconds where asking the library for each note takes seconds.
struct PoolCache {
    qint64 docId = 0;
    memory::MemoryMap map;
    memory::PoolHistory history;
    QList<uint> text;                ///< the document's code points, for the notes' context

    void build(qint64 doc, memory::MemoryMap m, const QString& documentText)
    {
        docId = doc;
        map = std::move(m);
        text = documentText.toUcs4();
        std::vector<memory::PoolHistory::Note> notes;
        notes.reserve(map.notes.size());
        for (size_t i = 0; i < map.notes.size(); ++i) {
            const NoteEvent& n = map.notes[i];
            notes.push_back({n.layer, n.slot, n.position, n.score, map.noteInsertedAt[i], -1});
        }
        history = memory::PoolHistory(std::move(notes));
    }
    int64_t tokenAt(int64_t atChar) const
    {
        if (atChar >= map.textLength)
            return int64_t(map.tokenChars.size());
        return int64_t(std::lower_bound(map.tokenChars.begin(), map.tokenChars.end(), atChar) - map.tokenChars.begin());
    }
    int64_t charEnd(int64_t token) const
    {
        return token + 1 < int64_t(map.tokenChars.size()) ? map.tokenChars[size_t(token + 1)] : map.textLength;
    }
    QString textOf(int64_t from, int64_t to) const
    {
        from = std::clamp<int64_t>(from, 0, text.size());
        to = std::clamp<int64_t>(to, from, text.size());
        return QString::fromUcs4(reinterpret_cast<const char32_t*>(text.constData() + from), qsizetype(to - from));
    }
};

class QueryWorker : public QObject {
public:
    explicit QueryWorker(ModelMemoryService* service) : m_service(service) {}

    template <typename F>
    void post(F f)
    {
        QMetaObject::invokeMethod(m_service, std::move(f), Qt::QueuedConnection);
    }

    void load(const ModelMemoryOptions& options)
    {
        try {
            memory::ModelChoice choice;
            choice.modelDir = options.modelDir.toStdString();
            choice.random = options.random;
            choice.randomConfig = options.randomConfig.toStdString();
            choice.device = options.device.toStdString();
            // warm: on CUDA the context, handles and kernels now, not in the first question.
            auto model = std::make_shared<memory::LoadedModel>(memory::loadModel(choice, true));
            ui::MemoryDevice dev;
            const memory::DeviceInfo where = memory::deviceOf(*model);
            dev.gpu = where.gpu;
            dev.name = dev.gpu ? QObject::tr("CUDA GPU: %1").arg(q(where.cudaDeviceName))
                               : where.threads == 1 ? QObject::tr("CPU (1 thread)")
                                                    : QObject::tr("CPU (%1 threads)").arg(where.threads);
            dev.expectedTokensPerSecond = memory::measureReadingSpeed(*model->model, *model->tokenizer);

            m_db = std::make_unique<storage::Database>(options.databasePath);
            m_model = model;
            m_memory = std::make_unique<memory::DocumentMemory>(*m_db, *m_model->model, *m_model->tokenizer);
            m_history = std::make_unique<memory::QaHistory>(*m_db);
            post([s = m_service, model = std::shared_ptr<const memory::LoadedModel>(model), dev] {
                s->onEngineLoaded(model, dev);
            });
        } catch (const std::exception& e) {
            m_loadError = q(e.what());
            post([s = m_service, message = m_loadError] { s->onEngineFailed(message); });
        }
    }

    void close()
    {
        m_history.reset();
        m_memory.reset();
        m_db.reset();
    }

    QString unavailable() const
    {
        return m_loadError.isEmpty() ? QObject::tr("The model is not loaded.")
                                     : QObject::tr("The model could not be loaded: %1").arg(m_loadError);
    }

    void memoryMap(qint64 docId)
    {
        if (!m_memory) {
            post([s = m_service, docId, why = unavailable()] { emit s->memoryUnavailable(docId, why); });
            return;
        }
        try {
            const memory::MemoryStatus status = m_memory->status(docId);
            if (status.state != "ready") {
                QString reason;
                if (status.state == "stale")
                    reason = staleReason(status);
                else if (status.state == "reading")
                    reason = QObject::tr("The model has read %1 of its %2 tokens; reading it again resumes there.")
                                 .arg(status.doneTokens)
                                 .arg(status.totalTokens);
                post([s = m_service, docId, reason] { emit s->memoryUnavailable(docId, reason); });
                return;
            }
            m_cache.build(docId, m_memory->memoryMap(docId), m_db->documentText(docId));
            const memory::MemoryMap& map = m_cache.map;
            auto data = std::make_shared<ui::MemoryMapData>();
            data->docId = docId;
            data->layerCount = map.layers;
            data->poolSize = map.poolSlots;
            data->noteChunk = int(map.noteChunk);
            data->textLength = map.textLength;
            data->tokenChars = QVector<qint64>(map.tokenChars.begin(), map.tokenChars.end());
            data->surprisal = QVector<float>(map.surprisal.begin(), map.surprisal.end());
            data->importance.reserve(qsizetype(map.importance.size()));
            for (const std::vector<float>& layer : map.importance)
                data->importance.push_back(QVector<float>(layer.begin(), layer.end()));
            data->notes.reserve(qsizetype(map.notes.size()));
            for (const NoteEvent& n : map.notes)
                data->notes.push_back({n.layer, n.position, n.score, n.slot, n.evictedPosition});
            for (const auto& [offset, title] : map.chapters)
                data->chapters.push_back({offset, q(title).simplified()});
            post([s = m_service, data = std::shared_ptr<const ui::MemoryMapData>(data)] { emit s->memoryMapReady(data); });
        } catch (const std::exception& e) {
            post([s = m_service, docId, why = q(e.what())] { emit s->memoryUnavailable(docId, why); });
        }
    }

    void pool(qint64 docId, qint64 atChar, qint64 serial)
    {
        if (!m_memory || serial != m_service->m_poolSerial.load())
            return;  // a newer request supersedes this one
        try {
            if (m_cache.docId != docId) {
                if (m_memory->status(docId).state != "ready")
                    return;
                m_cache.build(docId, m_memory->memoryMap(docId), m_db->documentText(docId));
            }
            const memory::MemoryMap& map = m_cache.map;
            ui::PoolSnapshot snap;
            snap.docId = docId;
            snap.atChar = atChar;
            snap.atToken = m_cache.tokenAt(atChar);
            snap.layerCount = map.layers;
            snap.poolSize = map.poolSlots;
            const int64_t p = snap.atToken;
            const int64_t visible = std::min<int64_t>(map.textLength, atChar);  // no text past the position
            const memory::PoolHistory::At pools = m_cache.history.at(p);
            const auto& notes = m_cache.history.notes();
            for (size_t i : pools.evicted) {
                const memory::PoolHistory::Note& n = notes[i];
                snap.evicted.push_back({n.layer, n.position, map.tokenChars[size_t(n.position)],
                                        m_cache.charEnd(n.position), n.evictedAt});
            }
            const auto attention = m_attention.find(docId);
            for (size_t i : pools.held) {
                const memory::PoolHistory::Note& n = notes[i];
                ui::PoolEntry e;
                e.layer = n.layer;
                e.slot = n.slot;
                e.tokenPosition = n.position;
                e.charStart = map.tokenChars[size_t(n.position)];
                e.charEnd = m_cache.charEnd(n.position);
                e.score = n.score;
                e.ageTokens = p - n.position;
                if (attention != m_attention.end()) {
                    const auto it = attention->second.find({int(n.layer), n.position});
                    e.lastQuestionAttention = it == attention->second.end() ? 0.0f : it->second;
                }
                const int64_t from = std::max<int64_t>(0, e.charStart - kContextChars);
                e.context = m_cache.textOf(from, std::min<int64_t>(visible, e.charEnd + kContextChars));
                e.contextTokenStart = utf16Index(e.context, e.charStart - from);
                e.contextTokenLength = utf16Index(e.context, e.charEnd - from) - e.contextTokenStart;
                snap.entries.push_back(e);
            }
            post([s = m_service, snap] { emit s->poolReady(snap); });
        } catch (const std::exception&) {
            // The map said the memory exists; a pool that cannot be built leaves the
            // panel as it was.
        }
    }

    void ask(const ui::AskRequest& request)
    {
        const qint64 askId = request.askId;
        {
            std::lock_guard<std::mutex> lock(m_service->m_askMutex);
            m_service->m_currentAskId = askId;
            m_service->m_currentAskCancel = m_service->m_cancelledAsks.count(askId) > 0;
        }
        if (m_service->m_currentAskCancel.load())
            return;
        if (!m_memory) {
            post([s = m_service, askId, why = unavailable()] { emit s->answerFailed(askId, why); });
            return;
        }
        post([s = m_service, askId] { emit s->answerStarted(askId); });
        try {
            memory::AskOptions options;
            if (request.scope == ui::AskRequest::AsOfPosition)
                options.atChar = std::max<qint64>(0, request.asOfChar);
            options.cancel = &m_service->m_currentAskCancel;
            options.onText = [this, askId](const std::string& piece) {
                if (m_service->m_currentAskCancel.load())
                    return false;
                post([s = m_service, askId, text = q(piece)] { emit s->answerToken(askId, text); });
                return true;
            };
            const memory::AskResult r = m_memory->ask(request.docId, request.question.toStdString(), options);
            if (m_service->m_currentAskCancel.load())
                return;  // the panel keeps what it streamed
            memory::QaRecord made = memory::qaRecordOf(m_memory->context(), request.docId,
                                                       request.question.toStdString(),
                                                       request.scope == ui::AskRequest::WholeBook, r);
            made.askId = askId;
            ui::AnswerRecord record = answerRecordOf(made);
            record.request = request;
            float maxWeight = 0;
            for (const memory::Evidence& e : r.evidence) {
                if (e.source == "note")
                    maxWeight = std::max(maxWeight, float(e.weight));
            }
            auto& attention = m_attention[request.docId];
            attention.clear();
            for (const memory::Evidence& e : r.evidence) {
                if (e.source == "note" && maxWeight > 0)
                    attention[{e.layer, e.tokenPosition}] = float(e.weight) / maxWeight;
            }
            m_made[askId] = std::move(made);
            post([s = m_service, record] { emit s->answerFinished(record); });
        } catch (const std::exception& e) {
            const QString message = q(e.what());
            post([s = m_service, askId, message] { emit s->answerFailed(askId, message); });
            if (dynamic_cast<const memory::StaleMemoryError*>(&e)) {
                post([s = m_service, docId = request.docId, message] { emit s->memoryUnavailable(docId, message); });
            }
        }
    }

    void history(qint64 docId)
    {
        QVector<ui::AnswerRecord> records;
        if (m_history) {
            try {
                for (const memory::QaRecord& r : m_history->records(docId))
                    records << answerRecordOf(r);
            } catch (const std::exception&) {
                // An unreadable history shows empty; the answers stay stored.
            }
        }
        post([s = m_service, docId, records] { emit s->historyReady(docId, records); });
    }

    void save(const ui::AnswerRecord& record)
    {
        if (!m_history)
            return;
        const auto made = m_made.find(record.request.askId);
        const memory::QaRecord r = qaRecordOf(record, made == m_made.end() ? nullptr : &made->second);
        if (made != m_made.end())
            m_made.erase(made);
        try {
            m_history->save(r);
        } catch (const std::exception&) {
            // Not kept: the answer is still on screen for this session.
        }
    }

private:
    ModelMemoryService* m_service;
    std::shared_ptr<const memory::LoadedModel> m_model;
    std::unique_ptr<storage::Database> m_db;
    std::unique_ptr<memory::DocumentMemory> m_memory;
    std::unique_ptr<memory::QaHistory> m_history;
    /// The records answers made, by ask id, until the panel asks to keep them.
    std::map<qint64, memory::QaRecord> m_made;
    QString m_loadError;
    PoolCache m_cache;
    /// Per document: (layer, token) → how strongly the last answer read that note (0..1).
    std::map<qint64, std::map<std::pair<int, int64_t>, float>> m_attention;
};

// ---- the ingest thread -----------------------------------------------------------------

class IngestWorker : public QObject {
public:
    explicit IngestWorker(ModelMemoryService* service) : m_service(service) {}

    template <typename F>
    void post(F f)
    {
        QMetaObject::invokeMethod(m_service, std::move(f), Qt::QueuedConnection);
    }

    void open(std::shared_ptr<const memory::LoadedModel> model, const QString& dbPath, bool findUnfinished)
    {
        try {
            m_model = std::move(model);
            m_db = std::make_unique<storage::Database>(dbPath);
            m_memory = std::make_unique<memory::DocumentMemory>(*m_db, *m_model->model, *m_model->tokenizer);
            if (!findUnfinished)
                return;
            // A reading interrupted by a quit or a crash continues at the next start.
            for (const storage::DocumentRecord& doc : m_db->documents()) {
                if (doc.status != QStringLiteral("reading"))
                    continue;
                if (m_memory->status(doc.id).state == "reading")
                    post([s = m_service, id = doc.id, title = doc.title] { s->enqueue(id, title); });
            }
        } catch (const std::exception& e) {
            m_memory.reset();
            m_db.reset();
            m_error = q(e.what());
        }
    }

    void close()
    {
        m_memory.reset();
        m_db.reset();
    }

    void run(qint64 jobId, qint64 docId, qint64 checkpointEvery)
    {
        if (!m_memory) {
            post([s = m_service, jobId, why = m_error] {
                s->onIngestDone(jobId, false, 0, 0, 0, QObject::tr("the library cannot be opened for reading: %1").arg(why));
            });
            return;
        }
        memory::IngestOptions options;
        options.checkpointEvery = checkpointEvery;
        options.cancel = &m_service->m_ingestCancel;
        QElapsedTimer sincePost;
        sincePost.start();
        options.onProgress = [&](const memory::IngestProgress& p) {
            if (sincePost.elapsed() < 250 && p.done < p.total)
                return;
            sincePost.restart();
            post([s = m_service, jobId, done = p.done, total = p.total, tps = p.tokensPerSecond] {
                s->onIngestProgress(jobId, done, total, tps);
            });
        };
        try {
            const memory::IngestResult r = m_memory->ingest(docId, options);
            const double tps = r.readSeconds > 0 ? double(r.readTokens) / r.readSeconds : 0.0;
            // Stopped: what a resumed reading starts from (the last checkpoint), not what
            // was read past it.
            const qint64 done = r.cancelled ? m_memory->status(docId).doneTokens : r.tokens;
            post([s = m_service, jobId, cancelled = r.cancelled, done, total = r.tokens, tps] {
                s->onIngestDone(jobId, cancelled, done, total, tps, QString());
            });
        } catch (const std::exception& e) {
            post([s = m_service, jobId, why = q(e.what())] { s->onIngestDone(jobId, false, 0, 0, 0, why); });
        }
    }

    void prepare(qint64 docId, qint64 atChar)
    {
        qint64 position = -1;
        if (m_memory) {
            try {
                if (m_memory->status(docId).state == "ready")
                    position = m_memory->prepareAt(docId, atChar);
            } catch (const std::exception&) {
                // Best effort: the question there will replay instead.
            }
        }
        post([s = m_service, docId, atChar, position] {
            s->m_preparing = false;
            if (position >= 0) {
                s->m_preparedDoc = docId;
                s->m_preparedChar = atChar;
                emit s->prepared(docId, atChar, position);
            }
            s->schedule();
        });
    }

private:
    ModelMemoryService* m_service;
    std::shared_ptr<const memory::LoadedModel> m_model;
    std::unique_ptr<storage::Database> m_db;
    std::unique_ptr<memory::DocumentMemory> m_memory;
    QString m_error;
};

// ---- the charts thread: fidelity curves ------------------------------------------------

/// Runs the engine's fidelity protocol (engine/eval, `memmamba eval fidelity`) on excerpts
/// of one document's own text, sample by sample (progress and cancel between samples;
/// the protocol also checks the flag between its reads).
class FidelityWorker : public QObject {
public:
    explicit FidelityWorker(ModelMemoryService* service) : m_service(service) {}

    template <typename F>
    void post(F f)
    {
        QMetaObject::invokeMethod(m_service, std::move(f), Qt::QueuedConnection);
    }

    void open(std::shared_ptr<const memory::LoadedModel> model, const QString& dbPath)
    {
        m_model = std::move(model);
        m_dbPath = dbPath;
    }

    void close() { m_db.reset(); }

    void run(quint64 serial, const ui::FidelityRequest& request, std::shared_ptr<std::atomic<bool>> cancel)
    {
        const qint64 docId = request.docId;
        try {
            if (!m_model)
                throw std::runtime_error("the model is not loaded");
            if (!m_db)
                m_db = std::make_unique<storage::Database>(m_dbPath);
            memory::FidelityOptions o;
            o.samples = request.samples;
            o.distances.assign(request.distances.begin(), request.distances.end());
            o.context = request.context;
            o.withAblation = request.withAblation;
            const memory::DocumentFidelity f = memory::measureDocumentFidelity(
                *m_model, *m_db, docId, o, cancel.get(), [&](int done, int total) {
                    post([s = m_service, serial, docId, done, total] {
                        if (s->m_fidelitySerial == serial) {
                            s->m_fidelityDone = done;
                            s->m_fidelityTotal = total;
                        }
                        emit s->fidelityProgress(docId, done, total);
                    });
                });
            if (f.cancelled || cancel->load()) {
                post([s = m_service, serial, docId] {
                    const bool current = s->m_fidelitySerial == serial || s->m_fidelityDoc != docId;
                    s->onFidelityDone(serial, docId);
                    if (current)
                        emit s->fidelityCancelled(docId);
                });
                return;
            }
            ui::FidelityCurves curves;
            curves.docId = docId;
            curves.distances = QVector<qint64>(f.distances.begin(), f.distances.end());
            curves.layerCount = f.layers;
            curves.samples = f.samples;
            curves.context = f.context;
            curves.documentTokens = f.documentTokens;
            for (const auto& layer : f.etmf)
                curves.etmf << QVector<double>(layer.begin(), layer.end());
            for (const auto& layer : f.etmfNoPool)
                curves.etmfNoPool << QVector<double>(layer.begin(), layer.end());
            curves.seconds = f.seconds;
            post([s = m_service, serial, curves] {
                s->m_fidelityCache.insert(curves.docId, curves);
                s->onFidelityDone(serial, curves.docId);
                emit s->fidelityReady(curves);
            });
        } catch (const std::exception& e) {
            post([s = m_service, serial, docId, why = q(e.what())] {
                const bool current = s->m_fidelitySerial == serial || s->m_fidelityDoc != docId;
                s->onFidelityDone(serial, docId);
                if (current)
                    emit s->fidelityFailed(docId, why);
            });
        }
    }

private:
    ModelMemoryService* m_service;
    std::shared_ptr<const memory::LoadedModel> m_model;
    QString m_dbPath;
    std::unique_ptr<storage::Database> m_db;
};

// ---- the service (GUI thread) ----------------------------------------------------------

ModelMemoryService::ModelMemoryService(const ModelMemoryOptions& options, QObject* parent)
    : ui::MemoryService(parent),
      m_options(options),
      m_queries(new QueryWorker(this)),
      m_ingest(new IngestWorker(this)),
      m_charts(new FidelityWorker(this)),
      m_prepareTimer(new QTimer(this))
{
    ui::registerMemoryMetaTypes();
    m_device.name = tr("Loading the model…");
    m_queryThread.setObjectName(QStringLiteral("MemoryQueries"));
    m_ingestThread.setObjectName(QStringLiteral("MemoryIngest"));
    m_queries->moveToThread(&m_queryThread);
    m_ingest->moveToThread(&m_ingestThread);
    m_chartsThread.setObjectName(QStringLiteral("MemoryCharts"));
    m_charts->moveToThread(&m_chartsThread);
    m_queryThread.start();
    m_ingestThread.start();
    m_chartsThread.start();
    m_prepareTimer->setSingleShot(true);
    m_prepareTimer->setInterval(options.prepareDelayMs);
    connect(m_prepareTimer, &QTimer::timeout, this, &ModelMemoryService::prepareSoon);
}

ModelMemoryService::~ModelMemoryService()
{
    m_ingestCancel = true;
    m_currentAskCancel = true;
    if (m_fidelityCancel)
        m_fidelityCancel->store(true);
    QMetaObject::invokeMethod(m_queries, [w = m_queries] { w->close(); }, Qt::QueuedConnection);
    QMetaObject::invokeMethod(m_ingest, [w = m_ingest] { w->close(); }, Qt::QueuedConnection);
    QMetaObject::invokeMethod(m_charts, [w = m_charts] { w->close(); }, Qt::QueuedConnection);
    m_queryThread.quit();
    m_ingestThread.quit();
    m_chartsThread.quit();
    m_queryThread.wait();
    m_ingestThread.wait();
    m_chartsThread.wait();
    delete m_queries;
    delete m_ingest;
    delete m_charts;
}

template <typename F>
void ModelMemoryService::toQueries(F f)
{
    QMetaObject::invokeMethod(m_queries, std::move(f), Qt::QueuedConnection);
}

template <typename F>
void ModelMemoryService::toIngest(F f)
{
    QMetaObject::invokeMethod(m_ingest, std::move(f), Qt::QueuedConnection);
}

template <typename F>
void ModelMemoryService::toCharts(F f)
{
    QMetaObject::invokeMethod(m_charts, std::move(f), Qt::QueuedConnection);
}

void ModelMemoryService::start()
{
    if (m_started)
        return;
    m_started = true;
    toQueries([w = m_queries, options = m_options] { w->load(options); });
}

void ModelMemoryService::onEngineLoaded(std::shared_ptr<const memory::LoadedModel> engine, const ui::MemoryDevice& device)
{
    m_device = device;
    m_engineReady = true;
    toIngest([w = m_ingest, engine, path = m_options.databasePath, find = m_options.resumeUnfinished] {
        w->open(engine, path, find);
    });
    toCharts([w = m_charts, engine, path = m_options.databasePath] { w->open(engine, path); });
    emit deviceReady(m_device);
    emit modelReady();
    schedule();
    if (m_fidelityWaiting) {
        const ui::FidelityRequest request = *m_fidelityWaiting;
        m_fidelityWaiting.reset();
        startFidelity(request);
    }
}

void ModelMemoryService::onEngineFailed(const QString& message)
{
    m_modelError = message;
    m_device.name = tr("No model: %1").arg(message);
    emit deviceReady(m_device);
    emit modelFailed(message);
    if (m_fidelityWaiting) {
        const qint64 docId = m_fidelityWaiting->docId;
        m_fidelityWaiting.reset();
        emit fidelityFailed(docId, tr("The model could not be loaded: %1").arg(message));
    }
    for (ui::IngestJob& j : m_jobs) {
        if (j.state == ui::IngestJob::Queued || j.state == ui::IngestJob::Running || j.state == ui::IngestJob::Paused) {
            j.state = ui::IngestJob::Failed;
            j.error = tr("The model could not be loaded: %1").arg(message);
            emit ingestFailed(j, j.error);
        }
    }
}

ui::IngestJob* ModelMemoryService::job(qint64 jobId)
{
    for (ui::IngestJob& j : m_jobs) {
        if (j.jobId == jobId)
            return &j;
    }
    return nullptr;
}

void ModelMemoryService::enqueue(qint64 docId, const QString& title)
{
    for (const ui::IngestJob& j : std::as_const(m_jobs)) {
        if (j.docId == docId && (j.state == ui::IngestJob::Queued || j.state == ui::IngestJob::Running
                                 || j.state == ui::IngestJob::Paused)) {
            emit ingestQueued(j);
            return;
        }
    }
    ui::IngestJob j;
    j.jobId = ++m_lastJobId;
    j.docId = docId;
    j.title = title;
    if (!m_modelError.isEmpty()) {
        j.state = ui::IngestJob::Failed;
        j.error = tr("The model could not be loaded: %1").arg(m_modelError);
        m_jobs << j;
        emit ingestFailed(j, j.error);
        return;
    }
    m_jobs << j;
    emit ingestQueued(j);
    schedule();
}

void ModelMemoryService::schedule()
{
    if (!m_engineReady || m_runningJobId != 0)
        return;
    for (ui::IngestJob& j : m_jobs) {
        if (j.state != ui::IngestJob::Queued)
            continue;
        j.state = ui::IngestJob::Running;
        m_runningJobId = j.jobId;
        m_ingestCancel = false;
        emit ingestProgress(j);
        toIngest([w = m_ingest, jobId = j.jobId, docId = j.docId, every = m_options.checkpointEvery] {
            w->run(jobId, docId, every);
        });
        return;
    }
}

void ModelMemoryService::pause(qint64 jobId)
{
    ui::IngestJob* j = job(jobId);
    if (!j || (j->state != ui::IngestJob::Queued && j->state != ui::IngestJob::Running))
        return;
    if (j->state == ui::IngestJob::Running)
        m_ingestCancel = true;  // stops after the current segment; committed spans stay
    j->state = ui::IngestJob::Paused;
    j->tokensPerSecond = 0;
    emit ingestProgress(*j);
}

void ModelMemoryService::resume(qint64 jobId)
{
    ui::IngestJob* j = job(jobId);
    if (!j || j->state != ui::IngestJob::Paused)
        return;
    // Still winding down from the pause: it restarts (from its last checkpoint) when
    // the worker returns, since schedule() waits for the running job.
    j->state = ui::IngestJob::Queued;
    emit ingestProgress(*j);
    schedule();
}

void ModelMemoryService::cancel(qint64 jobId)
{
    ui::IngestJob* j = job(jobId);
    if (!j || j->state == ui::IngestJob::Finished || j->state == ui::IngestJob::Failed
        || j->state == ui::IngestJob::Cancelled)
        return;
    if (m_runningJobId == jobId)
        m_ingestCancel = true;
    j->state = ui::IngestJob::Cancelled;
    j->tokensPerSecond = 0;
    emit ingestCancelled(*j);
}

void ModelMemoryService::onIngestProgress(qint64 jobId, qint64 done, qint64 total, double tokensPerSecond)
{
    ui::IngestJob* j = job(jobId);
    if (!j || j->state != ui::IngestJob::Running)
        return;
    j->tokensDone = done;
    j->tokensTotal = total;
    j->tokensPerSecond = tokensPerSecond;
    emit ingestProgress(*j);
}

void ModelMemoryService::onIngestDone(qint64 jobId, bool cancelled, qint64 done, qint64 total, double tokensPerSecond,
                                      const QString& error)
{
    if (m_runningJobId == jobId)
        m_runningJobId = 0;
    ui::IngestJob* j = job(jobId);
    if (j) {
        if (done > 0 || (cancelled && error.isEmpty()))
            j->tokensDone = done;
        if (total > 0)
            j->tokensTotal = total;
        if (!error.isEmpty()) {
            j->state = ui::IngestJob::Failed;
            j->error = error;
            emit ingestFailed(*j, error);
        } else if (!cancelled) {
            j->state = ui::IngestJob::Finished;
            j->tokensDone = j->tokensTotal;
            emit ingestFinished(*j);
        } else if (j->state == ui::IngestJob::Running) {
            // Cancelled by the destructor's flag or something else: keep it queued.
            j->state = ui::IngestJob::Paused;
            emit ingestProgress(*j);
        } else {
            emit ingestProgress(*j);  // Paused/Cancelled already announced; show where it stopped
        }
        if (tokensPerSecond > 0 && !cancelled && error.isEmpty() && done > 2048) {
            m_device.expectedTokensPerSecond = tokensPerSecond;  // measured on a real book: better than the probe
            emit deviceReady(m_device);
        }
    }
    schedule();
}

void ModelMemoryService::requestMemoryMap(qint64 docId)
{
    toQueries([w = m_queries, docId] { w->memoryMap(docId); });
}

void ModelMemoryService::requestPool(qint64 docId, qint64 atChar)
{
    const qint64 serial = ++m_poolSerial;
    toQueries([w = m_queries, docId, atChar, serial] { w->pool(docId, atChar, serial); });
    m_prepareDoc = docId;
    m_prepareChar = atChar;
    m_prepareTimer->start();
}

void ModelMemoryService::prepareSoon()
{
    if (!m_engineReady || m_prepareDoc <= 0 || m_prepareChar < 0)
        return;
    if (m_runningJobId != 0 || m_preparing) {
        m_prepareTimer->start();  // after the reading (or the previous preparation)
        return;
    }
    if (m_prepareDoc == m_preparedDoc && m_prepareChar == m_preparedChar)
        return;
    m_preparing = true;
    toIngest([w = m_ingest, docId = m_prepareDoc, atChar = m_prepareChar] { w->prepare(docId, atChar); });
}

void ModelMemoryService::ask(const ui::AskRequest& request)
{
    toQueries([w = m_queries, request] { w->ask(request); });
}

void ModelMemoryService::cancelAsk(qint64 askId)
{
    std::lock_guard<std::mutex> lock(m_askMutex);
    m_cancelledAsks.insert(askId);
    if (m_currentAskId.load() == askId)
        m_currentAskCancel = true;
}

void ModelMemoryService::requestHistory(qint64 docId)
{
    toQueries([w = m_queries, docId] { w->history(docId); });
}

void ModelMemoryService::saveAnswer(const ui::AnswerRecord& record)
{
    toQueries([w = m_queries, record] { w->save(record); });
}

void ModelMemoryService::requestFidelity(const ui::FidelityRequest& request)
{
    const qint64 docId = request.docId;
    if (const auto it = m_fidelityCache.constFind(docId); it != m_fidelityCache.constEnd()) {
        QTimer::singleShot(0, this, [this, curves = *it] { emit fidelityReady(curves); });
        return;
    }
    if (!m_modelError.isEmpty()) {
        QTimer::singleShot(0, this, [this, docId, why = tr("The model could not be loaded: %1").arg(m_modelError)] {
            emit fidelityFailed(docId, why);
        });
        return;
    }
    if (m_fidelityDoc == docId) {  // being measured: where it is
        QTimer::singleShot(0, this, [this, docId, done = m_fidelityDone, total = m_fidelityTotal] {
            emit fidelityProgress(docId, done, total);
        });
        return;
    }
    if (!m_engineReady) {
        if (m_fidelityWaiting && m_fidelityWaiting->docId != docId)
            QTimer::singleShot(0, this, [this, old = m_fidelityWaiting->docId] { emit fidelityCancelled(old); });
        m_fidelityWaiting = request;  // measured once the model is loaded
        return;
    }
    startFidelity(request);
}

void ModelMemoryService::startFidelity(const ui::FidelityRequest& request)
{
    if (m_fidelityDoc != 0 && m_fidelityCancel)
        m_fidelityCancel->store(true);  // superseded: it stops after its current read
    m_fidelityCancel = std::make_shared<std::atomic<bool>>(false);
    m_fidelityDoc = request.docId;
    const quint64 serial = ++m_fidelitySerial;
    m_fidelityDone = 0;
    m_fidelityTotal = std::max(1, request.samples) * (request.withAblation ? 2 : 1);
    emit fidelityProgress(request.docId, 0, m_fidelityTotal);
    toCharts([w = m_charts, serial, request, cancel = m_fidelityCancel] { w->run(serial, request, cancel); });
}

void ModelMemoryService::onFidelityDone(quint64 serial, qint64 docId)
{
    Q_UNUSED(docId)
    if (serial != m_fidelitySerial)
        return;  // a superseded run: the current one is still going
    m_fidelityDoc = 0;
    m_fidelityCancel.reset();
}

void ModelMemoryService::cancelFidelity(qint64 docId)
{
    if (m_fidelityWaiting && m_fidelityWaiting->docId == docId) {
        m_fidelityWaiting.reset();
        QTimer::singleShot(0, this, [this, docId] { emit fidelityCancelled(docId); });
        return;
    }
    if (m_fidelityDoc == docId && m_fidelityCancel)
        m_fidelityCancel->store(true);  // the worker answers fidelityCancelled
}

}  // namespace mm::memoryui
