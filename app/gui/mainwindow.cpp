#include "mainwindow.h"
#include "clusterdialog.h"
#include "comparedialog.h"

#include "settings.h"

#include "chartspanel.h"
#include "detailpane.h"
#include "devicepanel.h"
#include "document.h"
#include "guiformat.h"
#include "messagetext.h"
#include "nosplitpanel.h"
#include "policypanel.h"
#include "startpage.h"
#include "testrun.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QClipboard>
#include <QCloseEvent>
#include <QComboBox>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QGuiApplication>
#include <QHeaderView>
#include <QLabel>
#include <QLibraryInfo>
#include <QLineEdit>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSplitter>
#include <QStackedWidget>
#include <QTabWidget>
#include <QStatusBar>
#include <QStyledItemDelegate>
#include <QTimer>
#include <QToolBar>
#include <QTreeView>
#include <QTreeWidget>
#include <QUndoView>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

static void initResources()
{
    Q_INIT_RESOURCE(mizan);
}

namespace mizan::gui {

namespace {

constexpr int kMaxRecent = 10;

struct Catalogs {
    std::vector<models::PresetInfo> presets;
    std::vector<models::HardwareProfile> hardware;
    QString error;
};

} // namespace

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent)
    , m_document(new Document(this))
{
    initResources();
    setObjectName(QStringLiteral("mainWindow"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/mizan-64.png")));
    setAcceptDrops(true);

    m_stack = new QStackedWidget(this);
    m_start = new StartPage(m_stack);
    m_pages = new QTabWidget(m_stack);
    m_pages->setObjectName(QStringLiteral("pages"));
    m_pages->setDocumentMode(true);
    m_workspace = new QWidget(m_pages);
    auto *workLayout = new QVBoxLayout(m_workspace);
    workLayout->setContentsMargins(2, 2, 2, 2);
    m_filter = new QLineEdit(m_workspace);
    m_filter->setClearButtonEnabled(true);
    m_filter->setObjectName(QStringLiteral("filter"));
    workLayout->addWidget(m_filter);
    auto *splitter = new QSplitter(Qt::Vertical, m_workspace);
    m_tree = new ModuleView(m_document, splitter);
    m_detail = new DetailPane(m_document, splitter);
    splitter->addWidget(m_tree);
    splitter->addWidget(m_detail);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 1);
    workLayout->addWidget(splitter, 1);
    m_testRun = new TestRunPanel(m_document, m_pages);
    m_pages->addTab(m_workspace, QString());
    m_pages->addTab(m_testRun, QString());
    m_stack->addWidget(m_start);
    m_stack->addWidget(m_pages);
    setCentralWidget(m_stack);

    m_statusLabel = new QLabel(this);
    m_progress = new QProgressBar(this);
    m_progress->setMaximumWidth(200);
    m_progress->hide();
    m_cancel = new QPushButton(this);
    m_cancel->hide();
    statusBar()->addWidget(m_statusLabel, 1);
    statusBar()->addPermanentWidget(m_progress);
    statusBar()->addPermanentWidget(m_cancel);

    createDocks();
    createActions();
    createMenus();

    connect(m_filter, &QLineEdit::textChanged, m_tree, &ModuleView::setFilterText);
    connect(m_tree, &QTreeView::customContextMenuRequested, this, &MainWindow::treeContextMenu);
    connect(m_tree->selectionModel(), &QItemSelectionModel::currentChanged, this, [this](const QModelIndex &current) {
        m_detail->showModule(current.isValid() ? current.data(ModuleTreeModel::ModuleIdRole).toInt() : -1);
        updateActions();
    });
    connect(m_start, &StartPage::openRequested, this, &MainWindow::openPath);
    connect(m_start, &StartPage::openFolderClicked, m_openFolderAction, &QAction::trigger);
    connect(m_start, &StartPage::openFileClicked, m_openFileAction, &QAction::trigger);
    connect(m_charts, &ChartsPanel::moduleActivated, this, &MainWindow::selectModule);
    connect(m_cancel, &QPushButton::clicked, m_document, &Document::cancelOpen);

    connect(m_document, &Document::openStarted, this, [this](const QString &path) {
        m_progress->setRange(0, 0);
        m_progress->show();
        m_cancel->show();
        m_statusLabel->setText(tr("Opening %1…").arg(ltr(path)));
    });
    connect(m_document, &Document::openProgress, this, [this](int done, int total) {
        m_progress->setRange(0, total);
        m_progress->setValue(done);
        m_progress->setFormat(tr("%1 of %2 shards").arg(QLocale().toString(done), QLocale().toString(total)));
    });
    connect(m_document, &Document::opened, this, [this] {
        m_progress->hide();
        m_cancel->hide();
        m_stack->setCurrentWidget(m_pages);
        addRecent(m_document->model()->path);
        // Reveal the top levels (model, its layer list) without walking thousands of rows.
        m_tree->expandToDepth(0);
        m_tree->fitColumns();
        setWindowTitle(tr("%1 — Mizan").arg(ltr(QFileInfo(m_document->model()->path).fileName())));
        updateStatus();
        updateActions();
        const auto &model = m_document->model()->source.model;
        for (const auto &note : model.notes)
            statusBar()->showMessage(messageText(note, [this](const planner::Device &d) { return m_document->deviceLabel(d); }), 8000);
    });
    connect(m_document, &Document::openFailed, this, [this](const QString &message, bool cancelled) {
        m_progress->hide();
        m_cancel->hide();
        updateStatus();
        if (cancelled)
            statusBar()->showMessage(tr("Opening cancelled."), 5000);
        else
            showError(tr("Cannot open"), message);
    });
    connect(m_document, &Document::planFinished, this, [this](bool ok, const QString &message) {
        if (!ok)
            showError(tr("Cannot plan"), message);
        updateStatus();
    });
    connect(m_document, &Document::mapChanged, this, [this] {
        updateProblems();
        updateActions();
        updateStatus();
    });
    connect(m_document, &Document::settingsChanged, this, &MainWindow::saveSettings);
    connect(m_document, &Document::testRunErrorChanged, this, [this] {
        updateProblems();
        if (m_document->testRunError())
            m_problemsDock->raise();
    });
    connect(m_testRun, &TestRunPanel::runStarted, this, &MainWindow::updateActions);
    connect(m_testRun, &TestRunPanel::runFinished, this, &MainWindow::updateActions);
    connect(m_problems, &ProblemsPanel::moduleActivated, this, &MainWindow::selectModule);

    // Presets and hardware profiles are read off the GUI thread.
    auto *watcher = new QFutureWatcher<Catalogs>(this);
    connect(watcher, &QFutureWatcher<Catalogs>::finished, this, [this, watcher] {
        const Catalogs c = watcher->result();
        watcher->deleteLater();
        m_start->setPresets(c.presets);
        m_devicePanel->setHardwareProfiles(c.hardware);
        m_presetMenu->clear();
        for (const auto &p : c.presets) {
            const QString name = QString::fromStdString(p.name);
            m_presetMenu->addAction(QString::fromStdString(p.displayName.empty() ? p.name : p.displayName),
                                    this, [this, name] { openPath(name); });
        }
        if (!c.error.isEmpty())
            statusBar()->showMessage(c.error, 8000);
    });
    watcher->setFuture(QtConcurrent::run([] {
        Catalogs c;
        try {
            c.presets = models::listPresets();
            c.hardware = models::listHardware();
        } catch (const std::exception &e) {
            c.error = describeError(e);
        }
        return c;
    }));

    loadSettings();

    // This machine's GPUs (CUDA through libtorch) and RAM, off the GUI thread: initialising CUDA
    // takes a second or more. Devices already chosen (saved settings, --hardware, an edit) win over
    // detected ones; "This machine" in the hardware profiles brings the detected ones back.
    auto *probe = new QFutureWatcher<runtime::DeviceReport>(this);
    connect(probe, &QFutureWatcher<runtime::DeviceReport>::finished, this, [this, probe] {
        m_document->setMachine(probe->result());
        probe->deleteLater();
    });
    probe->setFuture(QtConcurrent::run([] { return runtime::probeDevices(); }));

    retranslateUi();
    updateActions();
    updateStatus();
}

MainWindow::~MainWindow() = default;

void MainWindow::createDocks()
{
    m_devicePanel = new DevicePanel(m_document, this);
    m_noSplit = new NoSplitPanel(m_document, this);
    m_policies = new PolicyPanel(m_document, this);
    m_charts = new ChartsPanel(m_document, this);
    m_problems = new ProblemsPanel(m_document, this);
    m_history = new QUndoView(m_document->undoStack(), this);

    auto dock = [this](const QString &name, QWidget *w) {
        auto *d = new QDockWidget(this);
        d->setObjectName(name);
        d->setWidget(w);
        addDockWidget(Qt::LeftDockWidgetArea, d);
        return d;
    };
    // Scrolls rather than squeezes its rows when the window is short.
    auto *deviceScroll = new QScrollArea(this);
    deviceScroll->setWidget(m_devicePanel);
    deviceScroll->setWidgetResizable(true);
    deviceScroll->setFrameShape(QFrame::NoFrame);
    deviceScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_devicesDock = dock(QStringLiteral("devicesDock"), deviceScroll);
    m_noSplitDock = dock(QStringLiteral("noSplitDock"), m_noSplit);
    m_policiesDock = dock(QStringLiteral("policiesDock"), m_policies);
    m_chartsDock = dock(QStringLiteral("chartsDock"), m_charts);
    m_problemsDock = dock(QStringLiteral("problemsDock"), m_problems);
    m_historyDock = dock(QStringLiteral("historyDock"), m_history);
    // The side column (devices, no-split classes) runs the full height; the charts and problems
    // share the bottom of the rest.
    setCorner(Qt::BottomLeftCorner, Qt::LeftDockWidgetArea);
    setCorner(Qt::BottomRightCorner, Qt::RightDockWidgetArea);
    arrangeDocks();
}

void MainWindow::arrangeDocks()
{
    // QMainWindow keeps dock areas where they are when the layout direction changes; a reader of
    // Arabic expects the side panels on the right and the bottom row read from the right.
    const bool rtl = QGuiApplication::layoutDirection() == Qt::RightToLeft;
    const Qt::DockWidgetArea side = rtl ? Qt::RightDockWidgetArea : Qt::LeftDockWidgetArea;
    const QList<QDockWidget *> docks = {m_devicesDock, m_noSplitDock, m_policiesDock, m_chartsDock, m_problemsDock, m_historyDock};
    QList<bool> hidden;
    for (QDockWidget *d : docks) {
        hidden << (d->testAttribute(Qt::WA_WState_ExplicitShowHide) && d->testAttribute(Qt::WA_WState_Hidden));
        removeDockWidget(d);
    }
    addDockWidget(side, m_devicesDock);
    addDockWidget(side, m_noSplitDock, Qt::Vertical);
    // The two panels of planning constraints share a place: no-split classes and policies.
    tabifyDockWidget(m_noSplitDock, m_policiesDock);
    QDockWidget *first = rtl ? m_problemsDock : m_chartsDock;
    QDockWidget *second = rtl ? m_chartsDock : m_problemsDock;
    addDockWidget(Qt::BottomDockWidgetArea, first);
    splitDockWidget(first, second, Qt::Horizontal);
    tabifyDockWidget(m_problemsDock, m_historyDock);
    for (int i = 0; i < docks.size(); ++i)
        docks[i]->setVisible(!hidden[i]);
    m_problemsDock->raise();
    m_noSplitDock->raise();
    resizeDocks({m_devicesDock}, {420}, Qt::Horizontal);
    // The devices panel gets the height it asks for; the no-split chips take the rest.
    resizeDocks({m_devicesDock, m_noSplitDock}, {m_devicePanel->sizeHint().height() + 8, 200}, Qt::Vertical);
    resizeDocks({m_chartsDock, m_problemsDock}, {740, 340}, Qt::Horizontal);
    resizeDocks({m_chartsDock}, {260}, Qt::Vertical);
}

void MainWindow::createActions()
{
    auto action = [this](const char *icon, const QKeySequence &key, auto slot) {
        auto *a = new QAction(this);
        if (icon)
            a->setIcon(QIcon(QString::fromLatin1(icon)));
        if (!key.isEmpty())
            a->setShortcut(key);
        connect(a, &QAction::triggered, this, slot);
        return a;
    };
    m_openFolderAction = action(":/icons/open.png", QKeySequence::Open, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Open a checkpoint folder"));
        if (!dir.isEmpty())
            openPath(dir);
    });
    m_openFileAction = action(nullptr, QKeySequence(tr("Ctrl+Shift+O")), [this] {
        const QString file = QFileDialog::getOpenFileName(this, tr("Open a checkpoint file"), QString(),
                                                          tr("Checkpoints (*.safetensors *.bin *.pt *.pth *.json);;All files (*)"));
        if (!file.isEmpty())
            openPath(file);
    });
    m_quitAction = action(nullptr, QKeySequence::Quit, [this] { close(); });
    m_importMapAction = action(nullptr, {}, [this] {
        importWith(tr("Import a device map"), tr("Device map (*.json)"), [this](const QString &f) { m_document->importDeviceMap(f); });
    });
    m_importPlanAction = action(nullptr, {}, [this] {
        importWith(tr("Open a plan"), tr("Mizan plan (*.mizan.json);;JSON (*.json)"), [this](const QString &f) {
            if (isClusterPlanFile(f))
                openClusterPlan(f);
            else
                m_document->importPlan(f);
        });
    });
    m_clusterAction = action(nullptr, {}, [this] {
        const QString file = QFileDialog::getOpenFileName(this, tr("Open a cluster plan"), QString(), tr("Mizan cluster plan (*.json)"));
        if (!file.isEmpty())
            openClusterPlan(file);
    });
    m_compareAction = action(nullptr, {}, [this] {
        const QString file = QFileDialog::getOpenFileName(this, tr("Compare with a plan"), QString(),
                                                          tr("Mizan plan or device map (*.json)"));
        if (!file.isEmpty())
            compareWith(file);
    });
    m_exportMapAction = action(":/icons/export.png", QKeySequence(tr("Ctrl+E")), [this] {
        exportWith(tr("Export the device map"), tr("Device map (*.json)"), QStringLiteral("device_map.json"),
                   [this](const QString &f) { m_document->exportDeviceMap(f); });
    });
    m_exportMaxMemoryAction = action(nullptr, {}, [this] {
        exportWith(tr("Export max_memory"), tr("max_memory (*.json)"), QStringLiteral("max_memory.json"),
                   [this](const QString &f) { m_document->exportMaxMemory(f); });
    });
    m_savePlanAction = action(nullptr, QKeySequence::Save, [this] {
        exportWith(tr("Save the plan"), tr("Mizan plan (*.mizan.json)"), QStringLiteral("plan.mizan.json"),
                   [this](const QString &f) { m_document->exportPlan(f); });
    });
    m_copySnippetAction = action(nullptr, QKeySequence(tr("Ctrl+Shift+C")), [this] {
        QGuiApplication::clipboard()->setText(m_document->pythonSnippet());
        statusBar()->showMessage(tr("Python snippet copied to the clipboard."), 4000);
    });
    // Own undo/redo actions (not QUndoStack::createUndoAction) so their "Undo %1" text is ours
    // and follows a language switch.
    QUndoStack *stack = m_document->undoStack();
    m_undoAction = action(":/icons/undo.png", QKeySequence::Undo, [stack] { stack->undo(); });
    m_redoAction = action(":/icons/redo.png", {}, [stack] { stack->redo(); });
    connect(stack, &QUndoStack::canUndoChanged, m_undoAction, &QAction::setEnabled);
    connect(stack, &QUndoStack::canRedoChanged, m_redoAction, &QAction::setEnabled);
    connect(stack, &QUndoStack::undoTextChanged, this, &MainWindow::updateUndoTexts);
    connect(stack, &QUndoStack::redoTextChanged, this, &MainWindow::updateUndoTexts);
    m_undoAction->setEnabled(false);
    m_redoAction->setEnabled(false);
    m_redoAction->setShortcuts({QKeySequence(QStringLiteral("Ctrl+Shift+Z")), QKeySequence::Redo});
    m_unpinAction = action(nullptr, {}, [this] {
        for (int id : m_tree->selectedModules())
            m_document->unpinModule(id);
    });
    m_filterAction = action(nullptr, QKeySequence::Find, [this] {
        m_filter->setFocus();
        m_filter->selectAll();
    });
    m_expandAction = action(nullptr, {}, [this] {
        for (const QModelIndex &i : m_tree->selectionModel()->selectedRows())
            m_tree->expandRecursively(i);
    });
    m_collapseAction = action(nullptr, {}, [this] { m_tree->collapseAll(); });
    m_planAction = action(":/icons/plan.png", QKeySequence(Qt::Key_F5), [this] { m_document->requestPlan(); });
    m_testRunAction = action(nullptr, QKeySequence(Qt::Key_F6), [this] { startTestRun(); });
    m_testRunAction->setIcon(runIcon());
    m_cancelRunAction = action(nullptr, {}, [this] { m_testRun->cancel(); });
    m_cancelRunAction->setIcon(stopIcon());
    m_englishAction = action(nullptr, {}, [this] { setLanguage(QStringLiteral("en")); });
    m_arabicAction = action(nullptr, {}, [this] { setLanguage(QStringLiteral("ar")); });
    auto *languages = new QActionGroup(this);
    for (QAction *a : {m_englishAction, m_arabicAction}) {
        a->setCheckable(true);
        languages->addAction(a);
    }
    m_englishAction->setChecked(true);
    m_aboutAction = action(nullptr, {}, [this] {
        QMessageBox::about(this, tr("About Mizan"),
                           tr("<b>Mizan</b> %1<br/>Plans device maps for checkpoints bigger than one GPU, matching Accelerate's infer_auto_device_map.")
                               .arg(QStringLiteral(MIZAN_VERSION)));
    });
}

