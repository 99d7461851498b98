#include "storage/sqlite_util.h"

#include <sqlite3.h>

namespace mm::storage::sql {

StorageError::Cause causeOf(int sqliteCode)
{
    using Cause = StorageError::Cause;
    switch (sqliteCode & 0xff) {
    case SQLITE_FULL:
        return Cause::DiskFull;
    case SQLITE_IOERR:
        // SQLite reports a full disk found while writing its journal as IOERR too.
        return Cause::IoError;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return Cause::Busy;
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return Cause::ReadOnly;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return Cause::Corrupt;
    default:
        return Cause::Other;
    }
}

StorageError errorFor(int sqliteCode, const QString& what, const QString& sqliteMessage)
{
    using Cause = StorageError::Cause;
    const Cause cause = causeOf(sqliteCode);
    const QString detail = QStringLiteral("%1 (SQLite error %2: %3)").arg(what).arg(sqliteCode).arg(sqliteMessage);
    // Every write is one transaction that SQLite rolls back whole when it fails, so a
    // failure of the disk changes nothing that was stored: say so, and what to do.
    QString text;
    switch (cause) {
    case Cause::DiskFull:
        text = QStringLiteral("the disk is full: %1; nothing in the library was changed: free some space and try again").arg(detail);
        break;
    case Cause::IoError:
        text = QStringLiteral("a disk I/O error: %1; nothing in the library was changed: check the disk and try again").arg(detail);
        break;
    case Cause::Busy:
        text = QStringLiteral("the library is busy: another MemMamba program (a reader window or memmamba) is writing to it: %1; "
                              "try again when it has finished").arg(detail);
        break;
    case Cause::ReadOnly:
        text = QStringLiteral("the library is read-only: %1; check the permissions of the file and its folder").arg(detail);
        break;
    case Cause::Corrupt:
        text = QStringLiteral("the library file is damaged: %1").arg(detail);
        break;
    case Cause::Other:
        text = QStringLiteral("%1: %2 (SQLite error %3)").arg(what, sqliteMessage).arg(sqliteCode);
        break;
    }
    return StorageError(text.toStdString(), cause);
}

void fail(sqlite3* db, const QString& what)
{
    throw errorFor(sqlite3_extended_errcode(db), what, QString::fromUtf8(sqlite3_errmsg(db)));
}

void exec(sqlite3* db, const char* sqlText, const char* what)
{
    char* message = nullptr;
    const int rc = sqlite3_exec(db, sqlText, nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
        const QString text = QString::fromUtf8(message ? message : sqlite3_errmsg(db));
        sqlite3_free(message);
        const int code = sqlite3_extended_errcode(db);
        throw errorFor(code != SQLITE_OK ? code : rc, QString::fromUtf8(what), text);
    }
}

qint64 queryInt(sqlite3* db, const char* sqlText)
{
    Statement stmt(db, sqlText);
    return stmt.step() ? stmt.int64(0) : 0;
}

static sqlite3_stmt* prepare(sqlite3* db, const char* sqlText)
{
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sqlText, -1, &stmt, nullptr) != SQLITE_OK)
        fail(db, QStringLiteral("cannot prepare \"%1\"").arg(QString::fromUtf8(sqlText).simplified().left(80)));
    return stmt;
}

StatementCache::~StatementCache()
{
    for (sqlite3_stmt* stmt : std::as_const(m_kept))
        sqlite3_finalize(stmt);
}

sqlite3_stmt* StatementCache::take(const char* sqlText)
{
    if (sqlite3_stmt* kept = m_kept.take(sqlText))
        return kept;
    return prepare(m_db, sqlText);
}

void StatementCache::giveBack(const char* sqlText, sqlite3_stmt* stmt)
{
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    if (m_kept.contains(sqlText))
        sqlite3_finalize(stmt);
    else
        m_kept.insert(sqlText, stmt);
}

Statement::Statement(sqlite3* db, const char* sqlText) : m_db(db), m_sql(sqlText)
{
    m_stmt = prepare(db, sqlText);
}

Statement::Statement(StatementCache& cache, const char* sqlText)
    : m_db(nullptr), m_sql(sqlText), m_cache(&cache)
{
    m_stmt = cache.take(sqlText);
    m_db = sqlite3_db_handle(m_stmt);
}

Statement::~Statement()
{
    if (m_cache)
        m_cache->giveBack(m_sql, m_stmt);
    else
        sqlite3_finalize(m_stmt);
}

static void checkBind(sqlite3* db, int rc, const char* sqlText)
{
    if (rc != SQLITE_OK)
        fail(db, QStringLiteral("cannot bind a value to \"%1\"").arg(QString::fromUtf8(sqlText).simplified().left(80)));
}

Statement& Statement::bind(int index, qint64 value)
{
    checkBind(m_db, sqlite3_bind_int64(m_stmt, index, value), m_sql);
    return *this;
}

Statement& Statement::bind(int index, double value)
{
    checkBind(m_db, sqlite3_bind_double(m_stmt, index, value), m_sql);
    return *this;
}

Statement& Statement::bind(int index, const QString& value)
{
    const QByteArray utf8 = value.toUtf8();
    checkBind(m_db, sqlite3_bind_text64(m_stmt, index, utf8.constData(), sqlite3_uint64(utf8.size()),
                                        SQLITE_TRANSIENT, SQLITE_UTF8), m_sql);
    return *this;
}

Statement& Statement::bind(int index, const QByteArray& blob)
{
    if (blob.isNull())
        return bindNull(index);
    checkBind(m_db, sqlite3_bind_blob64(m_stmt, index, blob.constData(), sqlite3_uint64(blob.size()),
                                        SQLITE_TRANSIENT), m_sql);
    return *this;
}

Statement& Statement::bindNull(int index)
{
    checkBind(m_db, sqlite3_bind_null(m_stmt, index), m_sql);
    return *this;
}

bool Statement::step()
{
    const int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW)
        return true;
    if (rc == SQLITE_DONE)
        return false;
    fail(m_db, QStringLiteral("\"%1\" failed").arg(QString::fromUtf8(m_sql).simplified().left(80)));
}

void Statement::reset()
{
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
}

qint64 Statement::int64(int column) const
{
    return sqlite3_column_int64(m_stmt, column);
}

double Statement::real(int column) const
{
    return sqlite3_column_double(m_stmt, column);
}

QString Statement::text(int column) const
{
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, column));
    return data ? QString::fromUtf8(data, sqlite3_column_bytes(m_stmt, column)) : QString();
}

QByteArray Statement::blob(int column) const
{
    const void* data = sqlite3_column_blob(m_stmt, column);
    if (!data)
        return {};
    return QByteArray(static_cast<const char*>(data), sqlite3_column_bytes(m_stmt, column));
}

bool Statement::isNull(int column) const
{
    return sqlite3_column_type(m_stmt, column) == SQLITE_NULL;
}

WriteTransaction::WriteTransaction(sqlite3* db) : m_db(db)
{
    exec(db, "BEGIN IMMEDIATE", "cannot start a write transaction");
    m_open = true;
}

WriteTransaction::~WriteTransaction()
{
    if (m_open)
        sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
}

void WriteTransaction::commit()
{
    exec(m_db, "COMMIT", "cannot commit a write transaction");
    m_open = false;
}

}  // namespace mm::storage::sql
