// The memory library (app/memory): the one place where the model (engine/) meets the
// stored book (storage/). This header brings in every job's header; include the one you
// need instead where it is enough. See document_memory.h for the map of the files and
// docs/memory.md for what is stored and why.
#pragma once

#include "app/memory/document_fidelity.h"
#include "app/memory/document_memory.h"
#include "app/memory/model_loader.h"
#include "app/memory/qa_record.h"
#include "app/memory/selftest.h"
