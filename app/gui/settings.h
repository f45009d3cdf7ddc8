#pragma once

// What the GUI keeps between sessions (QSettings): recent files, the device list with budgets,
// the headroom settings and the language. The window's geometry and dock state are saved by the
// window itself. One place for the keys and the encoding, read and written the same way.

#include "document.h"

#include <QString>
#include <QStringList>

#include <vector>

namespace mizan::gui {

struct SavedSettings {
    QStringList recentFiles;
    std::vector<DeviceSetting> devices;   // empty: none saved (keep the defaults)
    qlonglong headroomTokens = 0;
    qlonglong headroomBatch = 1;
    QString language = QStringLiteral("en");
};

// Reads the settings of this user (QSettings with the application's names). An unreadable device
// entry is skipped with a warning on stderr.
SavedSettings loadSavedSettings();
// Writes recent files, devices and headroom (not the language: setLanguage writes it on switch).
void saveSettings(const SavedSettings &settings);

// One device as stored: "key|bytes|simulated|label|capacity" (older settings lack the capacity).
QString encodeDevice(const DeviceSetting &device);
// Throws std::exception for an entry that names no device.
DeviceSetting decodeDevice(const QString &entry);

} // namespace mizan::gui
