// Breaks "ui-engine".
#include "app/memory/memory.h"
#include "engine/tokenizer/tokenizer.h"
