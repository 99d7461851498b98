// A read-only zip archive in memory (EPUB's container) with the limits that keep a
// hostile archive harmless: total and per-entry uncompressed size, the compression ratio
// (zip bombs), entry names that are absolute or climb with ".." (path traversal; entries
// are never written to disk anyway), entry counts. Every refusal is an ImportError naming
// the file. Uses libzip.
#pragma once

#include "storage/import/document_reader.h"

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <memory>

namespace mm::import {

struct ZipLimits {
    qint64 maxTotalBytes = 512LL * 1024 * 1024;  ///< all entries, uncompressed
    qint64 maxEntryBytes = 64LL * 1024 * 1024;   ///< one entry, uncompressed
    qint64 maxRatio = 200;        ///< uncompressed/compressed, for entries over 1 MB
    qint64 maxEntries = 20000;
};

class ZipArchive {
public:
    /// Opens the archive held in bytes; displayName names it in messages. Checks every
    /// entry's name and declared sizes before anything is read.
    ZipArchive(QByteArray bytes, const QString& displayName, const ZipLimits& limits = {});
    ~ZipArchive();
    ZipArchive(const ZipArchive&) = delete;
    ZipArchive& operator=(const ZipArchive&) = delete;

    bool contains(const QString& name) const;
    QStringList entryNames() const;
    /// The entry's bytes; never more than the limits allow, whatever the header claims
    /// (a lying size header is refused as corrupt). Throws ImportError when the entry
    /// is missing or damaged (CRC, truncated data).
    QByteArray read(const QString& name) const;

    /// "'x.epub' " + problem, as an ImportError.
    [[noreturn]] void refuse(const QString& problem) const;

private:
    struct Impl;
    std::unique_ptr<Impl> d;
};

}  // namespace mm::import
