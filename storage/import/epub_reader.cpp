#include "storage/import/epub_reader.h"

#include "storage/import/html_text.h"
#include "storage/import/text_decoding.h"
#include "storage/import/zip_archive.h"

#include <gumbo.h>
#include <pugixml.hpp>

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QUrl>

#include <algorithm>
#include <vector>

namespace mm::import {
namespace {

// ---- XML helpers (pugixml ignores namespaces: compare local names) -----------------

QString localName(const pugi::xml_node& node)
{
    const QString name = QString::fromUtf8(node.name());
    const qsizetype colon = name.indexOf(QLatin1Char(':'));
    return colon < 0 ? name : name.mid(colon + 1);
}

/// Descendants of root with this local name, in document order (iterative: hostile
/// files nest deeply).
std::vector<pugi::xml_node> descendants(const pugi::xml_node& root, const QString& name)
{
    std::vector<pugi::xml_node> found;
    pugi::xml_node node = root.first_child();
    while (node) {
        if (node.type() == pugi::node_element && localName(node) == name)
            found.push_back(node);
        if (node.first_child()) {
            node = node.first_child();
            continue;
        }
        while (node && !node.next_sibling() && node != root)
            node = node.parent();
        if (!node || node == root)
            break;
        node = node.next_sibling();
    }
    return found;
}

QString attribute(const pugi::xml_node& node, const char* localAttr)
{
    for (pugi::xml_attribute a = node.first_attribute(); a; a = a.next_attribute()) {
        QString name = QString::fromUtf8(a.name());
        const qsizetype colon = name.indexOf(QLatin1Char(':'));
        if (colon >= 0)
            name = name.mid(colon + 1);
        if (name == QLatin1String(localAttr))
            return QString::fromUtf8(a.value());
    }
    return {};
}

QString nodeText(const pugi::xml_node& node)
{
    return QString::fromUtf8(node.text().get()).simplified();
}

// ---- the book being read -------------------------------------------------------------

struct ManifestItem {
    QString path;       ///< resolved entry name in the archive
    QString mediaType;
    QString properties;
};

struct TocEntry {
    QString title;
    QString path;      ///< resolved entry name
    QString fragment;  ///< without '#'
};

class EpubBook {
public:
    EpubBook(const QByteArray& bytes, const QString& fileName) : m_fileName(fileName), m_zip(bytes, fileName) {}

    ImportedDocument read()
    {
        const QString opfPath = packagePath();
        parsePackage(opfPath);
        ImportedDocument doc;
        doc.format = QStringLiteral("epub");
        doc.encoding = QStringLiteral("UTF-8");
        doc.title = m_title;
        doc.author = m_author;
        readSpine(doc);
        doc.chapters = chapters();
        return doc;
    }

private:
    [[noreturn]] void refuse(const QString& problem) const { m_zip.refuse(problem); }

    void parseXml(pugi::xml_document& xml, const QByteArray& data, const QString& entry, const QString& what) const
    {
        // pugixml expands no DTD entities, so "billion laughs" files stay small.
        const pugi::xml_parse_result result = xml.load_buffer(data.constData(), size_t(data.size()));
        if (!result)
            refuse(QStringLiteral("has a malformed %1 '%2': %3 at byte %4")
                       .arg(what, entry, QString::fromUtf8(result.description())).arg(qint64(result.offset)));
    }

    /// Entry name for href seen from the entry baseEntry; refuses references outside.
    QString resolve(const QString& baseEntry, const QString& href) const
    {
        const QString decoded = QUrl::fromPercentEncoding(href.toUtf8());
        const qsizetype slash = baseEntry.lastIndexOf(QLatin1Char('/'));
        const QString base = slash < 0 ? QString() : baseEntry.left(slash + 1);
        const QString joined = decoded.startsWith(QLatin1Char('/')) ? decoded : base + decoded;
        const QString clean = QDir::cleanPath(joined);
        if (clean.startsWith(QLatin1String("../")) || clean == QLatin1String("..") || clean.startsWith(QLatin1Char('/')))
            refuse(QStringLiteral("has a reference that climbs out of the archive: '%1'").arg(href));
        return clean;
    }