void MainWindow::createMenus()
{
    m_fileMenu = menuBar()->addMenu(QString());
    m_fileMenu->addAction(m_openFolderAction);
    m_fileMenu->addAction(m_openFileAction);
    m_presetMenu = m_fileMenu->addMenu(QString());
    m_recentMenu = m_fileMenu->addMenu(QString());
    m_fileMenu->addSeparator();
    m_importMenu = m_fileMenu->addMenu(QString());
    m_importMenu->addAction(m_importMapAction);
    m_importMenu->addAction(m_importPlanAction);
    m_exportMenu = m_fileMenu->addMenu(QString());
    m_exportMenu->addAction(m_exportMapAction);
    m_exportMenu->addAction(m_exportMaxMemoryAction);
    m_exportMenu->addAction(m_savePlanAction);
    m_exportMenu->addAction(m_copySnippetAction);
    m_fileMenu->addAction(m_savePlanAction);
    m_fileMenu->addAction(m_compareAction);
    m_fileMenu->addAction(m_clusterAction);
    m_fileMenu->addSeparator();
    m_fileMenu->addAction(m_quitAction);

    m_editMenu = menuBar()->addMenu(QString());
    m_editMenu->addAction(m_undoAction);
    m_editMenu->addAction(m_redoAction);
    m_editMenu->addSeparator();
    m_moveMenu = m_editMenu->addMenu(QString());
    m_pinMenu = m_editMenu->addMenu(QString());
    m_editMenu->addAction(m_unpinAction);
    m_editMenu->addSeparator();
    m_editMenu->addAction(m_filterAction);
    connect(m_moveMenu, &QMenu::aboutToShow, this, [this] { fillDeviceMenu(m_moveMenu, false); });
    connect(m_pinMenu, &QMenu::aboutToShow, this, [this] { fillDeviceMenu(m_pinMenu, true); });

    m_viewMenu = menuBar()->addMenu(QString());
    for (QDockWidget *d : {m_devicesDock, m_noSplitDock, m_policiesDock, m_chartsDock, m_problemsDock, m_historyDock})
        m_viewMenu->addAction(d->toggleViewAction());
    m_viewMenu->addSeparator();
    m_viewMenu->addAction(m_expandAction);
    m_viewMenu->addAction(m_collapseAction);

    m_planMenu = menuBar()->addMenu(QString());
    m_planMenu->addAction(m_planAction);
    m_planMenu->addSeparator();
    m_planMenu->addAction(m_testRunAction);
    m_planMenu->addAction(m_cancelRunAction);

    m_languageMenu = menuBar()->addMenu(QString());
    m_languageMenu->addAction(m_englishAction);
    m_languageMenu->addAction(m_arabicAction);

    m_helpMenu = menuBar()->addMenu(QString());
    m_helpMenu->addAction(m_aboutAction);

    auto *toolbar = addToolBar(QString());
    toolbar->setObjectName(QStringLiteral("mainToolbar"));
    toolbar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    toolbar->addAction(m_openFolderAction);
    toolbar->addAction(m_planAction);
    toolbar->addAction(m_testRunAction);
    toolbar->addAction(m_undoAction);
    toolbar->addAction(m_redoAction);
    toolbar->addAction(m_exportMapAction);
}

