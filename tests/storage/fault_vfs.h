// A fault-injecting SQLite VFS for tests, in the spirit of SQLite's own test6.c /
// ioerr.test: it wraps the default VFS (registered as the new default, so every
// connection the code under test opens goes through it) and, once armed, fails the Nth
// write or sync (counted over every file: the database, its WAL, journals) with an I/O
// error or a full disk. A full disk stays full until disarm(); an I/O error fails once
// or, when persistent, until disarm().
#pragma once

namespace mm::test {

class FaultVfs {
public:
    enum class Fault { None, IoError, DiskFull };

    /// Registers the VFS as SQLite's default (idempotent). Call before opening databases.
    static void install();
    /// From now on, the nth write or sync (1-based) fails with fault, and so does every
    /// later one if persistent. Resets the counters.
    static void arm(Fault fault, int nth, bool persistent);
    /// No more faults; the counters keep counting.
    static void disarm();
    /// Writes and syncs seen since the last arm() (or resetCount()).
    static int operations();
    static void resetCount();
    /// How many operations were failed since the last arm().
    static int failures();
};

}  // namespace mm::test
