// PDF through Qt PDF (pdfium): the reader's checks, page texts, the outline. pdfium
// reads files, so each input is written to one temporary file. Bad input must end in
// ImportError.
#include "fuzz_passages.h"
#include "storage/import/pdf_reader.h"

#include <QCoreApplication>
#include <QFile>
#include <QTemporaryDir>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static int argc = 1;
    static char name[] = "fuzz_pdf";
    static char* argv[] = {name, nullptr};
    static QCoreApplication app(argc, argv);
    static QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("input.pdf"));
    {
        QFile file(path);
        FUZZ_CHECK(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
        file.write(reinterpret_cast<const char*>(data), qint64(size));
    }
    try {
        const mm::import::ImportedDocument doc = mm::import::PdfReader().read(path);
        FUZZ_CHECK(!doc.pageStarts.isEmpty() && doc.pageStarts.first() == 0);
        for (int i = 1; i < doc.pageStarts.size(); ++i)
            FUZZ_CHECK(doc.pageStarts[i] >= doc.pageStarts[i - 1] && doc.pageStarts[i] <= doc.text.size());
        checkChaptersAndPassages(doc.text, doc.chapters);
    } catch (const mm::import::ImportError&) {
    }
    return 0;
}