void MainWindow::retranslateUi()
{
    m_fileMenu->setTitle(tr("&File"));
    m_presetMenu->setTitle(tr("Open &preset"));
    m_recentMenu->setTitle(tr("Open &recent"));
    m_importMenu->setTitle(tr("&Import"));
    m_exportMenu->setTitle(tr("&Export"));
    m_editMenu->setTitle(tr("&Edit"));
    m_moveMenu->setTitle(tr("&Move to"));
    m_pinMenu->setTitle(tr("&Pin to"));
    m_viewMenu->setTitle(tr("&View"));
    m_planMenu->setTitle(tr("&Plan"));
    m_languageMenu->setTitle(tr("&Language"));
    m_helpMenu->setTitle(tr("&Help"));
    m_openFolderAction->setText(tr("&Open folder…"));
    m_openFileAction->setText(tr("Open &file…"));
    m_quitAction->setText(tr("&Quit"));
    m_importMapAction->setText(tr("Device map JSON…"));
    m_importPlanAction->setText(tr("Plan file…"));
    m_compareAction->setText(tr("&Compare with plan…"));
    m_compareAction->setToolTip(tr("Show the map on screen and a saved plan or device map side by side: what moved, memory per device, predicted speed"));
    m_clusterAction->setText(tr("Open c&luster plan…"));
    m_clusterAction->setToolTip(tr("Show a plan made for several hosts (mizan-cli plan --hardware CLUSTER): each host's stage and device lanes"));
    m_exportMapAction->setText(tr("Export device map…"));
    m_exportMaxMemoryAction->setText(tr("max_memory JSON…"));
    m_savePlanAction->setText(tr("&Save plan…"));
    m_copySnippetAction->setText(tr("Copy Python snippet"));
    updateUndoTexts();
    m_unpinAction->setText(tr("Unpin"));
    m_filterAction->setText(tr("Filter modules…"));
    m_expandAction->setText(tr("Expand selected"));
    m_collapseAction->setText(tr("Collapse all"));
    m_planAction->setText(tr("Plan"));
    m_planAction->setToolTip(tr("Compute a device map for these limits (F5)"));
    m_testRunAction->setText(tr("Test inference"));
    m_testRunAction->setToolTip(tr("Generate a few tokens with the weights placed as planned, and watch them move (F6)"));
    m_cancelRunAction->setText(tr("Cancel test inference"));
    m_pages->setTabText(m_pages->indexOf(m_workspace), tr("Plan"));
    m_pages->setTabText(m_pages->indexOf(m_testRun), tr("Test inference"));
    m_testRun->retranslate();
    m_englishAction->setText(QStringLiteral("English"));
    m_arabicAction->setText(QStringLiteral("العربية"));
    m_aboutAction->setText(tr("&About Mizan"));
    m_devicesDock->setWindowTitle(tr("Devices and limits"));
    m_noSplitDock->setWindowTitle(tr("No-split classes"));
    m_policiesDock->setWindowTitle(tr("Policies"));
    m_chartsDock->setWindowTitle(tr("Memory per device and per layer"));
    m_historyDock->setWindowTitle(tr("History"));
    m_history->setEmptyLabel(tr("<opened>"));
    m_filter->setPlaceholderText(tr("Filter by module name or class…"));
    m_cancel->setText(tr("Cancel"));
    if (auto *tb = findChild<QToolBar *>(QStringLiteral("mainToolbar")))
        tb->setWindowTitle(tr("Main toolbar"));
    fillRecentMenu();
    if (m_document->hasModel())
        setWindowTitle(tr("%1 — Mizan").arg(ltr(QFileInfo(m_document->model()->path).fileName())));
    else
        setWindowTitle(tr("Mizan"));
    m_problems->retranslate();
    m_problemsDock->setWindowTitle(m_problems->title());
    updateStatus();
}

