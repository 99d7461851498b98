// What the About box says: version, licence, maintainer, and what the model is.
#pragma once

#include <QString>

namespace mm::ui {

/// Rich text for QMessageBox::about: the application's version (QCoreApplication),
/// the licence and maintainer the build was configured with (CMakeLists.txt).
QString aboutText();

}  // namespace mm::ui
