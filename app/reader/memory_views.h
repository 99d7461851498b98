// The memory library's values as the reader's panels take them (ui/memory_types.h):
// conversions only, no model and no storage. Used by ModelMemoryService's workers.
#pragma once

#include "app/memory/memory.h"
#include "ui/memory_types.h"

#include <QList>
#include <QString>

#include <map>
#include <memory>
#include <string>
#include <utility>

namespace mm::memoryui {

QString q(const std::string& s);

/// (layer, token) -> how strongly the last answer read that note (0..1).
using NoteAttention = std::map<std::pair<int, int64_t>, float>;

/// The one record (app/memory/qa_record.h) as the ask panel shows it.
ui::AnswerRecord answerRecordOf(const memory::QaRecord& r);
/// What the panel asks to keep: the record the answer made (all of it), with the
/// panel's outcome (a cancelled or failed answer keeps what it streamed); without one,
/// the panel's record as it stands.
memory::QaRecord qaRecordOf(const ui::AnswerRecord& shown, const memory::QaRecord* made);

std::shared_ptr<const ui::MemoryMapData> memoryMapDataOf(qint64 docId, const memory::MemoryMap& map);
ui::FidelityCurves curvesOf(qint64 docId, const memory::DocumentFidelity& f);

/// The open document's memory as the map loaded it, kept so the pools at any position are
/// a filter over its note history (memory::PoolHistory), with the notes' context from the
/// text in memory: milliseconds where asking the library for each note takes seconds.
class PoolView {
public:
    qint64 docId() const { return m_docId; }
    const memory::MemoryMap& map() const { return m_map; }
    void build(qint64 docId, memory::MemoryMap map, const QString& documentText);
    /// Every layer's pool at atChar, 60 characters of context each side that stop at the
    /// position (spoiler safe); attention: the last answer's, or none.
    ui::PoolSnapshot snapshot(qint64 atChar, const NoteAttention* attention) const;

private:
    int64_t tokenAt(int64_t atChar) const;
    int64_t charEnd(int64_t token) const;
    QString textOf(int64_t from, int64_t to) const;

    qint64 m_docId = 0;
    memory::MemoryMap m_map;
    memory::PoolHistory m_history;
    QList<uint> m_text;  ///< the document's code points
};

}  // namespace mm::memoryui