void MainWindow::updateUndoTexts()
{
    const QUndoStack *stack = m_document->undoStack();
    m_undoAction->setText(stack->canUndo() ? tr("&Undo %1").arg(stack->undoText()) : tr("&Undo"));
    m_redoAction->setText(stack->canRedo() ? tr("&Redo %1").arg(stack->redoText()) : tr("&Redo"));
}

void MainWindow::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange) {
        retranslateUi();
        m_document->retranslate();
    }
    QMainWindow::changeEvent(event);
}

void MainWindow::setLanguage(const QString &code)
{
    const QString lang = code == QLatin1String("ar") ? code : QStringLiteral("en");
    qApp->removeTranslator(&m_translator);
    qApp->removeTranslator(&m_qtTranslator);
    m_language = lang;
    // Locale first: the LanguageChange handlers format numbers with it.
    QLocale::setDefault(lang == QLatin1String("ar") ? QLocale(QLocale::Arabic, QLocale::Egypt)
                                                   : QLocale(QLocale::English, QLocale::UnitedStates));
    const Qt::LayoutDirection direction = lang == QLatin1String("ar") ? Qt::RightToLeft : Qt::LeftToRight;
    const bool mirrored = direction != qApp->layoutDirection();
    qApp->setLayoutDirection(direction);
    // A restored window state already has the docks where the user left them in this language.
    if (mirrored && !m_keepDockState)
        arrangeDocks();
    if (m_translator.load(QStringLiteral(":/i18n/mizan_%1.qm").arg(lang)))
        qApp->installTranslator(&m_translator);
    else
        qWarning("mizan: no translation for %s", qPrintable(lang));
    if (m_qtTranslator.load(QStringLiteral("qtbase_%1").arg(lang), QLibraryInfo::path(QLibraryInfo::TranslationsPath)))
        qApp->installTranslator(&m_qtTranslator);
    (lang == QLatin1String("ar") ? m_arabicAction : m_englishAction)->setChecked(true);
    // QApplication posts LanguageChange to every window: deliver them now, so the switch is
    // complete when this returns.
    QCoreApplication::sendPostedEvents(nullptr, QEvent::LanguageChange);
    QSettings().setValue(QStringLiteral("language"), lang);
}

