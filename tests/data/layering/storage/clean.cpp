// Allowed: storage with Qt Core; a neighbour by a bare quoted name.
#include <QString>
#include "sqlite_util.h"
