// See document_memory.h: each call hands over to the file of its job.
#include "app/memory/document_memory.h"

#include "app/memory/memory_context.h"

namespace mm::memory {

DocumentMemory::DocumentMemory(storage::Database& db, const Model& model, const Tokenizer& tokenizer)
    : d(std::make_unique<MemoryContext>(db, model, tokenizer))
{
}

DocumentMemory::~DocumentMemory() = default;

const std::string& DocumentMemory::producer() const { return d->producer; }

MemoryStatus DocumentMemory::status(int64_t docId) const
{
    MemoryStatus s;
    const auto run = d->store.run(docId);
    const QStringList producers = d->store.producers(docId);
    if (run && run->fingerprint == qstr(d->producer)) {
        s.state = run->doneTokens >= run->totalTokens ? MemoryState::Ready : MemoryState::Reading;
        s.doneTokens = run->doneTokens;
        s.totalTokens = run->totalTokens;
        s.producer = d->producer;
    } else if (!producers.isEmpty()) {
        s.state = MemoryState::Stale;
        s.producer = producers.front().toStdString();
    } else {
        s.state = MemoryState::None;
    }
    return s;
}

IngestResult DocumentMemory::ingest(int64_t docId, const IngestOptions& options)
{
    return readDocument(*d, docId, options);
}

AskResult DocumentMemory::ask(int64_t docId, const std::string& question, const AskOptions& options)
{
    return answerQuestion(*d, docId, question, options);
}

State DocumentMemory::stateAt(int64_t docId, std::optional<int64_t> atChar, int64_t* checkpointPos, int64_t* replayed,
                              int64_t* position)
{
    Recalled r = recallState(*d, docId, atChar);
    if (checkpointPos)
        *checkpointPos = r.checkpointPosition;
    if (replayed)
        *replayed = r.replayedTokens;
    if (position)
        *position = r.position;
    return std::move(r.state);
}

int64_t DocumentMemory::prepareAt(int64_t docId, int64_t atChar) { return memory::prepareAt(*d, docId, atChar); }

State DocumentMemory::checkpointState(int64_t docId, int64_t position)
{
    return memory::checkpointState(*d, docId, position);
}

CheckpointDecoder DocumentMemory::checkpointDecoder(int64_t docId, int64_t position)
{
    return memory::checkpointDecoder(*d, docId, position);
}

NotesView DocumentMemory::notes(int64_t docId, int layer, std::optional<int64_t> atChar, int contextChars)
{
    return notesAt(*d, docId, layer, atChar, contextChars);
}

MemoryMap DocumentMemory::memoryMap(int64_t docId) { return memory::memoryMap(*d, docId); }

std::vector<PoolNote> DocumentMemory::noteTimeline(int64_t docId, int layer, bool withContext)
{
    return memory::noteTimeline(*d, docId, layer, withContext);
}

std::vector<MemorySearchHit> DocumentMemory::search(const std::string& query, int64_t docId, int limit)
{
    return searchMemory(*d, query, docId, limit);
}

int64_t DocumentMemory::tokenPositionAt(int64_t docId, int64_t atChar)
{
    return memory::tokenPositionAt(*d, docId, atChar);
}

SelfTestResult DocumentMemory::selfTest(int64_t docId, const SelfTestOptions& options)
{
    return memory::selfTest(*d, docId, options);
}

}  // namespace mm::memory
