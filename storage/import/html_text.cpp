#include "storage/import/html_text.h"

#include <gumbo.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <vector>

namespace mm::import {
namespace {

bool isDropped(GumboTag tag)
{
    switch (tag) {
    case GUMBO_TAG_SCRIPT: case GUMBO_TAG_STYLE: case GUMBO_TAG_NOSCRIPT: case GUMBO_TAG_TEMPLATE:
    case GUMBO_TAG_HEAD: case GUMBO_TAG_IMG: case GUMBO_TAG_SVG: case GUMBO_TAG_MATH:
    case GUMBO_TAG_OBJECT: case GUMBO_TAG_EMBED: case GUMBO_TAG_IFRAME: case GUMBO_TAG_VIDEO:
    case GUMBO_TAG_AUDIO: case GUMBO_TAG_CANVAS: case GUMBO_TAG_BUTTON: case GUMBO_TAG_SELECT:
    case GUMBO_TAG_TEXTAREA: case GUMBO_TAG_INPUT:
        return true;
    default:
        return false;
    }
}

bool isBlock(GumboTag tag)
{
    switch (tag) {
    case GUMBO_TAG_P: case GUMBO_TAG_DIV: case GUMBO_TAG_H1: case GUMBO_TAG_H2: case GUMBO_TAG_H3:
    case GUMBO_TAG_H4: case GUMBO_TAG_H5: case GUMBO_TAG_H6: case GUMBO_TAG_LI: case GUMBO_TAG_UL:
    case GUMBO_TAG_OL: case GUMBO_TAG_DL: case GUMBO_TAG_DT: case GUMBO_TAG_DD:
    case GUMBO_TAG_BLOCKQUOTE: case GUMBO_TAG_PRE: case GUMBO_TAG_SECTION: case GUMBO_TAG_ARTICLE:
    case GUMBO_TAG_ASIDE: case GUMBO_TAG_HEADER: case GUMBO_TAG_FOOTER: case GUMBO_TAG_NAV:
    case GUMBO_TAG_TABLE: case GUMBO_TAG_TR: case GUMBO_TAG_HR: case GUMBO_TAG_FIGURE:
    case GUMBO_TAG_FIGCAPTION: case GUMBO_TAG_ADDRESS: case GUMBO_TAG_BODY: case GUMBO_TAG_MAIN:
    case GUMBO_TAG_CAPTION: case GUMBO_TAG_CENTER: case GUMBO_TAG_HGROUP:
        return true;
    default:
        return false;
    }
}

int headingLevel(GumboTag tag)
{
    switch (tag) {
    case GUMBO_TAG_H1: return 1;
    case GUMBO_TAG_H2: return 2;
    case GUMBO_TAG_H3: return 3;
    case GUMBO_TAG_H4: return 4;
    case GUMBO_TAG_H5: return 5;
    case GUMBO_TAG_H6: return 6;
    default: return 0;
    }
}

QString collapseWhitespace(const QString& s)
{
    return s.simplified();
}

/// Builds the text: separators are only decided when the next visible text arrives,
/// so no text starts or ends with blank lines and breaks never pile up.
class TextBuilder {
public:
    enum Break { None = 0, Space = 1, Line = 2, Paragraph = 3 };

    void requestBreak(Break b) { m_break = std::max(m_break, b); }
    /// The offset of the next visible text goes to *target.
    void mark(qint64* target) { m_marks.push_back(target); }

    void appendText(const QString& chunk, bool preformatted)
    {
        if (preformatted) {
            if (chunk.isEmpty())
                return;
            flushBreak();
            m_text += chunk;
            return;
        }
        for (QChar c : chunk) {
            if (c.isSpace()) {
                requestBreak(Space);
                continue;
            }
            flushBreak();
            m_text += c;
        }
    }

