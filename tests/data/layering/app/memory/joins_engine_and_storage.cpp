// Allowed: app/memory is where the model meets the stored book.
#include "engine/engine.h"
#include "storage/memory_store.h"
