#pragma once

// The first thing a user sees: open a folder or file, recent files, and bundled presets
// (a model from its config alone, before downloading gigabytes).

#include "models/describe.h"
#include "models/resources.h"
#include "models/source.h"

#include <QWidget>

class QLabel;
class QListWidget;
class QPushButton;

namespace mizan::gui {

class StartPage : public QWidget {
    Q_OBJECT
public:
    explicit StartPage(QWidget *parent = nullptr);

    void setRecentFiles(const QStringList &files);
    void setPresets(std::vector<models::PresetInfo> presets);

Q_SIGNALS:
    void openRequested(const QString &pathOrPreset);
    void openFolderClicked();
    void openFileClicked();

protected:
    void changeEvent(QEvent *event) override;

private:
    void retranslateUi();
    void fillPresets();

    QLabel *m_title;
    QLabel *m_subtitle;
    QPushButton *m_openFolder;
    QPushButton *m_openFile;
    QLabel *m_recentLabel;
    QListWidget *m_recent;
    QLabel *m_presetLabel;
    QListWidget *m_presets;
    QLabel *m_dropHint;
    std::vector<models::PresetInfo> m_presetInfo;
};

} // namespace mizan::gui
