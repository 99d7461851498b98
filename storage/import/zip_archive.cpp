#include "storage/import/zip_archive.h"

#include <zip.h>

#include <QHash>

namespace mm::import {
namespace {

/// Absolute names, drive letters, backslashes and any ".." component would land
/// outside a folder the archive were extracted into: such an archive is hostile.
bool climbsOut(const QString& name)
{
    if (name.startsWith(QLatin1Char('/')) || name.startsWith(QLatin1Char('\\')))
        return true;
    if (name.size() >= 2 && name.at(1) == QLatin1Char(':'))
        return true;
    const QStringList parts = QString(name).replace(QLatin1Char('\\'), QLatin1Char('/')).split(QLatin1Char('/'));
    return parts.contains(QStringLiteral(".."));
}

constexpr qint64 kMiB = 1024 * 1024;

}  // namespace

struct ZipArchive::Impl {
    QByteArray bytes;  // libzip reads from this buffer; it must outlive the archive
    QString displayName;
    ZipLimits limits;
    zip_t* archive = nullptr;
    QHash<QString, zip_uint64_t> indexByName;
    QHash<QString, qint64> sizeByName;

    ~Impl()
    {
        if (archive)
            zip_discard(archive);
    }
};

ZipArchive::ZipArchive(QByteArray bytes, const QString& displayName, const ZipLimits& limits)
    : d(std::make_unique<Impl>())
{
    d->bytes = std::move(bytes);
    d->displayName = displayName;
    d->limits = limits;

    zip_error_t error;
    zip_error_init(&error);
    zip_source_t* source = zip_source_buffer_create(d->bytes.constData(), zip_uint64_t(d->bytes.size()), 0, &error);
    if (!source) {
        zip_error_fini(&error);
        refuse(QStringLiteral("cannot be read as a zip archive"));
    }
    d->archive = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
    if (!d->archive) {
        zip_source_free(source);
        const QString why = QString::fromUtf8(zip_error_strerror(&error));
        zip_error_fini(&error);
        refuse(QStringLiteral("is not a valid zip archive (truncated or damaged: %1)").arg(why));
    }
    zip_error_fini(&error);

    const zip_int64_t count = zip_get_num_entries(d->archive, 0);
    if (count > d->limits.maxEntries)
        refuse(QStringLiteral("has %1 entries (the limit is %2): refusing a possible zip bomb").arg(count).arg(d->limits.maxEntries));
    qint64 total = 0;
    for (zip_int64_t i = 0; i < count; ++i) {
        zip_stat_t st;
        zip_stat_init(&st);
        if (zip_stat_index(d->archive, zip_uint64_t(i), 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME))
            refuse(QStringLiteral("has a damaged entry (number %1)").arg(i));
        const QString name = QString::fromUtf8(st.name);
        if (climbsOut(name))
            refuse(QStringLiteral("has an entry that climbs out of the archive: '%1'").arg(name));
        const qint64 size = (st.valid & ZIP_STAT_SIZE) ? qint64(std::min<zip_uint64_t>(st.size, zip_uint64_t(1) << 62)) : 0;
        const qint64 compressed = (st.valid & ZIP_STAT_COMP_SIZE) ? qint64(std::min<zip_uint64_t>(st.comp_size, zip_uint64_t(1) << 62)) : 0;
        total += size;
        if (total > d->limits.maxTotalBytes || size > d->limits.maxEntryBytes)
            refuse(QStringLiteral("expands to more than %1 MB: refusing a possible zip bomb")
                       .arg((size > d->limits.maxEntryBytes ? d->limits.maxEntryBytes : d->limits.maxTotalBytes) / kMiB));
        if (size > kMiB && size > d->limits.maxRatio * std::max<qint64>(compressed, 1))
            refuse(QStringLiteral("has an entry compressed more than %1 to 1 ('%2'): refusing a possible zip bomb")
                       .arg(d->limits.maxRatio).arg(name));
        d->indexByName.insert(name, zip_uint64_t(i));
        d->sizeByName.insert(name, size);
    }
}

ZipArchive::~ZipArchive() = default;

void ZipArchive::refuse(const QString& problem) const
{
    throw ImportError(QStringLiteral("'%1' %2").arg(d->displayName, problem).toStdString());
}

bool ZipArchive::contains(const QString& name) const
{
    return d->indexByName.contains(name);
}

QStringList ZipArchive::entryNames() const
{
    return d->indexByName.keys();
}

QByteArray ZipArchive::read(const QString& name) const
{
    const auto it = d->indexByName.constFind(name);
    if (it == d->indexByName.constEnd())
        refuse(QStringLiteral("has no entry '%1'").arg(name));
    const qint64 declared = d->sizeByName.value(name);
    zip_file_t* file = zip_fopen_index(d->archive, it.value(), 0);
    if (!file)
        refuse(QStringLiteral("has a damaged entry '%1': %2").arg(name, QString::fromUtf8(zip_strerror(d->archive))));
    // Read one byte more than declared: a stream longer than its header says is a lie
    // (and the limits were checked against the header).
    QByteArray data(declared + 1, Qt::Uninitialized);
    qint64 got = 0;
    while (got < data.size()) {
        const zip_int64_t n = zip_fread(file, data.data() + got, zip_uint64_t(data.size() - got));
        if (n < 0) {
            const QString why = QString::fromUtf8(zip_file_strerror(file));
            zip_fclose(file);
            refuse(QStringLiteral("has a damaged entry '%1' (truncated or corrupt: %2)").arg(name, why));
        }
        if (n == 0)
            break;
        got += n;
    }
    const int closed = zip_fclose(file);
    if (got != declared || closed != 0)
        refuse(QStringLiteral("has a damaged entry '%1' (its size does not match its header)").arg(name));
    data.truncate(got);
    return data;
}

}  // namespace mm::import