void MainWindow::openPath(const QString &pathOrPreset)
{
    if (pathOrPreset.isEmpty())
        return;
    m_document->open(pathOrPreset);
}

bool MainWindow::selectModule(const QString &name)
{
    return m_tree->selectModule(name);
}

void MainWindow::addPolicies(const QStringList &policies)
{
    m_policiesDock->show();
    m_policiesDock->raise();
    for (const QString &p : policies)
        if (!m_policies->addPolicy(p))
            qWarning("mizan: the policy %s was not added", qPrintable(p));
}

void MainWindow::screenshotWhenPlanned(const QString &file, const QString &module)
{
    auto *conn = new QMetaObject::Connection;
    *conn = connect(m_document, &Document::planFinished, this, [this, file, module, conn](bool ok, const QString &) {
        disconnect(*conn);
        delete conn;
        if (!module.isEmpty())
            selectModule(module);
        QTimer::singleShot(1200, this, [this, file, ok] {
            const bool saved = grab().save(file);
            qApp->exit(ok && saved ? 0 : 1);
        });
    });
    connect(m_document, &Document::openFailed, this, [](const QString &message, bool) {
        qWarning("mizan: %s", qPrintable(message));
        qApp->exit(1);
    });
}

CompareDialog *MainWindow::compareWith(const QString &file)
{
    try {
        auto *dialog = new CompareDialog(m_document, m_document->compareWith(file), file, this);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        dialog->show();
        return dialog;
    } catch (const std::exception &e) {
        showError(tr("Cannot compare"), describeError(e));
        return nullptr;
    }
}

