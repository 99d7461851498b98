// Clean: app/memory/memory_state.h is the one app/memory header ui/ may include.
#include "app/memory/memory_state.h"
#include <QObject>
