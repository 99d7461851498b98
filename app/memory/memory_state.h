// Where a document's memory stands for this model: a plain enum with no dependencies, so
// the reader's panels (ui/, which never includes the engine) share the library's word for
// it (ui/reading_session.h). The one app/memory header that ui/ may include.
#pragma once

namespace mm::memory {

enum class MemoryState {
    None,     ///< not read
    Reading,  ///< read in part (a reading in progress or interrupted: it resumes)
    Ready,    ///< read to the end
    Stale,    ///< read by another model or tokenizer: must be read again
};

}  // namespace mm::memory
