// Breaks "ui-memory": the panels may share app/memory's MemoryState, nothing else.
#include "app/memory/memory_state.h"
#include "app/memory/document_memory.h"
