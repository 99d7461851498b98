// Thin RAII wrappers over the SQLite C API for storage's own modules: a prepared
// Statement with typed binds and columns, and a WriteTransaction (BEGIN IMMEDIATE,
// rolled back unless committed). Every failure throws StorageError naming the SQL.
#pragma once

#include "storage/database.h"

#include <QByteArray>
#include <QHash>
#include <QString>

struct sqlite3_stmt;

namespace mm::storage::sql {

/// Runs one or more statements that return no rows; throws StorageError on failure.
void exec(sqlite3* db, const char* sqlText, const char* what);

/// Reads a single integer from a pragma or query ("PRAGMA user_version").
qint64 queryInt(sqlite3* db, const char* sqlText);

/// Throws a StorageError for the connection's last error, led by its cause when the
/// cause is the disk or another program ("the disk is full: ...", "a disk I/O error:
/// ...", "the library is busy: ..."), with what was being done and SQLite's own words.
[[noreturn]] void fail(sqlite3* db, const QString& what);

/// The cause of an (extended) SQLite result code.
StorageError::Cause causeOf(int sqliteCode);
/// The user's message for a failure with that code (see fail()).
StorageError errorFor(int sqliteCode, const QString& what, const QString& sqliteMessage);

/// A connection's prepared statements kept for reuse: the answer pipeline runs the same
/// few queries (FTS5 searches, sentence windows) dozens of times a question, and preparing
/// an FTS5 query costs about as much as running it. Keyed by the SQL text's address (the
/// queries are constants); one connection, one thread, as the connection itself.
class StatementCache {
public:
    explicit StatementCache(sqlite3* db) : m_db(db) {}
    ~StatementCache();  ///< finalizes what it keeps: before the connection closes
    StatementCache(const StatementCache&) = delete;
    StatementCache& operator=(const StatementCache&) = delete;

    /// The kept statement for sqlText, or a new one (a statement in use is not shared:
    /// a query made while another with the same text is open gets its own).
    sqlite3_stmt* take(const char* sqlText);
    /// Reset, unbound and kept (one per text; an extra one is finalized).
    void giveBack(const char* sqlText, sqlite3_stmt* stmt);

private:
    sqlite3* m_db;
    QHash<const char*, sqlite3_stmt*> m_kept;
};

class Statement {
public:
    Statement(sqlite3* db, const char* sqlText);
    /// A statement from (and given back to) the connection's cache.
    Statement(StatementCache& cache, const char* sqlText);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int index, qint64 value);
    Statement& bind(int index, int value) { return bind(index, qint64(value)); }
    Statement& bind(int index, double value);
    Statement& bind(int index, const QString& value);
    Statement& bind(int index, const QByteArray& blob);
    Statement& bindNull(int index);

    /// Advances: true when a row is ready, false when done. Throws on error.
    bool step();
    /// Steps a statement that returns no rows.
    void run() { while (step()) {} }
    void reset();

    qint64 int64(int column) const;
    double real(int column) const;
    QString text(int column) const;
    QByteArray blob(int column) const;
    bool isNull(int column) const;

private:
    sqlite3* m_db;
    sqlite3_stmt* m_stmt = nullptr;
    const char* m_sql;
    StatementCache* m_cache = nullptr;
};

/// BEGIN IMMEDIATE: takes the write lock at once (waiting up to the busy timeout), so a
/// write never fails half-way on a lock upgrade. Rolled back by the destructor unless
/// commit() ran, so any exception leaves the database as it was.
class WriteTransaction {
public:
    explicit WriteTransaction(sqlite3* db);
    ~WriteTransaction();
    WriteTransaction(const WriteTransaction&) = delete;
    WriteTransaction& operator=(const WriteTransaction&) = delete;
    void commit();

private:
    sqlite3* m_db;
    bool m_open = false;
};

}  // namespace mm::storage::sql
