// The heap policy of the executables (app/heap.h): freed memory stays with the process.
#include "app/heap.h"

#include <QtTest>

#include <cstdlib>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

class TestHeap : public QObject {
    Q_OBJECT

private slots:
    void defaultIsLeftAloneWhenAsked();
    void freedMemoryIsKept();
};

void TestHeap::defaultIsLeftAloneWhenAsked()
{
    qputenv("MEMMAMBA_MALLOC", "default");
    QVERIFY(!mm::keepFreedMemory());
    qunsetenv("MEMMAMBA_MALLOC");
}

void TestHeap::freedMemoryIsKept()
{
#if !defined(__GLIBC__)
    QSKIP("glibc only");
#else
    qunsetenv("MALLOC_TRIM_THRESHOLD_");
    qunsetenv("MALLOC_MMAP_THRESHOLD_");
    qunsetenv("MALLOC_TOP_PAD_");
    QVERIFY(mm::keepFreedMemory());
    // 16 MB in blocks of 64 KB (below glibc's default mmap threshold, so from the heap),
    // freed newest first: with glibc's defaults (trim above 128 KB) the top of the heap goes
    // back to the kernel as it is freed; kept, the main arena stays as large.
    constexpr size_t kBlock = 64 * 1024, kBlocks = 256;
    std::vector<void*> blocks;
    for (size_t i = 0; i < kBlocks; ++i) {
        blocks.push_back(std::malloc(kBlock));
        QVERIFY(blocks.back());
        static_cast<char*>(blocks.back())[0] = 1;
    }
    const size_t grown = mallinfo2().arena;
    while (!blocks.empty()) {
        std::free(blocks.back());
        blocks.pop_back();
    }
    const size_t after = mallinfo2().arena;
    QVERIFY2(grown >= kBlock * kBlocks, qPrintable(QStringLiteral("arena %1").arg(grown)));
    QVERIFY2(after >= kBlock * kBlocks, qPrintable(QStringLiteral("arena %1 after freeing, %2 before").arg(after).arg(grown)));
#endif
}

QTEST_GUILESS_MAIN(TestHeap)
#include "tst_heap.moc"
