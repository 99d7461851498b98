// The JSON of an answer (`memmamba ask --json`, `memmamba eval qa`; the Q&A history keeps
// the question-and-answer record instead: answer_record.h).
#pragma once

#include "app/memory/answer/answerer.h"

#include <nlohmann/json.hpp>

namespace mm::answer {

/// answer, found, not_found, confidence, support {char_start, char_end, chapter, text},
/// evidence [{char_start, char_end, chapter, chapter_title, text, score}], candidates,
/// card (who-is), question analysis and timings (answer_ms, retrieval_ms, ...).
nlohmann::json answerJson(const AnswerResult& result);

}  // namespace mm::answer
