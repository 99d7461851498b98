// Breaks "ui-engine" through a quoted include.
#  include "engine/model.h"
#include <QWidget>
