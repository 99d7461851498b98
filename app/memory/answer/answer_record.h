// An answer of the answers pipeline (answerer.h) as the one question-and-answer record
// (app/memory/qa_record.h) that the command line and the reader keep in the history.
#pragma once

#include "app/memory/answer/answerer.h"
#include "app/memory/qa_record.h"

#include <cstdint>
#include <string>

namespace mm::memory {
struct MemoryContext;
}  // namespace mm::memory

namespace mm::answer {

/// What the record needs beyond the answer: who asked and with what.
struct AnswerAsked {
    bool wholeDocument = false;    ///< asked about the whole document (as_of_char -1)
    int64_t askId = -1;            ///< the reader's id of the question; -1 from the command line
    double stateLoadMs = -1;       ///< the model's stored state load; -1: no model
};

/// The finished record of r: its answer, verdict, support, evidence (with chapter index
/// and title), the position's chapter and the timings. memory: the model whose stored
/// memory of the document took part (the record's model, and the tokens it had read at
/// the position); null when the answer came from the text alone.
memory::QaRecord qaRecordOfAnswer(storage::Database& db, const memory::MemoryContext* memory, const QString& question,
                                  const AnswerResult& r, const AnswerAsked& asked);

}  // namespace mm::answer
