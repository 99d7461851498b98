#include "ui/about.h"

#include <QCoreApplication>

namespace mm::ui {

QString aboutText()
{
    const QString version = QCoreApplication::applicationVersion();
    return QCoreApplication::translate("About",
               "<h3>MemMamba Reader %1</h3>"
               "<p>A desktop reader for long documents. A small MemMamba model (a state-space model "
               "with a pool of notes) reads each book once; its memory is kept in the library, and "
               "questions are answered as of the reading position.</p>"
               "<p>Licence: %2 (the program, the shipped model and its tokenizer); "
               "the sample book is in the public domain.<br>"
               "Maintainer: %3</p>"
               "<p>Built with Qt %4, SQLite, LibTorch and sentencepiece.</p>")
        .arg(version.isEmpty() ? QStringLiteral(MEMMAMBA_VERSION) : version.toHtmlEscaped(),
             QStringLiteral("Apache License 2.0 (" MEMMAMBA_LICENSE ")"),
             QStringLiteral(MEMMAMBA_MAINTAINER).toHtmlEscaped(), QString::fromLatin1(qVersion()));
}

}  // namespace mm::ui
