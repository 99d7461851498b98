#include "ui/memory_service.h"

namespace mm::ui {

void registerMemoryMetaTypes()
{
    qRegisterMetaType<MemoryNoteEvent>();
    qRegisterMetaType<std::shared_ptr<const MemoryMapData>>();
    qRegisterMetaType<PoolSnapshot>();
    qRegisterMetaType<AskRequest>();
    qRegisterMetaType<AnswerEvidence>();
    qRegisterMetaType<AnswerRecord>();
    qRegisterMetaType<QVector<AnswerRecord>>();
    qRegisterMetaType<IngestJob>();
    qRegisterMetaType<MemoryDevice>();
    qRegisterMetaType<FidelityRequest>();
    qRegisterMetaType<FidelityCurves>();
}

}  // namespace mm::ui
