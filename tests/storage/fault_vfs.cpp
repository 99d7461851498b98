#include "fault_vfs.h"

#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <mutex>

namespace mm::test {
namespace {

std::atomic<int> g_fault{int(FaultVfs::Fault::None)};
std::atomic<int> g_nth{0};
std::atomic<bool> g_persistent{false};
std::atomic<int> g_count{0};
std::atomic<int> g_failures{0};

sqlite3_vfs* g_base = nullptr;
sqlite3_vfs g_vfs;

/// Our file: the header SQLite sees, followed in the same allocation by the real file.
struct FaultFile {
    sqlite3_file base;
    sqlite3_file* real;
};

sqlite3_file* real(sqlite3_file* f)
{
    return reinterpret_cast<FaultFile*>(f)->real;
}

/// Counts one write or sync; returns the error to answer instead of doing it, or
/// SQLITE_OK to let it through.
int injected(int ioErrorCode)
{
    const int n = ++g_count;
    const auto fault = FaultVfs::Fault(g_fault.load());
    if (fault == FaultVfs::Fault::None || n < g_nth.load())
        return SQLITE_OK;
    if (n > g_nth.load() && !g_persistent.load())
        return SQLITE_OK;
    ++g_failures;
    return fault == FaultVfs::Fault::DiskFull ? SQLITE_FULL : ioErrorCode;
}

int xClose(sqlite3_file* f)
{
    const int rc = real(f)->pMethods ? real(f)->pMethods->xClose(real(f)) : SQLITE_OK;
    f->pMethods = nullptr;
    return rc;
}
int xRead(sqlite3_file* f, void* buffer, int amount, sqlite3_int64 offset)
{
    return real(f)->pMethods->xRead(real(f), buffer, amount, offset);
}
int xWrite(sqlite3_file* f, const void* buffer, int amount, sqlite3_int64 offset)
{
    if (const int rc = injected(SQLITE_IOERR_WRITE))
        return rc;
    return real(f)->pMethods->xWrite(real(f), buffer, amount, offset);
}
int xTruncate(sqlite3_file* f, sqlite3_int64 size)
{
    return real(f)->pMethods->xTruncate(real(f), size);
}
int xSync(sqlite3_file* f, int flags)
{
    if (const int rc = injected(SQLITE_IOERR_FSYNC))
        return rc;
    return real(f)->pMethods->xSync(real(f), flags);
}
int xFileSize(sqlite3_file* f, sqlite3_int64* size)
{
    return real(f)->pMethods->xFileSize(real(f), size);
}
int xLock(sqlite3_file* f, int level)
{
    return real(f)->pMethods->xLock(real(f), level);
}
int xUnlock(sqlite3_file* f, int level)
{
    return real(f)->pMethods->xUnlock(real(f), level);
}
int xCheckReservedLock(sqlite3_file* f, int* out)
{
    return real(f)->pMethods->xCheckReservedLock(real(f), out);
}
int xFileControl(sqlite3_file* f, int op, void* arg)
{
    return real(f)->pMethods->xFileControl(real(f), op, arg);
}
int xSectorSize(sqlite3_file* f)
{
    return real(f)->pMethods->xSectorSize(real(f));
}
int xDeviceCharacteristics(sqlite3_file* f)
{
    return real(f)->pMethods->xDeviceCharacteristics(real(f));
}
int xShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out)
{
    return real(f)->pMethods->xShmMap(real(f), region, size, extend, out);
}
int xShmLock(sqlite3_file* f, int offset, int n, int flags)
{
    return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
}
void xShmBarrier(sqlite3_file* f)
{
    real(f)->pMethods->xShmBarrier(real(f));
}
int xShmUnmap(sqlite3_file* f, int deleteFlag)
{
    return real(f)->pMethods->xShmUnmap(real(f), deleteFlag);
}
int xFetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out)
{
    return real(f)->pMethods->xFetch(real(f), offset, amount, out);
}
int xUnfetch(sqlite3_file* f, sqlite3_int64 offset, void* page)
{
    return real(f)->pMethods->xUnfetch(real(f), offset, page);
}

const sqlite3_io_methods kMethods = {
    3, xClose, xRead, xWrite, xTruncate, xSync, xFileSize, xLock, xUnlock, xCheckReservedLock,
    xFileControl, xSectorSize, xDeviceCharacteristics, xShmMap, xShmLock, xShmBarrier, xShmUnmap,
    xFetch, xUnfetch,
};

int xOpen(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* outFlags)
{
    auto* ours = reinterpret_cast<FaultFile*>(file);
    ours->real = reinterpret_cast<sqlite3_file*>(ours + 1);
    std::memset(ours->real, 0, size_t(g_base->szOsFile));
    // The default VFS finds its locking style through its own pAppData: call it as itself.
    const int rc = g_base->xOpen(g_base, name, ours->real, flags, outFlags);
    ours->base.pMethods = ours->real->pMethods ? &kMethods : nullptr;
    return rc;
}

}  // namespace

void FaultVfs::install()
{
    static std::once_flag once;
    std::call_once(once, [] {
        g_base = sqlite3_vfs_find(nullptr);
        g_vfs = *g_base;
        g_vfs.zName = "mm-fault";
        g_vfs.szOsFile = int(sizeof(FaultFile)) + g_base->szOsFile;
        g_vfs.xOpen = xOpen;
        g_vfs.pNext = nullptr;
        sqlite3_vfs_register(&g_vfs, 1);
    });
}

void FaultVfs::arm(Fault fault, int nth, bool persistent)
{
    g_fault = int(Fault::None);
    g_count = 0;
    g_failures = 0;
    g_nth = nth;
    g_persistent = persistent;
    g_fault = int(fault);
}

void FaultVfs::disarm()
{
    g_fault = int(Fault::None);
}

int FaultVfs::operations()
{
    return g_count.load();
}

void FaultVfs::resetCount()
{
    g_count = 0;
}

int FaultVfs::failures()
{
    return g_failures.load();
}

}  // namespace mm::test