    QString take()
    {
        for (qint64* target : m_marks)
            *target = m_text.size();
        m_marks.clear();
        return std::move(m_text);
    }

private:
    void flushBreak()
    {
        if (!m_text.isEmpty()) {
            if (m_break == Paragraph)
                m_text += QLatin1String("\n\n");
            else if (m_break == Line)
                m_text += QLatin1Char('\n');
            else if (m_break == Space && !m_text.endsWith(QLatin1Char('\n')))
                m_text += QLatin1Char(' ');
        }
        m_break = None;
        for (qint64* target : m_marks)
            *target = m_text.size();
        m_marks.clear();
    }

    QString m_text;
    Break m_break = None;
    std::vector<qint64*> m_marks;
};

QString attribute(const GumboElement& e, const char* name)
{
    const GumboAttribute* a = gumbo_get_attribute(&e.attributes, name);
    return a ? QString::fromUtf8(a->value) : QString();
}

/// All text below node, for titles of headings and <title>.
void plainText(const GumboNode* node, QString& out)
{
    if (node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_CDATA || node->type == GUMBO_NODE_WHITESPACE) {
        out += QString::fromUtf8(node->v.text.text);
        out += QLatin1Char(' ');
        return;
    }
    if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_TEMPLATE)
        return;
    if (node->v.element.tag == GUMBO_TAG_SCRIPT || node->v.element.tag == GUMBO_TAG_STYLE)
        return;
    const GumboVector& children = node->v.element.children;
    for (unsigned i = 0; i < children.length; ++i)
        plainText(static_cast<const GumboNode*>(children.data[i]), out);
}

class Converter {
public:
    explicit Converter(HtmlText& out) : m_out(out) {}

    void run(const GumboNode* root)
    {
        // Iterative walk: hostile files nest deeply, and the stack must not overflow.
        struct Frame {
            const GumboNode* node;
            unsigned next;
            bool pre;
        };
        std::vector<Frame> stack;
        enter(root, false, stack);
        while (!stack.empty()) {
            Frame& top = stack.back();
            const GumboVector& children = top.node->v.element.children;
            if (top.next >= children.length) {
                leave(top.node);
                stack.pop_back();
                continue;
            }
            const GumboNode* child = static_cast<const GumboNode*>(children.data[top.next++]);
            enter(child, top.pre, stack);
        }
        m_out.text = m_builder.take();
        for (std::size_t i = 0; i < m_headingOffsets.size(); ++i)
            m_out.headings[int(i)].utf16Offset = *m_headingOffsets[i];
        for (auto it = m_anchorOffsets.begin(); it != m_anchorOffsets.end(); ++it)
            m_out.anchors.insert(it->first, *it->second);
    }

private:
    template <typename Stack>
    void enter(const GumboNode* node, bool pre, Stack& stack)
    {
        switch (node->type) {
        case GUMBO_NODE_TEXT:
        case GUMBO_NODE_CDATA:
        case GUMBO_NODE_WHITESPACE:
            m_builder.appendText(QString::fromUtf8(node->v.text.text), pre);
            return;
        case GUMBO_NODE_DOCUMENT:
        case GUMBO_NODE_COMMENT:
            return;
        case GUMBO_NODE_ELEMENT:
        case GUMBO_NODE_TEMPLATE:
            break;
        }
        const GumboElement& e = node->v.element;
        if (e.tag == GUMBO_TAG_TITLE && m_out.title.isEmpty()) {
            QString t;
            plainText(node, t);
            m_out.title = collapseWhitespace(t);
        }
        if (e.tag == GUMBO_TAG_META) {
            const QString name = attribute(e, "name").toLower();
            if ((name == QLatin1String("author") || name == QLatin1String("dc.creator")) && m_out.author.isEmpty())
                m_out.author = collapseWhitespace(attribute(e, "content"));
        }
        if (e.tag == GUMBO_TAG_HEAD) {
            // Only <title> and <meta> matter in the head; walk it for them, no text.
            const GumboVector& children = e.children;
            for (unsigned i = 0; i < children.length; ++i) {
                const GumboNode* c = static_cast<const GumboNode*>(children.data[i]);
                if (c->type == GUMBO_NODE_ELEMENT && (c->v.element.tag == GUMBO_TAG_TITLE || c->v.element.tag == GUMBO_TAG_META))
                    enter(c, false, stack);
            }
            return;
        }
        if (isDropped(e.tag))
            return;
        const QString id = attribute(e, "id");
        if (!id.isEmpty() && !m_anchorOffsets.count(id)) {
            m_anchorStore.push_back(std::make_unique<qint64>(-1));
            m_anchorOffsets.emplace(id, m_anchorStore.back().get());
            m_builder.mark(m_anchorStore.back().get());
        }
        if (e.tag == GUMBO_TAG_BR) {
            m_builder.requestBreak(TextBuilder::Line);
            return;
        }
        if (isBlock(e.tag))
            m_builder.requestBreak(TextBuilder::Paragraph);
        if (e.tag == GUMBO_TAG_TD || e.tag == GUMBO_TAG_TH)
            m_builder.requestBreak(TextBuilder::Space);
        if (const int level = headingLevel(e.tag)) {
            QString t;
            plainText(node, t);
            const QString title = collapseWhitespace(t);
            if (!title.isEmpty()) {
                m_out.headings.push_back({level, title, 0});
                m_headingStore.push_back(std::make_unique<qint64>(0));
                m_headingOffsets.push_back(m_headingStore.back().get());
                m_builder.mark(m_headingStore.back().get());
            }
        }
        if (e.tag == GUMBO_TAG_TITLE)
            return;  // the title is metadata, not body text
        stack.push_back({node, 0, pre || e.tag == GUMBO_TAG_PRE});
    }

