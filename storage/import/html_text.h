// HTML (and EPUB's XHTML, often not well-formed XML) to the text a reader shows, parsed
// with gumbo (the HTML5 parsing algorithm, so broken markup parses as browsers do).
// Scripts, styles, templates, images and the head (but its <title>) are dropped;
// entities are decoded; block elements become paragraphs separated by a blank line, <br>
// a line break; runs of white space outside <pre> collapse to one space.
#pragma once

#include <QByteArray>
#include <QHash>
#include <QString>
#include <QVector>

namespace mm::import {

struct HtmlHeading {
    int level = 1;            ///< 1..6
    QString title;            ///< its text, white space collapsed
    qint64 utf16Offset = 0;   ///< where its text starts in HtmlText::text
};

/// Markup nested deeper than this is refused before parsing: gumbo's tree building
/// slows quadratically with depth (200,000 nested elements: minutes) and frees its tree
/// recursively. Real books nest a few dozen levels.
constexpr int kMaxMarkupDepth = 2000;

/// An upper estimate of how deep html's elements nest, from its tags alone: void
/// elements, self-closing tags and elements whose end tag may be left out (p, li, td...)
/// do not count. Linear, allocation-free.
int estimatedMarkupDepth(const QByteArray& html);

struct HtmlText {
    bool tooDeep = false;            ///< nesting over kMaxMarkupDepth: not parsed, all empty
    QString text;
    QString title;                   ///< <title>, white space collapsed
    QString author;                  ///< <meta name="author"> or "dc.creator"
    QVector<HtmlHeading> headings;   ///< in document order
    QHash<QString, qint64> anchors;  ///< element id -> offset of the text that follows it
};

/// html must be UTF-8 (gumbo's input). Never throws; markup nested deeper than
/// kMaxMarkupDepth gives tooDeep and nothing else.
HtmlText htmlToText(const QByteArray& html);

}  // namespace mm::import