    QString packagePath() const
    {
        const QString containerEntry = QStringLiteral("META-INF/container.xml");
        if (!m_zip.contains(containerEntry))
            refuse(QStringLiteral("has no META-INF/container.xml: it is not an EPUB, or a damaged one"));
        pugi::xml_document container;
        parseXml(container, m_zip.read(containerEntry), containerEntry, QStringLiteral("container"));
        for (const pugi::xml_node& rootfile : descendants(container, QStringLiteral("rootfile"))) {
            const QString path = attribute(rootfile, "full-path");
            if (!path.isEmpty())
                return resolve(QString(), path);
        }
        refuse(QStringLiteral("names no package document in META-INF/container.xml"));
    }

    void parsePackage(const QString& opfPath)
    {
        if (!m_zip.contains(opfPath))
            refuse(QStringLiteral("is missing its package document '%1'").arg(opfPath));
        pugi::xml_document opf;
        parseXml(opf, m_zip.read(opfPath), opfPath, QStringLiteral("package document"));
        const std::vector<pugi::xml_node> packages = descendants(opf, QStringLiteral("package"));
        if (packages.empty())
            refuse(QStringLiteral("has a malformed package document '%1': no <package> element").arg(opfPath));
        const pugi::xml_node package = packages.front();

        for (const pugi::xml_node& metadata : descendants(package, QStringLiteral("metadata"))) {
            for (const pugi::xml_node& t : descendants(metadata, QStringLiteral("title")))
                if (m_title.isEmpty())
                    m_title = nodeText(t);
            QStringList authors;
            for (const pugi::xml_node& c : descendants(metadata, QStringLiteral("creator")))
                if (!nodeText(c).isEmpty() && !authors.contains(nodeText(c)))
                    authors << nodeText(c);
            if (m_author.isEmpty())
                m_author = authors.join(QStringLiteral(", "));
        }
        for (const pugi::xml_node& item : descendants(package, QStringLiteral("item"))) {
            const QString id = attribute(item, "id");
            const QString href = attribute(item, "href");
            if (id.isEmpty() || href.isEmpty())
                continue;
            m_manifest.insert(id, {resolve(opfPath, href), attribute(item, "media-type"), attribute(item, "properties")});
        }
        const std::vector<pugi::xml_node> spines = descendants(package, QStringLiteral("spine"));
        if (spines.empty())
            refuse(QStringLiteral("has a malformed package document '%1': no <spine>").arg(opfPath));
        m_ncxId = attribute(spines.front(), "toc");
        for (const pugi::xml_node& itemref : descendants(spines.front(), QStringLiteral("itemref"))) {
            const QString idref = attribute(itemref, "idref");
            if (!m_manifest.contains(idref))
                refuse(QStringLiteral("has a spine entry '%1' that is not in its manifest").arg(idref));
            const QString path = m_manifest.value(idref).path;
            if (!m_spine.contains(path))
                m_spine << path;
        }
        if (m_spine.isEmpty())
            refuse(QStringLiteral("has an empty spine: the package document '%1' lists no content").arg(opfPath));
    }

    static QByteArray asUtf8(const QByteArray& bytes)
    {
        const DecodedText decoded = decodeText(bytes);
        return decoded.encoding == QLatin1String("UTF-8") && decoded.warning.isEmpty() ? bytes : decoded.text.toUtf8();
    }

    void readSpine(ImportedDocument& doc)
    {
        for (const QString& path : m_spine) {
            if (!m_zip.contains(path))
                refuse(QStringLiteral("is missing '%1', named in its spine").arg(path));
            const HtmlText html = htmlToText(asUtf8(m_zip.read(path)));
            if (html.tooDeep)
                refuse(QStringLiteral("nests the markup of '%1' more than %2 levels deep: refusing a possibly hostile file")
                           .arg(path).arg(kMaxMarkupDepth));
            if (html.text.trimmed().isEmpty())
                continue;  // cover pages, image-only pages
            if (!doc.text.isEmpty())
                doc.text += QLatin1String("\n\n");
            const qint64 start = doc.text.size();
            m_documentStart.insert(path, start);
            for (auto it = html.anchors.begin(); it != html.anchors.end(); ++it)
                m_anchor.insert(path + QLatin1Char('#') + it.key(), start + it.value());
            if (!html.headings.isEmpty())
                m_firstHeading.insert(path, html.headings.first().title);
            doc.text += html.text;
        }
    }