ClusterDialog *MainWindow::openClusterPlan(const QString &file, const QString &screenshot)
{
    ClusterDialog *dialog = nullptr;
    try {
        dialog = new ClusterDialog(m_document, planner::readClusterPlanFile(file.toStdString()), file, this);
    } catch (const std::exception &e) {
        if (!screenshot.isEmpty()) {
            qWarning("mizan: %s", qPrintable(describeError(e)));
            qApp->exit(1);
            return nullptr;
        }
        showError(tr("Cannot open the cluster plan"), describeError(e));
        return nullptr;
    }
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
    if (!screenshot.isEmpty())
        QTimer::singleShot(800, dialog, [dialog, screenshot] { qApp->exit(dialog->grab().save(screenshot) ? 0 : 1); });
    return dialog;
}

void MainWindow::runClusterPlanWhenPlanned(const QString &file, const QString &screenshot, int maxNewTokens)
{
    connect(m_document, &Document::planFinished, this, [this, file, screenshot, maxNewTokens] {
        ClusterDialog *dialog = openClusterPlan(file);
        if (!dialog) {
            if (!screenshot.isEmpty())
                qApp->exit(1);
            return;
        }
        dialog->showRunPage();
        if (maxNewTokens > 0)
            dialog->setMaxNewTokens(maxNewTokens);
        if (!screenshot.isEmpty())
            connect(dialog, &ClusterDialog::runFinished, dialog, [dialog, screenshot](const std::vector<runtime::RunResult> &results) {
                bool failed = false;
                for (const auto &r : results)
                    failed = failed || r.error.has_value();
                if (failed)
                    qWarning("mizan: the run failed: %s", qPrintable(dialog->statusText()));
                // After the last lights have faded.
                QTimer::singleShot(800, dialog, [dialog, screenshot, failed] { qApp->exit(dialog->grab().save(screenshot) && !failed ? 0 : 1); });
            });
        if (!dialog->run()) {
            qWarning("mizan: cannot run: %s", qPrintable(dialog->statusText()));
            if (!screenshot.isEmpty())
                qApp->exit(1);
        }
    }, Qt::SingleShotConnection);
}

void MainWindow::compareWhenPlanned(const QString &file, const QString &screenshot)
{
    connect(m_document, &Document::planFinished, this, [this, file, screenshot] {
        CompareDialog *dialog = compareWith(file);
        if (screenshot.isEmpty())
            return;
        if (!dialog) {
            qApp->exit(1);
            return;
        }
        QTimer::singleShot(1200, dialog, [dialog, screenshot] { qApp->exit(dialog->grab().save(screenshot) ? 0 : 1); });
    }, Qt::SingleShotConnection);
}

