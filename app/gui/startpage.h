#pragma once

// The first thing a user sees: open a folder or file, the models already in the Hugging Face
// cache ("Local models", listed off the GUI thread), recent files, and bundled presets (a model
// from its config alone, before downloading gigabytes).

#include "loader/hfcache.h"
#include "models/describe.h"
#include "models/resources.h"
#include "models/source.h"

#include <QWidget>

#include <vector>

class QLabel;
class QListWidget;
class QPushButton;
class QStackedWidget;
class QTreeWidget;
class QTreeWidgetItem;

namespace mizan::gui {

class StartPage : public QWidget {
    Q_OBJECT
public:
    explicit StartPage(QWidget *parent = nullptr);

    void setRecentFiles(const QStringList &files);
    void setPresets(std::vector<models::PresetInfo> presets);

    // Lists the Hugging Face cache again, off the GUI thread (loader::listCachedModels over
    // loader::hfCacheRoots()); localModelsListed() follows. A refresh asked for while one runs
    // starts once it ends.
    void refreshLocalModels();
    bool isListingLocalModels() const { return m_listing; }
    // What the last listing found (empty before the first one ends).
    const std::vector<loader::CachedModel> &localModels() const { return m_localModels; }
    const std::vector<std::string> &localModelRoots() const { return m_cacheRoots; }
    // The list's columns.
    enum LocalColumn { ModelColumn, RevisionColumn, SizeColumn, FormatsColumn, StatusColumn, LocalColumnCount };
    // Opens the selected local model (as the Open button does); false when it cannot be opened
    // (nothing selected, or an incomplete snapshot: then the page says why).
    bool openSelectedLocalModel();

    // A snapshot's problem in the current language ("Missing shard: model-00002-of-00002.safetensors").
    static QString problemText(const loader::CachedModel &model);

Q_SIGNALS:
    void openRequested(const QString &pathOrPreset);
    void openFolderClicked();
    void openFileClicked();
    // A listing of the cache ended and its rows are shown.
    void localModelsListed();

protected:
    void changeEvent(QEvent *event) override;

private:
    void retranslateUi();
    void fillPresets();
    void fillLocalModels();
    void updateLocalActions();
    void activateLocalModel(QTreeWidgetItem *item);

    QLabel *m_title;
    QLabel *m_subtitle;
    QPushButton *m_openFolder;
    QPushButton *m_openFile;
    QLabel *m_recentLabel;
    QListWidget *m_recent;
    QLabel *m_presetLabel;
    QListWidget *m_presets;
    QLabel *m_dropHint;
    QLabel *m_localLabel;
    QLabel *m_localRootsLabel;
    QPushButton *m_refreshLocal;
    QPushButton *m_openLocal;
    QStackedWidget *m_localStack;  // the list, or the sentence that stands for it (listing, empty)
    QTreeWidget *m_local;
    QLabel *m_localEmpty;
    QLabel *m_localMessage;        // why the snapshot just activated cannot be opened
    std::vector<models::PresetInfo> m_presetInfo;
    std::vector<loader::CachedModel> m_localModels;
    std::vector<std::string> m_cacheRoots;
    bool m_listing = false;
    bool m_listedOnce = false;
    bool m_refreshAgain = false;
    QString m_listingError;
};

} // namespace mizan::gui