    QVector<TocEntry> navEntries()
    {
        QVector<TocEntry> entries;
        for (const ManifestItem& item : std::as_const(m_manifest)) {
            if (!item.properties.split(QLatin1Char(' ')).contains(QStringLiteral("nav")) || !m_zip.contains(item.path))
                continue;
            const QByteArray xhtml = asUtf8(m_zip.read(item.path));
            if (estimatedMarkupDepth(xhtml) > kMaxMarkupDepth)
                continue;  // a hostile table of contents: fall back to the NCX or headings
            GumboOutput* out = gumbo_parse_with_options(&kGumboDefaultOptions, xhtml.constData(), size_t(xhtml.size()));
            // The <nav epub:type="toc">, else the first <nav>.
            const GumboNode* tocNav = nullptr;
            const GumboNode* firstNav = nullptr;
            std::vector<const GumboNode*> stack{out->root};
            while (!stack.empty()) {
                const GumboNode* n = stack.back();
                stack.pop_back();
                if (n->type != GUMBO_NODE_ELEMENT)
                    continue;
                if (n->v.element.tag == GUMBO_TAG_NAV) {
                    if (!firstNav)
                        firstNav = n;
                    const GumboAttribute* type = gumbo_get_attribute(&n->v.element.attributes, "epub:type");
                    if (type && QString::fromUtf8(type->value).split(QLatin1Char(' ')).contains(QStringLiteral("toc"))) {
                        tocNav = n;
                        break;
                    }
                }
                const GumboVector& children = n->v.element.children;
                for (unsigned i = children.length; i > 0; --i)
                    stack.push_back(static_cast<const GumboNode*>(children.data[i - 1]));
            }
            if (!tocNav)
                tocNav = firstNav;
            if (tocNav) {
                std::vector<const GumboNode*> walk{tocNav};
                while (!walk.empty()) {
                    const GumboNode* n = walk.back();
                    walk.pop_back();
                    if (n->type != GUMBO_NODE_ELEMENT)
                        continue;
                    if (n->v.element.tag == GUMBO_TAG_A) {
                        const GumboAttribute* href = gumbo_get_attribute(&n->v.element.attributes, "href");
                        QString title;
                        std::vector<const GumboNode*> textWalk{n};
                        while (!textWalk.empty()) {
                            const GumboNode* t = textWalk.back();
                            textWalk.pop_back();
                            if (t->type == GUMBO_NODE_TEXT || t->type == GUMBO_NODE_WHITESPACE)
                                title += QString::fromUtf8(t->v.text.text) + QLatin1Char(' ');
                            else if (t->type == GUMBO_NODE_ELEMENT)
                                for (unsigned i = t->v.element.children.length; i > 0; --i)
                                    textWalk.push_back(static_cast<const GumboNode*>(t->v.element.children.data[i - 1]));
                        }
                        if (href)
                            entries.push_back(tocEntry(item.path, QString::fromUtf8(href->value), title.simplified()));
                    }
                    const GumboVector& children = n->v.element.children;
                    for (unsigned i = children.length; i > 0; --i)
                        walk.push_back(static_cast<const GumboNode*>(children.data[i - 1]));
                }
            }
            gumbo_destroy_output(&kGumboDefaultOptions, out);
            if (!entries.isEmpty())
                break;
        }
        return entries;
    }

    QVector<TocEntry> ncxEntries()
    {
        QVector<TocEntry> entries;
        QString ncxPath;
        if (m_manifest.contains(m_ncxId))
            ncxPath = m_manifest.value(m_ncxId).path;
        for (const ManifestItem& item : std::as_const(m_manifest))
            if (ncxPath.isEmpty() && item.mediaType == QLatin1String("application/x-dtbncx+xml"))
                ncxPath = item.path;
        if (ncxPath.isEmpty() || !m_zip.contains(ncxPath))
            return entries;
        pugi::xml_document ncx;
        parseXml(ncx, m_zip.read(ncxPath), ncxPath, QStringLiteral("table of contents (NCX)"));
        for (const pugi::xml_node& point : descendants(ncx, QStringLiteral("navPoint"))) {
            QString title;
            QString src;
            for (pugi::xml_node child = point.first_child(); child; child = child.next_sibling()) {
                if (localName(child) == QLatin1String("navLabel"))
                    for (const pugi::xml_node& t : descendants(child, QStringLiteral("text")))
                        if (title.isEmpty())
                            title = nodeText(t);
                if (localName(child) == QLatin1String("content"))
                    src = attribute(child, "src");
            }
            if (!src.isEmpty())
                entries.push_back(tocEntry(ncxPath, src, title));
        }
        return entries;
    }

