// The memory library's errors: one line that names the problem and what to do about it.
#pragma once

#include <stdexcept>

namespace mm::memory {

class MemoryError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The stored memory belongs to another model or tokenizer: it cannot be used with this
/// one, and the document must be read again. Reported, never acted on: asking or looking
/// changes nothing stored (MemoryState::Stale is derived, document_memory.h).
class StaleMemoryError : public MemoryError {
public:
    using MemoryError::MemoryError;
};

}  // namespace mm::memory
