// Breaks "engine-qt".
#include <QtCore/QString>
#include <vector>
