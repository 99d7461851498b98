// See memory_views.h.
#include "app/reader/memory_views.h"

#include <algorithm>

namespace mm::memoryui {

namespace {

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

}  // namespace

QString q(const std::string& s)
{
    return QString::fromUtf8(s.data(), qsizetype(s.size()));
}

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

std::shared_ptr<const ui::MemoryMapData> memoryMapDataOf(qint64 docId, const memory::MemoryMap& map)
{
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
    return data;
}

ui::FidelityCurves curvesOf(qint64 docId, const memory::DocumentFidelity& f)
{
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
    return curves;
}

void PoolView::build(qint64 docId, memory::MemoryMap map, const QString& documentText)
{
    m_docId = docId;
    m_map = std::move(map);
    m_text = documentText.toUcs4();
    std::vector<memory::PoolHistory::Note> notes;
    notes.reserve(m_map.notes.size());
    for (size_t i = 0; i < m_map.notes.size(); ++i) {
        const NoteEvent& n = m_map.notes[i];
        notes.push_back({n.layer, n.slot, n.position, n.score, m_map.noteInsertedAt[i], -1});
    }
    m_history = memory::PoolHistory(std::move(notes));
}

int64_t PoolView::tokenAt(int64_t atChar) const
{
    if (atChar >= m_map.textLength)
        return int64_t(m_map.tokenChars.size());
    return int64_t(std::lower_bound(m_map.tokenChars.begin(), m_map.tokenChars.end(), atChar) -
                   m_map.tokenChars.begin());
}

int64_t PoolView::charEnd(int64_t token) const
{
    return token + 1 < int64_t(m_map.tokenChars.size()) ? m_map.tokenChars[size_t(token + 1)] : m_map.textLength;
}

QString PoolView::textOf(int64_t from, int64_t to) const
{
    from = std::clamp<int64_t>(from, 0, m_text.size());
    to = std::clamp<int64_t>(to, from, m_text.size());
    return QString::fromUcs4(reinterpret_cast<const char32_t*>(m_text.constData() + from), qsizetype(to - from));
}

ui::PoolSnapshot PoolView::snapshot(qint64 atChar, const NoteAttention* attention) const
{
    ui::PoolSnapshot snap;
    snap.docId = m_docId;
    snap.atChar = atChar;
    snap.atToken = tokenAt(atChar);
    snap.layerCount = m_map.layers;
    snap.poolSize = m_map.poolSlots;
    const int64_t p = snap.atToken;
    const int64_t visible = std::min<int64_t>(m_map.textLength, atChar);  // no text past the position
    const memory::PoolHistory::At pools = m_history.at(p);
    const auto& notes = m_history.notes();
    for (size_t i : pools.evicted) {
        const memory::PoolHistory::Note& n = notes[i];
        snap.evicted.push_back({n.layer, n.position, m_map.tokenChars[size_t(n.position)], charEnd(n.position),
                                n.evictedAt});
    }
    for (size_t i : pools.held) {
        const memory::PoolHistory::Note& n = notes[i];
        ui::PoolEntry e;
        e.layer = n.layer;
        e.slot = n.slot;
        e.tokenPosition = n.position;
        e.charStart = m_map.tokenChars[size_t(n.position)];
        e.charEnd = charEnd(n.position);
        e.score = n.score;
        e.ageTokens = p - n.position;
        if (attention) {
            const auto it = attention->find({int(n.layer), n.position});
            e.lastQuestionAttention = it == attention->end() ? 0.0f : it->second;
        }
        const int64_t from = std::max<int64_t>(0, e.charStart - kContextChars);
        e.context = textOf(from, std::min<int64_t>(visible, e.charEnd + kContextChars));
        e.contextTokenStart = utf16Index(e.context, e.charStart - from);
        e.contextTokenLength = utf16Index(e.context, e.charEnd - from) - e.contextTokenStart;
        snap.entries.push_back(e);
    }
    return snap;
}

}  // namespace mm::memoryui
