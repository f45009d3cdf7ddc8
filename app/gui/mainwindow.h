#pragma once

// The main window: start page or workspace (module tree + details), docks for devices and
// limits, no-split classes, charts, problems and history; menus, language switching at run time,
// drag and drop, recent files and settings.

#include "moduleview.h"
#include "problemspanel.h"

#include <QMainWindow>
#include <QSortFilterProxyModel>
#include <QTranslator>

class QAction;
class QDockWidget;
class QLabel;
class QLineEdit;
class QMenu;
class QProgressBar;
class QPushButton;
class QStackedWidget;
class QTabWidget;
class QTreeView;
class QTreeWidget;
class QUndoView;

namespace mizan::gui {

class ChartsPanel;
class DetailPane;
class DevicePanel;
class Document;
class NoSplitPanel;
class PolicyPanel;
class StartPage;
class TestRunPanel;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    Document *document() const { return m_document; }
    QTreeView *treeView() const { return m_tree; }
    QTreeWidget *problemsView() const { return m_problems; }
    ChartsPanel *charts() const { return m_charts; }
    DevicePanel *devicePanel() const { return m_devicePanel; }
    DetailPane *detailPane() const { return m_detail; }
    TestRunPanel *testRunPanel() const { return m_testRun; }
    StartPage *startPage() const { return m_start; }
    // Shows the test inference page and runs the plan on screen (when it can run).
    bool startTestRun();
    void showTestRunPage();

    // "en" or "ar"; switches translations, locale and layout direction at run time.
    void setLanguage(const QString &code);
    // Imports a device_map.json or a *.mizan.json plan file (told apart by its "format") into the
    // opened model; errors go to the window. True when imported.
    bool importFile(const QString &file);
    QString language() const { return m_language; }

    void openPath(const QString &pathOrPreset);
    // Selects (and reveals) a module by its full name; false when the model has none.
    bool selectModule(const QString &name);
    // Saves a PNG of the window once the next plan is shown, then quits (scripts/screenshots.sh).
    // Adds placement policies (the policy syntax; those that are not valid for the model are
    // reported on the terminal and left out) and shows the Policies panel.
    void addPolicies(const QStringList &policies);
    void screenshotWhenPlanned(const QString &file, const QString &selectModule);
    // Saves a PNG of the start page once its local models are listed, then quits (mizan
    // --screenshot FILE without a path).
    void screenshotStartPage(const QString &file);
    // After the first plan, starts a test inference (mizan --test-run); with `screenshot`, saves a
    // PNG of the window mid-run (once a third of the tokens are out) and quits when the run ends.
    void testRunWhenPlanned(const QString &screenshot = {});
    // Opens the plans side by side: the map on screen against `file` (a plan file or device map);
    // nullptr (and a message box) when the file cannot be compared.
    class CompareDialog *compareWith(const QString &file);
    // After the first plan, compareWith(file) (mizan --compare FILE); with `screenshot`, saves a PNG
    // of the comparison and quits.
    void compareWhenPlanned(const QString &file, const QString &screenshot = {});
    // Shows a cluster plan file as hosts and their device lanes (File > Open cluster plan…, or a
    // cluster plan opened as a plan); nullptr (and a message box) when it cannot be read. With
    // `screenshot` (mizan --cluster FILE --screenshot PNG), saves a PNG of it and quits.
    class ClusterDialog *openClusterPlan(const QString &file, const QString &screenshot = {});
    // After the first plan, opens the cluster plan and runs it on local ranks from its dialog
    // (mizan PATH --cluster FILE --test-run), `maxNewTokens` tokens (0: the dialog's default); with
    // `screenshot`, saves a PNG of the dialog once the run has finished and quits.
    void runClusterPlanWhenPlanned(const QString &file, const QString &screenshot = {}, int maxNewTokens = 0);

protected:
    void changeEvent(QEvent *event) override;
    void closeEvent(QCloseEvent *event) override;
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dropEvent(QDropEvent *event) override;

private:
    void createActions();
    void createMenus();
    void createDocks();
    void arrangeDocks(); // default places, mirrored for right-to-left
    void retranslateUi();
    void updateActions();
    void updateProblems();
    void updateStatus();
    void addRecent(const QString &path);
    void fillRecentMenu();
    void updateUndoTexts();
    void loadSettings();
    void saveSettings() const;
    void showError(const QString &title, const QString &message);
    void treeContextMenu(const QPoint &pos);
    void fillDeviceMenu(QMenu *menu, bool pin);
    void exportWith(const QString &title, const QString &filter, const QString &suffix,
                    const std::function<void(const QString &)> &write);
    void importWith(const QString &title, const QString &filter, const std::function<void(const QString &)> &read);

    Document *m_document;
    QTranslator m_translator;
    QTranslator m_qtTranslator;
    QString m_language = QStringLiteral("en");
    bool m_keepDockState = false;   // a saved window state was restored: don't rearrange
    QStringList m_recent;

    QStackedWidget *m_stack;
    StartPage *m_start;
    QTabWidget *m_pages;      // the plan and the test inference
    QWidget *m_workspace;
    TestRunPanel *m_testRun;
    QLineEdit *m_filter;
    ModuleView *m_tree;
    DetailPane *m_detail;
    DevicePanel *m_devicePanel;
    NoSplitPanel *m_noSplit;
    PolicyPanel *m_policies;
    ChartsPanel *m_charts;
    ProblemsPanel *m_problems;
    QUndoView *m_history;
    QDockWidget *m_devicesDock;
    QDockWidget *m_noSplitDock;
    QDockWidget *m_policiesDock;
    QDockWidget *m_chartsDock;
    QDockWidget *m_problemsDock;
    QDockWidget *m_historyDock;
    QLabel *m_statusLabel;
    QProgressBar *m_progress;
    QPushButton *m_cancel;

    QMenu *m_fileMenu, *m_recentMenu, *m_presetMenu, *m_importMenu, *m_exportMenu, *m_editMenu, *m_moveMenu,
        *m_pinMenu, *m_viewMenu, *m_planMenu, *m_languageMenu, *m_helpMenu;
    QAction *m_openFolderAction, *m_openFileAction, *m_quitAction;
    QAction *m_compareAction;
    QAction *m_clusterAction;
    QAction *m_importMapAction, *m_importPlanAction, *m_exportMapAction, *m_exportMaxMemoryAction,
        *m_savePlanAction, *m_copySnippetAction;
    QAction *m_undoAction, *m_redoAction, *m_unpinAction, *m_filterAction, *m_expandAction, *m_collapseAction;
    QAction *m_planAction;
    QAction *m_testRunAction;
    QAction *m_cancelRunAction;
    QAction *m_englishAction, *m_arabicAction;
    QAction *m_aboutAction;
};

} // namespace mizan::gui