    void leave(const GumboNode* node)
    {
        if (node->type == GUMBO_NODE_ELEMENT && isBlock(node->v.element.tag))
            m_builder.requestBreak(TextBuilder::Paragraph);
    }

    HtmlText& m_out;
    TextBuilder m_builder;
    std::vector<std::unique_ptr<qint64>> m_headingStore;
    std::vector<qint64*> m_headingOffsets;
    std::vector<std::unique_ptr<qint64>> m_anchorStore;
    std::map<QString, qint64*> m_anchorOffsets;
};

bool isVoidOrOptionalEnd(const QByteArray& tag)
{
    static const char* const kTags[] = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                                        "param", "source", "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th",
                                        "option", "optgroup", "thead", "tbody", "tfoot", "colgroup", "rb", "rt",
                                        "rp", "rtc", "caption", "html", "head", "body"};
    for (const char* t : kTags)
        if (tag == t)
            return true;
    return false;
}

}  // namespace

int estimatedMarkupDepth(const QByteArray& html)
{
    int depth = 0;
    int deepest = 0;
    const qsizetype n = html.size();
    for (qsizetype i = 0; i < n; ++i) {
        if (html[i] != '<' || i + 1 >= n)
            continue;
        const bool closing = html[i + 1] == '/';
        qsizetype j = i + (closing ? 2 : 1);
        if (j >= n || !std::isalpha(static_cast<unsigned char>(html[j])))
            continue;
        const qsizetype nameStart = j;
        while (j < n && std::isalnum(static_cast<unsigned char>(html[j])))
            ++j;
        const QByteArray tag = html.mid(nameStart, j - nameStart).toLower();
        const qsizetype end = html.indexOf('>', j);
        if (end < 0)
            break;
        if (!isVoidOrOptionalEnd(tag)) {
            if (closing)
                depth = std::max(depth - 1, 0);
            else if (html[end - 1] != '/')
                deepest = std::max(deepest, ++depth);
        }
        i = end;
    }
    return deepest;
}

HtmlText htmlToText(const QByteArray& html)
{
    HtmlText result;
    if (estimatedMarkupDepth(html) > kMaxMarkupDepth) {
        result.tooDeep = true;
        return result;
    }
    GumboOptions options = kGumboDefaultOptions;
    // Broken markup yields one parse error per fault; keeping only the first few bounds
    // the memory a hostile file can make gumbo spend on error records.
    options.max_errors = 100;
    GumboOutput* output = gumbo_parse_with_options(&options, html.constData(), size_t(html.size()));
    if (!output)
        return result;
    Converter(result).run(output->root);
    gumbo_destroy_output(&options, output);
    return result;
}

}  // namespace mm::import
