// Who or what a name is, from the whole book before the position: a name written after a
// title ("Mr. Donne", "General Gatacre") or before "said" is a person's; one written after
// "at", "in", "to" or "from" and never after a title is a place's. Counted with FTS5 phrase
// queries (the index ignores the title's full stop), bounded by the position like
// everything else.
#pragma once

#include "app/memory/answer/candidates.h"
#include "storage/database.h"

namespace mm::answer {

/// Sets personLike/placeLike (and the kind) of the name candidates from the book's use of
/// each name before the position; at most maxNames distinct names are looked up.
void classifyNames(const storage::Database& db, qint64 docId, qint64 before, const Retrieval& retrieval,
                   QVector<Candidate>& candidates, int maxNames = 16);

}  // namespace mm::answer