void MainWindow::screenshotStartPage(const QString &file)
{
    auto save = [this, file] {
        // After the rows are laid out and painted once.
        QTimer::singleShot(500, this, [this, file] { qApp->exit(grab().save(file) ? 0 : 1); });
    };
    if (m_start->isListingLocalModels())
        connect(m_start, &StartPage::localModelsListed, this, save, Qt::SingleShotConnection);
    else
        save();
}

void MainWindow::showTestRunPage()
{
    m_pages->setCurrentWidget(m_testRun);
}

bool MainWindow::startTestRun()
{
    showTestRunPage();
    return m_testRun->run();
}

void MainWindow::testRunWhenPlanned(const QString &screenshot)
{
    auto *conn = new QMetaObject::Connection;
    *conn = connect(m_document, &Document::planFinished, this, [this, screenshot, conn](bool ok, const QString &message) {
        disconnect(*conn);
        delete conn;
        if (!ok) {
            qWarning("mizan: %s", qPrintable(message));
            if (!screenshot.isEmpty())
                qApp->exit(1);
            return;
        }
        // After the views have taken the plan.
        QTimer::singleShot(0, this, [this, screenshot] {
            if (!startTestRun()) {
                qWarning("mizan: cannot run: %s", qPrintable(m_testRun->statusText()));
                if (!screenshot.isEmpty())
                    qApp->exit(1);
                return;
            }
            if (screenshot.isEmpty())
                return;
            auto shot = std::make_shared<bool>(false);
            connect(m_testRun, &TestRunPanel::tokenProduced, this, [this, screenshot, shot](int index) {
                const int wanted = std::max(1, m_testRun->maxNewTokens() / 3);
                if (*shot || index + 1 < wanted)
                    return;
                *shot = true;
                if (!grab().save(screenshot))
                    qWarning("mizan: cannot write %s", qPrintable(screenshot));
            });
            connect(m_testRun, &TestRunPanel::runFinished, this, [this, screenshot, shot](const runtime::RunResult &result) {
                if (!*shot) // a run too short to catch mid-way: the finished view
                    *shot = grab().save(screenshot);
                if (result.error)
                    qWarning("mizan: the run failed: %s", result.error->message.c_str());
                qApp->exit(*shot && !result.error ? 0 : 1);
            });
        });
    });
    connect(m_document, &Document::openFailed, this, [screenshot](const QString &message, bool) {
        qWarning("mizan: %s", qPrintable(message));
        if (!screenshot.isEmpty())
            qApp->exit(1);
    });
}

void MainWindow::updateActions()
{
    const bool model = m_document->hasModel();
    const bool map = !m_document->deviceMap().empty();
    m_planAction->setEnabled(model && !m_document->isPlanning());
    m_testRunAction->setEnabled(!m_testRun->isRunning() && m_document->testRunProblem().isEmpty());
    m_testRunAction->setToolTip(m_testRunAction->isEnabled()
                                    ? tr("Generate a few tokens with the weights placed as planned, and watch them move (F6)")
                                    : m_document->testRunProblem());
    m_cancelRunAction->setEnabled(m_testRun->isRunning());
    for (QAction *a : {m_importMapAction, m_importPlanAction})
        a->setEnabled(model);
    for (QAction *a : {m_exportMapAction, m_exportMaxMemoryAction, m_savePlanAction, m_copySnippetAction, m_compareAction})
        a->setEnabled(map);
    const bool selection = model && m_tree->selectionModel()->hasSelection();
    m_moveMenu->setEnabled(selection && map);
    m_pinMenu->setEnabled(selection);
    m_unpinAction->setEnabled(selection && !m_document->pins().empty());
    m_expandAction->setEnabled(selection);
}

void MainWindow::updateProblems()
{
    m_problems->refresh();
    m_problemsDock->setWindowTitle(m_problems->title());
}

void MainWindow::updateStatus()
{
    if (m_document->isOpening())
        return;
    if (!m_document->hasModel()) {
        m_statusLabel->setText(tr("Open a checkpoint, a config.json or a preset to begin."));
        return;
    }
    const auto *model = m_document->model();
    const auto &desc = model->source.model;
    const auto &sizes = m_document->sizes();
    QString arch = QString::fromStdString(desc.architecture.empty() ? desc.family : desc.architecture);
    if (arch.isEmpty())
        arch = tr("unknown architecture");
    QString text = tr("%1: %2 parameters, %3, %4 modules").arg(arch, formatCount(sizes.parameters.empty() ? 0 : sizes.parameters[0], true),
                                                             formatBytes(sizes.totalBytes()), QLocale().toString(m_document->tree()->size() - 1));
    if (!model->source.checkpoint.hasWeights())
        text += QStringLiteral(" · ") + tr("config only");
    text += QStringLiteral(" · ") + tr("opened in %1 ms").arg(QLocale().toString(model->elapsedMs));
    if (m_document->isPlanning())
        text += QStringLiteral(" · ") + tr("planning…");
    m_statusLabel->setText(text);
}

void MainWindow::fillDeviceMenu(QMenu *menu, bool pin)
{
    menu->clear();
    const auto ids = m_tree->selectedModules();
    for (const auto &d : m_document->deviceChoices()) {
        QPixmap swatch(12, 12);
        swatch.fill(m_document->deviceColor(d));
        menu->addAction(QIcon(swatch), m_document->deviceLabel(d), this, [this, ids, d, pin] {
            if (pin) {
                for (int id : ids)
                    m_document->pinModule(id, d);
            } else {
                m_document->setModulesDevice(ids, d);
            }
        });
    }
}

