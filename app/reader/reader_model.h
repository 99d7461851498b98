// The reader's model: which one to load (ModelMemoryOptions) and loading it off the GUI
// thread through the memory library's one loader (app/memory/model_loader.h), with the
// device as the reading queue shows it. Every worker waits on the same QFuture, so the
// requests made while the model loads are answered once it is there.
#pragma once

#include "ui/memory_types.h"

#include <QFuture>
#include <QString>

#include <functional>
#include <memory>

namespace mm::memory {
struct LoadedModel;
}  // namespace mm::memory

namespace mm::memoryui {

struct ModelMemoryOptions {
    QString databasePath;
    QString modelDir;              ///< empty: the shipped model (resources/models/default)
    QString device = QStringLiteral("auto");  ///< "auto", "cpu" or "cuda"
    bool random = false;           ///< a randomly initialised model (tests)
    QString randomConfig = QStringLiteral("{}");  ///< its config (JSON, may be partial)
    qint64 checkpointEvery = 16384;  ///< ingest: at most this many tokens between checkpoints
    int prepareDelayMs = 1500;     ///< reader settled this long at a position: prepareAt there
    bool resumeUnfinished = true;  ///< re-queue documents whose reading was interrupted
};

/// A loaded model (shared by the workers, immutable) and its device, or why there is none.
struct ReaderModel {
    std::shared_ptr<const memory::LoadedModel> model;
    ui::MemoryDevice device;
    QString error;  ///< non-empty: the model could not be loaded (model is null)
};

/// Loads the model (warmed up) and measures its reading speed on Qt's global thread pool.
/// announce (may be empty) is called on that thread with the result just before the
/// future finishes: a receiver that posts it to itself hears of the model before any
/// worker waiting on the future can answer a request.
QFuture<ReaderModel> loadReaderModel(const ModelMemoryOptions& options,
                                     std::function<void(const ReaderModel&)> announce = {});

}  // namespace mm::memoryui