    TocEntry tocEntry(const QString& fromEntry, const QString& href, const QString& title) const
    {
        const qsizetype hash = href.indexOf(QLatin1Char('#'));
        TocEntry e;
        e.title = title;
        e.path = resolve(fromEntry, hash < 0 ? href : href.left(hash));
        e.fragment = hash < 0 ? QString() : href.mid(hash + 1);
        return e;
    }

    QVector<ImportedChapter> chapters()
    {
        QVector<TocEntry> toc = navEntries();
        if (toc.isEmpty())
            toc = ncxEntries();
        QVector<ImportedChapter> result;
        for (const TocEntry& e : toc) {
            if (e.title.isEmpty() || !m_documentStart.contains(e.path))
                continue;
            const QString anchorKey = e.path + QLatin1Char('#') + e.fragment;
            const qint64 offset = !e.fragment.isEmpty() && m_anchor.contains(anchorKey) ? m_anchor.value(anchorKey)
                                                                                         : m_documentStart.value(e.path);
            result.push_back({e.title, offset});
        }
        if (result.isEmpty()) {
            // No usable table of contents: each spine document's first heading.
            for (const QString& path : std::as_const(m_spine))
                if (m_documentStart.contains(path) && m_firstHeading.contains(path))
                    result.push_back({m_firstHeading.value(path), m_documentStart.value(path)});
        }
        // Chapters must be in text order; a contents list that jumps back keeps the
        // first entry at each place.
        std::stable_sort(result.begin(), result.end(),
                         [](const ImportedChapter& a, const ImportedChapter& b) { return a.utf16Offset < b.utf16Offset; });
        QVector<ImportedChapter> unique;
        for (const ImportedChapter& c : result)
            if (unique.isEmpty() || unique.last().utf16Offset != c.utf16Offset)
                unique.push_back(c);
        return unique;
    }

    QString m_fileName;
    ZipArchive m_zip;
    QString m_title;
    QString m_author;
    QHash<QString, ManifestItem> m_manifest;
    QStringList m_spine;
    QString m_ncxId;
    QHash<QString, qint64> m_documentStart;
    QHash<QString, qint64> m_anchor;
    QHash<QString, QString> m_firstHeading;
};

}  // namespace

ImportedDocument readEpubBytes(const QByteArray& bytes, const QString& fileName)
{
    if (bytes.isEmpty())
        throw ImportError(QStringLiteral("'%1' is empty").arg(fileName).toStdString());
    ImportedDocument doc = EpubBook(bytes, fileName).read();
    if (doc.text.trimmed().isEmpty())
        throw ImportError(QStringLiteral("'%1' has no readable text in its spine").arg(fileName).toStdString());
    if (doc.title.isEmpty())
        doc.title = QFileInfo(fileName).completeBaseName();
    return doc;
}

ImportedDocument EpubReader::read(const QString& path) const
{
    const QFileInfo info(path);
    if (!info.exists())
        throw ImportError(QStringLiteral("cannot import '%1': the file does not exist").arg(path).toStdString());
    if (info.size() > kMaxFileBytes)
        throw ImportError(QStringLiteral("'%1' is too large to import (%2 MB; the limit is %3 MB)")
                              .arg(info.fileName()).arg(info.size() / (1024 * 1024)).arg(kMaxFileBytes / (1024 * 1024))
                              .toStdString());
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        throw ImportError(QStringLiteral("cannot read '%1': %2").arg(path, file.errorString()).toStdString());
    const QByteArray bytes = file.readAll();
    ImportedDocument doc = readEpubBytes(bytes, info.fileName());
    doc.sourcePath = info.absoluteFilePath();
    doc.bytes = bytes.size();
    doc.contentHash = QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex());
    return doc;
}

}  // namespace mm::import
