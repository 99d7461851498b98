// See reader_model.h.
#include "app/reader/reader_model.h"

#include "app/memory/model_loader.h"
#include "app/reader/memory_views.h"

#include <QtConcurrent/QtConcurrentRun>

namespace mm::memoryui {

namespace {

ReaderModel load(const ModelMemoryOptions& options)
{
    ReaderModel out;
    try {
        memory::ModelChoice choice;
        choice.modelDir = options.modelDir.toStdString();
        choice.random = options.random;
        choice.randomConfig = options.randomConfig.toStdString();
        choice.device = options.device.toStdString();
        // warm: on CUDA the context, handles and kernels now, not in the first question.
        auto model = std::make_shared<memory::LoadedModel>(memory::loadModel(choice, true));
        const memory::DeviceInfo where = memory::deviceOf(*model);
        out.device.gpu = where.gpu;
        out.device.name = out.device.gpu ? QObject::tr("CUDA GPU: %1").arg(q(where.cudaDeviceName))
                          : where.threads == 1 ? QObject::tr("CPU (1 thread)")
                                               : QObject::tr("CPU (%1 threads)").arg(where.threads);
        out.device.expectedTokensPerSecond = memory::measureReadingSpeed(*model->model, *model->tokenizer);
        out.model = std::move(model);
    } catch (const std::exception& e) {
        out.model.reset();
        out.error = q(e.what());
    }
    return out;
}

}  // namespace

QFuture<ReaderModel> loadReaderModel(const ModelMemoryOptions& options,
                                     std::function<void(const ReaderModel&)> announce)
{
    return QtConcurrent::run([options, announce = std::move(announce)] {
        ReaderModel loaded = load(options);
        if (announce)
            announce(loaded);
        return loaded;
    });
}

}  // namespace mm::memoryui
