// Title and author heuristics for text-like files.
#pragma once

#include <QString>

namespace mm::import {

struct TitleAuthor {
    QString title;   ///< empty when none was found
    QString author;  ///< empty when none was found
};

/// Gutenberg-style front matter: skips "Produced by ..." credits and transcriber notes,
/// takes the first short block as the title and a "by AUTHOR" line after it as author.
TitleAuthor guessTextTitleAuthor(const QString& text);

/// YAML front matter (title:, author:), else the first "# heading" and a "by" line.
TitleAuthor guessMarkdownTitleAuthor(const QString& text);

/// "DOMBEY AND SON" -> "Dombey and Son"; text with lower case letters is kept as it is.
QString tidyCapitals(const QString& text);

}  // namespace mm::import
