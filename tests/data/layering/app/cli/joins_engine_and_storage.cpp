// Breaks "both": joins the engine and storage outside app/memory.
#include "engine/engine.h"
#include "storage/database.h"