void MainWindow::treeContextMenu(const QPoint &pos)
{
    if (!m_tree->indexAt(pos).isValid())
        return;
    QMenu menu(this);
    QMenu *move = menu.addMenu(tr("Move to"));
    move->setEnabled(!m_document->deviceMap().empty());
    fillDeviceMenu(move, false);
    QMenu *pin = menu.addMenu(tr("Pin to"));
    fillDeviceMenu(pin, true);
    menu.addAction(m_unpinAction);
    menu.addSeparator();
    menu.addAction(m_expandAction);
    menu.addAction(tr("Copy name"), this, [this, pos] {
        QGuiApplication::clipboard()->setText(m_tree->indexAt(pos).data(ModuleTreeModel::FullNameRole).toString());
    });
    menu.exec(m_tree->viewport()->mapToGlobal(pos));
}

void MainWindow::exportWith(const QString &title, const QString &filter, const QString &suffix,
                            const std::function<void(const QString &)> &write)
{
    QString start = suffix;
    if (m_document->hasModel() && m_document->model()->source.checkpoint.directory.size())
        start = QString::fromStdString(m_document->model()->source.checkpoint.directory) + QLatin1Char('/') + suffix;
    const QString file = QFileDialog::getSaveFileName(this, title, start, filter);
    if (file.isEmpty())
        return;
    try {
        write(file);
        statusBar()->showMessage(tr("Saved %1").arg(ltr(file)), 5000);
    } catch (const std::exception &e) {
        showError(tr("Cannot save"), describeError(e));
    }
}

void MainWindow::importWith(const QString &title, const QString &filter, const std::function<void(const QString &)> &read)
{
    const QString file = QFileDialog::getOpenFileName(this, title, QString(), filter);
    if (file.isEmpty())
        return;
    try {
        read(file);
        statusBar()->showMessage(tr("Imported %1").arg(ltr(file)), 5000);
    } catch (const std::exception &e) {
        showError(tr("Cannot import"), describeError(e));
    }
}

bool MainWindow::importFile(const QString &file)
{
    try {
        m_document->importFile(file);
        statusBar()->showMessage(tr("Imported %1").arg(ltr(file)), 5000);
        return true;
    } catch (const std::exception &e) {
        showError(tr("Cannot import"), describeError(e));
        return false;
    }
}

void MainWindow::showError(const QString &title, const QString &message)
{
    statusBar()->showMessage(message, 10000);
    if (QGuiApplication::platformName() == QLatin1String("offscreen"))
        return; // tests read the status bar; a modal box would block them
    QMessageBox::warning(this, title, message);
}

void MainWindow::addRecent(const QString &path)
{
    const QFileInfo info(path);
    const QString entry = info.exists() ? info.absoluteFilePath() : path;
    m_recent.removeAll(entry);
    m_recent.prepend(entry);
    while (m_recent.size() > kMaxRecent)
        m_recent.removeLast();
    m_start->setRecentFiles(m_recent);
    fillRecentMenu();
    saveSettings();
}

void MainWindow::fillRecentMenu()
{
    m_recentMenu->clear();
    for (const QString &f : m_recent)
        m_recentMenu->addAction(f, this, [this, f] { openPath(f); });
    m_recentMenu->setEnabled(!m_recent.isEmpty());
}

void MainWindow::loadSettings()
{
    QSettings s;
    restoreGeometry(s.value(QStringLiteral("geometry")).toByteArray());
    // Saved in the language saved with it (the state is saved on close, the language on switch).
    m_keepDockState = restoreState(s.value(QStringLiteral("windowState")).toByteArray());
    const SavedSettings saved = loadSavedSettings();
    m_recent = saved.recentFiles;
    m_start->setRecentFiles(m_recent);
    if (!saved.devices.empty())
        m_document->setDevices(saved.devices, QString());
    m_document->setHeadroom(saved.headroomTokens, saved.headroomBatch);
    m_document->undoStack()->clear(); // restored settings are not steps the user can undo
    setLanguage(saved.language);
    m_keepDockState = false;
}

void MainWindow::saveSettings() const
{
    SavedSettings settings;
    settings.recentFiles = m_recent;
    settings.devices = m_document->devices();
    settings.headroomTokens = m_document->headroomTokens();
    settings.headroomBatch = m_document->headroomBatch();
    gui::saveSettings(settings);
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    m_testRun->cancel(); // the run's thread is joined when the panel goes, within one block's time
    QSettings s;
    s.setValue(QStringLiteral("geometry"), saveGeometry());
    s.setValue(QStringLiteral("windowState"), saveState());
    saveSettings();
    QMainWindow::closeEvent(event);
}

void MainWindow::dragEnterEvent(QDragEnterEvent *event)
{
    if (event->mimeData()->hasUrls() && event->source() == nullptr)
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent *event)
{
    for (const QUrl &url : event->mimeData()->urls())
        if (url.isLocalFile()) {
            openPath(url.toLocalFile());
            event->acceptProposedAction();
            return;
        }
}

} // namespace mizan::gui
