// GUI tests (offscreen): open a demo checkpoint, plan, edit with undo/redo, export and re-import,
// switch to Arabic at run time, and watch the event loop while a 405B index opens.
#include "chartspanel.h"
#include "document.h"
#include "clusterdialog.h"
#include "comparedialog.h"
#include "mainwindow.h"
#include "guiformat.h"
#include "messagetext.h"
#include "moduletreemodel.h"
#include "policypanel.h"
#include "worker.h"

#include "loader/checkpoint.h"
#include "loader/safetensorswriter.h"
#include "models/demo.h"
#include "models/planoptions.h"
#include "devicepanel.h"
#include "planner/error.h"
#include "planner/usage.h"
#include "testutil.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QComboBox>
#include <QDockWidget>
#include <QGroupBox>
#include <QLabel>
#include <QProgressBar>
#include <QSpinBox>
#include <QElapsedTimer>
#include <QFile>
#include <QHeaderView>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QMimeData>
#include <QMenuBar>
#include <QProcess>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <QTranslator>
#include <QTreeView>
#include <QTreeWidget>
#include <QXmlStreamReader>
#include <QRegularExpression>

#include <qcustomplot.h>

#include <ctime>
#include <limits>

using namespace mizan;
using namespace mizan::gui;

namespace {

constexpr int kTimeoutMs = 60000;

std::vector<DeviceSetting> twoSmallGpus(std::int64_t totalBytes)
{
    // Each GPU may hold 60% of the model (less the largest-layer reserve): the plan must spread over GPU 0, GPU 1 and the CPU.
    const std::int64_t gpu = totalBytes * 3 / 5;
    return {{planner::Device::gpu(0), gpu, true, {}},
            {planner::Device::gpu(1), gpu, true, {}},
            {planner::Device::cpu(), totalBytes * 4, false, {}}};
}

QSet<std::string> devicesIn(const planner::DeviceMap &map)
{
    QSet<std::string> out;
    for (const auto &[key, device] : map)
        out.insert(device.toString());
    return out;
}

QStringList visibleTexts(MainWindow &w)
{
    QStringList texts;
    for (QAction *a : w.menuBar()->actions())
        texts << a->text();
    for (QDockWidget *d : w.findChildren<QDockWidget *>())
        texts << d->windowTitle();
    for (int c = 0; c < ModuleTreeModel::ColumnCount; ++c)
        texts << w.treeView()->model()->headerData(c, Qt::Horizontal).toString();
    return texts;
}

bool hasArabicLetters(const QString &text)
{
    for (const QChar c : text)
        if (c.unicode() >= 0x0600 && c.unicode() <= 0x06ff && c.isLetter())
            return true;
    return false;
}

bool hasLeftoverPlaceholder(const QString &text)
{
    static const QRegularExpression placeholder(QStringLiteral("%[0-9]"));
    return text.contains(placeholder);
}

} // namespace

class TestGui : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void opensDemoAndPlans();
    void treeModelPassesTester();
    void editDeviceWithUndoRedo();
    void dropRowsOnDeviceBar();
    void filterKeepsMatchesAndAncestors();
    void exportAndReimport();
    void failedOpenShowsMessage();
    void switchesToArabicAtRunTime();
    void plannerMessagesFollowTheLanguage();
    void checkpointNotesFollowTheLanguage();
    void everyMessageHasTextInBothLanguages_data();
    void everyMessageHasTextInBothLanguages();
    void opening405BNeverStallsTheEventLoop();
    void detectedGpusBecomeDevices();
    void headroomIsReservedAndUndoable();
    void errorsHaveTranslatedHeadlines();
    void docksMirrorWithTheLanguage();
    void translationsAreComplete_data();
    void translationsAreComplete();
    void everyTrStringIsTranslated();
    void importFileTellsPlansFromMaps();
    void usageAgreesWithValidationAndTheCli();
    void importedPlanKeepsItsDevices();
    void pinErrorsAreTranslated();
    void loadDtypeAndProfilesComeFromTheCore();
    void firstRunDemoShowsTheSplit();
    void policiesReplanAndAreSaved();
    void comparesPlansSideBySide();
    void showsClusterPlanAsHosts();

private:
    void openDemo(MainWindow &w);
    template<typename Id>
    void checkMessageInBothLanguages(Id id);

    QTemporaryDir m_dir;
    QString m_demo;
    std::int64_t m_demoBytes = 0;
};

void TestGui::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true); // QSettings go to a test location
    QCoreApplication::setOrganizationName(QStringLiteral("MizanTest"));
    QSettings().clear(); // no language, limits or recent files from an earlier run
    QVERIFY(m_dir.isValid());
    m_demo = m_dir.filePath(QStringLiteral("demo"));
    models::DemoOptions options;
    options.seed = 5;
    const auto result = models::writeDemo(m_demo.toStdString(), options);
    m_demoBytes = result.totalBytes;
    QVERIFY(m_demoBytes > 0);
}

void TestGui::openDemo(MainWindow &w)
{
    Document *doc = w.document();
    doc->setDevices(twoSmallGpus(m_demoBytes), QStringLiteral("test devices"));
    QSignalSpy opened(doc, &Document::opened);
    QSignalSpy planned(doc, &Document::planFinished);
    w.openPath(m_demo);
    QVERIFY(opened.wait(kTimeoutMs));
    if (planned.isEmpty())
        QVERIFY(planned.wait(kTimeoutMs));
    QCOMPARE(planned.first().at(0).toBool(), true);
}

void TestGui::opensDemoAndPlans()
{
    MainWindow w;
    w.show();
    openDemo(w);
    Document *doc = w.document();
    QVERIFY(doc->hasModel());
    QVERIFY(doc->model()->source.checkpoint.hasWeights());
    QVERIFY(doc->plan());
    // The plan spreads over both simulated GPUs and the CPU, and is valid.
    const auto used = devicesIn(doc->deviceMap());
    QVERIFY2(used.contains("0") && used.contains("1") && used.contains("cpu"),
             qPrintable(QStringList(QStringList() << QString::number(used.size())).join(QString())));
    QVERIFY(!planner::hasErrors(doc->issues()));
    // Every row of the tree has a device after planning (colour role set).
    auto *model = doc->treeModel();
    const QModelIndex top = model->index(0, ModuleTreeModel::DeviceColumn);
    QVERIFY(top.isValid());
    QVERIFY(!top.data().toString().isEmpty());
    const QModelIndex layer0 = model->indexForModule(doc->tree()->find("model.layers.0"), ModuleTreeModel::DeviceColumn);
    QVERIFY(layer0.data(Qt::BackgroundRole).isValid());
    QVERIFY(!layer0.data(ModuleTreeModel::ReasonRole).toString().isEmpty());
    // The charts show one stacked bar group per device and one bar per map entry.
    QVERIFY(w.charts()->devicePlot()->plottableCount() >= 3 * 3);
    int bars = 0;
    for (int i = 0; i < w.charts()->layerPlot()->plottableCount(); ++i)
        bars += static_cast<QCPBars *>(w.charts()->layerPlot()->plottable(i))->data()->size();
    QCOMPARE(bars, static_cast<int>(doc->deviceMap().size()));
    // The view is sorted in execution order: "embed_tokens" before "layers" before "norm".
    QTreeView *view = w.treeView();
    const QModelIndex modelRow = view->model()->index(0, 0);
    QCOMPARE(modelRow.data().toString(), QStringLiteral("model"));
    QCOMPARE(view->model()->index(0, 0, modelRow).data().toString(), QStringLiteral("embed_tokens"));
}

void TestGui::treeModelPassesTester()
{
    MainWindow w;
    Document *doc = w.document();
    QAbstractItemModelTester tester(doc->treeModel(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    QAbstractItemModelTester proxyTester(w.treeView()->model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    openDemo(w);
    // Size and placement updates go through the tester's dataChanged checks.
    doc->setDtype(DType::F32);
    doc->setModuleDevice(doc->tree()->find("model.layers.1"), planner::Device::cpu());
    doc->undoStack()->undo();
    doc->undoStack()->undo();
    QVERIFY(doc->treeModel()->rowCount() > 0);
}

void TestGui::editDeviceWithUndoRedo()
{
    MainWindow w;
    openDemo(w);
    Document *doc = w.document();
    const planner::DeviceMap planned = doc->deviceMap();
    const int layer = doc->tree()->find("model.layers.0");
    QVERIFY(layer > 0);
    auto *model = doc->treeModel();
    const QModelIndex cell = model->indexForModule(layer, ModuleTreeModel::DeviceColumn);
    const QString before = cell.data(Qt::EditRole).toString();
    QCOMPARE(before, QStringLiteral("0"));
    QVERIFY(model->flags(cell) & Qt::ItemIsEditable);

    // The device column editor's path: setData with a device key, applied through the undo stack.
    QVERIFY(model->setData(cell, QStringLiteral("cpu")));
    QCOMPARE(cell.data(Qt::EditRole).toString(), QStringLiteral("cpu"));
    QVERIFY(doc->deviceMap() != planned);
    bool found = false;
    for (const auto &[key, device] : doc->deviceMap())
        if (key == "model.layers.0")
            found = device == planner::Device::cpu();
    QVERIFY(found);
    QVERIFY2(cell.data(ModuleTreeModel::ReasonRole).toString().contains(QStringLiteral("by you")),
             qPrintable(cell.data(ModuleTreeModel::ReasonRole).toString()));

    doc->undoStack()->undo();
    QCOMPARE(doc->deviceMap(), planned);
    QCOMPARE(cell.data(Qt::EditRole).toString(), before);
    doc->undoStack()->redo();
    QCOMPARE(cell.data(Qt::EditRole).toString(), QStringLiteral("cpu"));

    // Moving a module inside a key splits the key; its siblings keep their device.
    const QString layer1Device = model->indexForModule(doc->tree()->find("model.layers.1"), ModuleTreeModel::DeviceColumn)
                                     .data(Qt::EditRole).toString();
    const int attn = doc->tree()->find("model.layers.1.self_attn");
    doc->setModuleDevice(attn, planner::Device::disk());
    const QModelIndex mlp = model->indexForModule(doc->tree()->find("model.layers.1.mlp"), ModuleTreeModel::DeviceColumn);
    QCOMPARE(model->indexForModule(attn, ModuleTreeModel::DeviceColumn).data(Qt::EditRole).toString(), QStringLiteral("disk"));
    QCOMPARE(mlp.data(Qt::EditRole).toString(), layer1Device);
    QCOMPARE(model->indexForModule(doc->tree()->find("model.layers.1"), ModuleTreeModel::DeviceColumn)
                 .data(ModuleTreeModel::DeviceSlotRole).toInt(), -2);
    // The layer is a no-split class: validation now warns about it.
    bool warned = false;
    for (const auto &issue : doc->issues())
        warned |= issue.kind == planner::IssueKind::NoSplitBroken;
    QVERIFY(warned);
    QVERIFY(w.problemsView()->topLevelItemCount() > 0);
    doc->undoStack()->undo();
    doc->undoStack()->undo();
    QCOMPARE(doc->deviceMap(), planned);
}

void TestGui::dropRowsOnDeviceBar()
{
    MainWindow w;
    w.resize(1400, 900);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    openDemo(w);
    Document *doc = w.document();
    QCustomPlot *plot = w.charts()->devicePlot();
    plot->replot();
    // Drag model.layers.0 and model.layers.1 from the tree onto the CPU bar (third bar).
    auto *model = doc->treeModel();
    const QModelIndexList rows = {model->indexForModule(doc->tree()->find("model.layers.0")),
                                  model->indexForModule(doc->tree()->find("model.layers.1"))};
    std::unique_ptr<QMimeData> mime(model->mimeData(rows));
    const QPoint onCpu(static_cast<int>(plot->xAxis->coordToPixel(3)), plot->axisRect()->center().y());
    QCOMPARE(w.charts()->deviceAt(onCpu), std::optional<planner::Device>(planner::Device::cpu()));
    QDragEnterEvent enter(onCpu, Qt::MoveAction, mime.get(), Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(plot, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(QPointF(onCpu), Qt::MoveAction, mime.get(), Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(plot, &drop);
    for (const QModelIndex &row : rows)
        QCOMPARE(row.siblingAtColumn(ModuleTreeModel::DeviceColumn).data(Qt::EditRole).toString(), QStringLiteral("cpu"));
    // One drop of two rows is one undo step.
    QCOMPARE(doc->undoStack()->undoText(), QStringLiteral("Move 2 modules to CPU"));
    doc->undoStack()->undo();
    QCOMPARE(rows[0].siblingAtColumn(ModuleTreeModel::DeviceColumn).data(Qt::EditRole).toString(), QStringLiteral("0"));
}

void TestGui::filterKeepsMatchesAndAncestors()
{
    MainWindow w;
    openDemo(w);
    auto *filter = w.findChild<QLineEdit *>(QStringLiteral("filter"));
    QVERIFY(filter);
    filter->setText(QStringLiteral("down_proj"));
    QAbstractItemModel *view = w.treeView()->model();
    QCOMPARE(view->rowCount(), 1);                       // "model" (lm_head does not match)
    const QModelIndex modelRow = view->index(0, 0);
    QCOMPARE(view->rowCount(modelRow), 1);               // "layers" only
    const QModelIndex layers = view->index(0, 0, modelRow);
    QCOMPARE(view->rowCount(layers), 4);                 // every decoder layer keeps its mlp.down_proj
    filter->setText(QStringLiteral("LlamaRMSNorm"));     // by class
    QVERIFY(view->rowCount() >= 1);
    filter->clear();
    QCOMPARE(view->rowCount(), 2);                       // model, lm_head
}

void TestGui::exportAndReimport()
{
    MainWindow w;
    openDemo(w);
    Document *doc = w.document();
    QTemporaryDir out;
    const QString mapFile = out.filePath(QStringLiteral("device_map.json"));
    const QString planFile = out.filePath(QStringLiteral("plan.mizan.json"));
    const QString memoryFile = out.filePath(QStringLiteral("max_memory.json"));
    doc->setModuleDevice(doc->tree()->find("model.layers.0"), planner::Device::cpu());
    const planner::DeviceMap edited = doc->deviceMap();
    doc->exportDeviceMap(mapFile);
    doc->exportPlan(planFile);
    doc->exportMaxMemory(memoryFile);
    QVERIFY(doc->undoStack()->isClean());
    QVERIFY(QFile::exists(mapFile) && QFile::exists(planFile) && QFile::exists(memoryFile));
    QVERIFY(doc->pythonSnippet().contains(QStringLiteral("device_map")));

    doc->requestPlan(); // back to the planner's map
    QSignalSpy planned(doc, &Document::planFinished);
    QVERIFY(planned.wait(kTimeoutMs));
    QVERIFY(doc->deviceMap() != edited);
    doc->importDeviceMap(mapFile);
    QCOMPARE(doc->deviceMap(), edited);

    // A plan file brings back the devices and limits too.
    doc->setDevices({{planner::Device::cpu(), std::int64_t(1) << 40, false, {}}}, QStringLiteral("cpu only"));
    doc->importPlan(planFile);
    QCOMPARE(doc->deviceMap(), edited);
    QCOMPARE(static_cast<int>(doc->devices().size()), 3);
    QCOMPARE(doc->devices()[0].limitBytes, m_demoBytes * 3 / 5);

    // A save into a folder that does not exist fails with a readable error; the old file stays.
    const QByteArray previous = [&] { QFile f(mapFile); f.open(QIODevice::ReadOnly); return f.readAll(); }();
    QVERIFY_THROWS_EXCEPTION(mizan::Error, doc->exportDeviceMap(out.filePath(QStringLiteral("missing/dir/map.json"))));
    QFile f(mapFile);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.readAll(), previous);
    // Importing garbage is an error, not a crash, and changes nothing.
    const QString bad = out.filePath(QStringLiteral("bad.json"));
    QFile b(bad);
    QVERIFY(b.open(QIODevice::WriteOnly));
    b.write("{\"model.layers.0\": \"gpu-seven\"");
    b.close();
    QVERIFY_THROWS_EXCEPTION(mizan::Error, doc->importDeviceMap(bad));
    QCOMPARE(doc->deviceMap(), edited);
}

void TestGui::failedOpenShowsMessage()
{
    MainWindow w;
    w.show();
    QSignalSpy failed(w.document(), &Document::openFailed);
    w.openPath(m_dir.filePath(QStringLiteral("no-such-checkpoint")));
    QVERIFY(failed.wait(kTimeoutMs));
    const QString message = failed.first().at(0).toString();
    QVERIFY(!message.isEmpty());
    QCOMPARE(w.statusBar()->currentMessage(), message);
    QVERIFY(!w.document()->hasModel());
}

void TestGui::switchesToArabicAtRunTime()
{
    MainWindow w;
    w.show();
    openDemo(w);
    const QStringList english = visibleTexts(w);
    const QModelIndex cell = w.document()->treeModel()->indexForModule(w.document()->tree()->find("model.layers.0"),
                                                                       ModuleTreeModel::DeviceColumn);
    const QString deviceEnglish = cell.data().toString();
    const QString sizeEnglish = cell.siblingAtColumn(ModuleTreeModel::SizeColumn).data().toString();
    w.setLanguage(QStringLiteral("ar"));
    QCOMPARE(QApplication::layoutDirection(), Qt::RightToLeft);
    QCOMPARE(w.layoutDirection(), Qt::RightToLeft);
    QCOMPARE(w.treeView()->layoutDirection(), Qt::RightToLeft);
    const QStringList arabic = visibleTexts(w);
    QCOMPARE(arabic.size(), english.size());
    int changed = 0;
    for (int i = 0; i < english.size(); ++i)
        if (english[i] != arabic[i])
            ++changed;
    QVERIFY2(changed >= english.size() - 1, qPrintable(arabic.join(QLatin1Char('|'))));
    QCOMPARE(w.menuBar()->actions().first()->text(), QStringLiteral("&ملف"));
    // Device names and sizes follow the Arabic locale (Arabic-Indic digits, Arabic units).
    QVERIFY(cell.data().toString() != deviceEnglish);
    QVERIFY(cell.siblingAtColumn(ModuleTreeModel::SizeColumn).data().toString() != sizeEnglish);
    w.setLanguage(QStringLiteral("en"));
    QCOMPARE(QApplication::layoutDirection(), Qt::LeftToRight);
    QCOMPARE(visibleTexts(w), english);
    QCOMPARE(cell.data().toString(), deviceEnglish);
}

void TestGui::plannerMessagesFollowTheLanguage()
{
    MainWindow w;
    w.show();
    openDemo(w);
    Document *doc = w.document();
    auto *model = doc->treeModel();
    // A planned module's explanation (from the planner's messages).
    const QModelIndex layer = model->indexForModule(doc->tree()->find("model.layers.0"), ModuleTreeModel::NameColumn);
    // "model" holds the layers, spread over both GPUs and the CPU: split, with a detail list.
    const QModelIndex root = model->indexForModule(doc->tree()->find("model"), ModuleTreeModel::NameColumn);
    QVERIFY(root.isValid());
    const QString layerEnglish = layer.data(ModuleTreeModel::ReasonRole).toString();
    const QString rootEnglish = root.data(ModuleTreeModel::ReasonRole).toString();
    QVERIFY2(layerEnglish.startsWith(QStringLiteral("fits on GPU 0")), qPrintable(layerEnglish));
    QVERIFY2(rootEnglish.contains(QStringLiteral("(parts on GPU 0")), qPrintable(rootEnglish));
    // A validation problem: part of a no-split layer on disk.
    doc->setModuleDevice(doc->tree()->find("model.layers.1.self_attn"), planner::Device::disk());
    auto problem = [&]() -> QTreeWidgetItem * {
        for (int i = 0; i < w.problemsView()->topLevelItemCount(); ++i)
            if (w.problemsView()->topLevelItem(i)->text(ProblemModuleColumn) == QLatin1String("model.layers.1"))
                return w.problemsView()->topLevelItem(i);
        return nullptr;
    };
    QVERIFY(problem());
    const QString problemEnglish = problem()->text(ProblemTextColumn);
    QCOMPARE(problem()->childCount(), 1); // the suggested fix
    const QString fixEnglish = problem()->child(0)->text(ProblemTextColumn);
    QVERIFY2(fixEnglish.startsWith(QStringLiteral("Fix: ")), qPrintable(fixEnglish));
    QVERIFY2(problemEnglish.contains(QStringLiteral("never split")), qPrintable(problemEnglish));

    w.setLanguage(QStringLiteral("ar"));
    const QString layerArabic = layer.data(ModuleTreeModel::ReasonRole).toString();
    const QString rootArabic = root.data(ModuleTreeModel::ReasonRole).toString();
    QVERIFY(problem());
    const QString problemArabic = problem()->text(ProblemTextColumn);
    const QString fixArabic = problem()->child(0)->text(ProblemTextColumn);
    for (const auto &[english, arabic] : {std::pair(layerEnglish, layerArabic), std::pair(rootEnglish, rootArabic),
                                          std::pair(problemEnglish, problemArabic), std::pair(fixEnglish, fixArabic)}) {
        QVERIFY2(arabic != english, qPrintable(arabic));
        QVERIFY2(hasArabicLetters(arabic), qPrintable(arabic));
        QVERIFY2(!hasLeftoverPlaceholder(arabic), qPrintable(arabic));
    }
    // The module name stays verbatim (isolated left-to-right) inside the Arabic sentence.
    QVERIFY2(problemArabic.contains(QChar(0x2066) + QStringLiteral("model.layers.1") + QChar(0x2069)), qPrintable(problemArabic));
    // The detail pane and the tooltip show the same translated explanation.
    QVERIFY(layer.data(Qt::ToolTipRole).toString().contains(layerArabic.toHtmlEscaped()));

    w.setLanguage(QStringLiteral("en"));
    QCOMPARE(layer.data(ModuleTreeModel::ReasonRole).toString(), layerEnglish);
    QCOMPARE(root.data(ModuleTreeModel::ReasonRole).toString(), rootEnglish);
    QVERIFY(problem());
    QCOMPARE(problem()->text(ProblemTextColumn), problemEnglish);
    QCOMPARE(problem()->child(0)->text(ProblemTextColumn), fixEnglish);
}

void TestGui::checkpointNotesFollowTheLanguage()
{
    // A checkpoint the loader and the registry have notes about: shards whose metadata format is
    // "mlx" (a loader note naming the shards), an architecture the registry does not know (the
    // structural no-split guess). Both show in the problems panel in the current language.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const loader::Checkpoint demo = loader::open(m_demo.toStdString());
    std::vector<loader::WriteTensor> tensors;
    for (const auto &t : demo.catalog.tensors)
        tensors.push_back(loader::WriteTensor{t.name, t.dtype, t.shape, {}, {}});
    loader::ShardOptions shards;
    shards.shardCount = 2;
    shards.write.metadata = {{"format", "mlx"}};
    loader::writeShardedSafetensors(dir.path().toStdString(), tensors, shards);
    nlohmann::ordered_json config = demo.config;
    config["architectures"] = {"FooForCausalLM"};
    config["model_type"] = "foo";
    QVERIFY(test::writeFile(dir.filePath(QStringLiteral("config.json")), QByteArray::fromStdString(config.dump(2))));

    MainWindow w;
    w.show();
    Document *doc = w.document();
    doc->setDevices(twoSmallGpus(m_demoBytes), QStringLiteral("test devices"));
    QSignalSpy opened(doc, &Document::opened);
    QSignalSpy planned(doc, &Document::planFinished);
    w.openPath(dir.path());
    QVERIFY(opened.wait(kTimeoutMs));
    if (planned.isEmpty())
        QVERIFY(planned.wait(kTimeoutMs));
    const auto &checkpointNotes = doc->model()->source.checkpoint.notes;
    const auto &modelNotes = doc->model()->source.model.notes;
    QCOMPARE(checkpointNotes.size(), std::size_t(1));
    QVERIFY(checkpointNotes[0].id == loader::NoteId::MetadataFormatNotPtInShards);
    QCOMPARE(modelNotes.size(), std::size_t(1));
    QVERIFY(modelNotes[0].id == models::NoteId::NoSplitClassGuessed);

    auto row = [&](const QString &needle) {
        for (int i = 0; i < w.problemsView()->topLevelItemCount(); ++i)
            if (w.problemsView()->topLevelItem(i)->text(ProblemTextColumn).contains(needle))
                return i;
        return -1;
    };
    const int loaderRow = row(QStringLiteral("__metadata__ format is \"mlx\""));
    const int modelRow = row(QStringLiteral("\"Block(layers)\""));
    QVERIFY2(loaderRow >= 0 && modelRow >= 0, qPrintable(QString::number(w.problemsView()->topLevelItemCount())));
    auto text = [&](int i) { return w.problemsView()->topLevelItem(i)->text(ProblemTextColumn); };
    const QString loaderEnglish = text(loaderRow);
    const QString modelEnglish = text(modelRow);
    QVERIFY2(loaderEnglish.contains(QStringLiteral("in 2 shards: model-00001-of-00002.safetensors, model-00002-of-00002.safetensors")),
             qPrintable(loaderEnglish));
    QCOMPARE(w.problemsView()->topLevelItem(loaderRow)->data(ProblemTextColumn, ProblemSeverityRole).toString(), QStringLiteral("Note"));
    QVERIFY(!w.problemsView()->topLevelItem(loaderRow)->icon(ProblemTextColumn).isNull());

    w.setLanguage(QStringLiteral("ar"));
    const QString loaderArabic = text(loaderRow);
    const QString modelArabic = text(modelRow);
    for (const auto &[english, arabic] : {std::pair(loaderEnglish, loaderArabic), std::pair(modelEnglish, modelArabic)}) {
        QVERIFY2(arabic != english, qPrintable(arabic));
        QVERIFY2(hasArabicLetters(arabic), qPrintable(arabic));
        QVERIFY2(!hasLeftoverPlaceholder(arabic), qPrintable(arabic));
    }
    // Names stay verbatim, isolated left-to-right: the shard files, the guessed class.
    QVERIFY2(loaderArabic.contains(QChar(0x2066) + QStringLiteral("model-00002-of-00002.safetensors") + QChar(0x2069)), qPrintable(loaderArabic));
    QVERIFY2(modelArabic.contains(QChar(0x2066) + QStringLiteral("Block(layers)") + QChar(0x2069)), qPrintable(modelArabic));
    QVERIFY(hasArabicLetters(w.problemsView()->topLevelItem(loaderRow)->data(ProblemTextColumn, ProblemSeverityRole).toString()));
    // Counted notes take the plural form of their number: Arabic has one for 1, 2, 3-10, 11-99, 100+.
    auto missing = [](std::int64_t n) { return messageText(models::Note{models::NoteId::TensorsMissing, {n}}, {}); };
    QSet<QString> forms;
    for (std::int64_t n : {1, 2, 5, 12, 100})
        forms.insert(missing(n).remove(QRegularExpression(QStringLiteral("[٠-٩]+"))));
    QCOMPARE(forms.size(), 5);
    QVERIFY2(missing(12).startsWith(QStringLiteral("١٢ ")), qPrintable(missing(12)));

    w.setLanguage(QStringLiteral("en"));
    QCOMPARE(text(loaderRow), loaderEnglish);
    QCOMPARE(text(modelRow), modelEnglish);
    QCOMPARE(missing(1), QStringLiteral("1 tensor of the model is missing from the checkpoint"));
    QCOMPARE(missing(3), QStringLiteral("3 tensors of the model are missing from the checkpoint"));
}

void TestGui::everyMessageHasTextInBothLanguages_data()
{
    QTest::addColumn<QString>("library");
    QTest::addColumn<int>("id");
    for (int i = 0; i < static_cast<int>(planner::MessageId::Count); ++i)
        QTest::newRow(planner::toString(static_cast<planner::MessageId>(i))) << QStringLiteral("planner") << i;
    for (int i = 0; i < static_cast<int>(loader::NoteId::Count); ++i)
        QTest::newRow(planner::messageName(static_cast<loader::NoteId>(i))) << QStringLiteral("loader") << i;
    for (int i = 0; i < static_cast<int>(models::NoteId::Count); ++i)
        QTest::newRow(planner::messageName(static_cast<models::NoteId>(i))) << QStringLiteral("models") << i;
}

void TestGui::everyMessageHasTextInBothLanguages()
{
    QFETCH(QString, library);
    QFETCH(int, id);
    if (library == QLatin1String("planner"))
        checkMessageInBothLanguages(static_cast<planner::MessageId>(id));
    else if (library == QLatin1String("loader"))
        checkMessageInBothLanguages(static_cast<loader::NoteId>(id));
    else
        checkMessageInBothLanguages(static_cast<models::NoteId>(id));
}

template<typename Id>
void TestGui::checkMessageInBothLanguages(Id messageId)
{
    const auto message = test::sampleMessage(messageId);
    Document doc;
    const DeviceLabeler label = [&doc](const planner::Device &d) { return doc.deviceLabel(d); };

    QTranslator english, arabic;
    QVERIFY(english.load(QStringLiteral(":/i18n/mizan_en.qm")));
    QVERIFY(arabic.load(QStringLiteral(":/i18n/mizan_ar.qm")));
    const QLocale previous;
    auto render = [&](QTranslator &translator, const QLocale &locale) {
        QLocale::setDefault(locale);
        QCoreApplication::installTranslator(&translator);
        const QString pattern = messagePattern(messageId);
        const QString text = messageText(message, label);
        // Joined after another message as planner explanations are (notes are shown one by one).
        QString joined = text;
        if constexpr (std::is_same_v<Id, planner::MessageId>)
            joined = messageText(std::vector<planner::Message>{planner::Message{planner::MessageId::PlacedOn, {planner::Device::cpu()}}, message}, label);
        QCoreApplication::removeTranslator(&translator);
        QLocale::setDefault(previous);
        return std::tuple(pattern, text, joined);
    };
    const auto [patternEn, textEn, joinedEn] = render(english, QLocale(QLocale::English, QLocale::UnitedStates));
    const auto [patternAr, textAr, joinedAr] = render(arabic, QLocale(QLocale::Arabic, QLocale::Egypt));

    // Both languages have a pattern with the placeholders the core's arguments fill.
    for (const QString &pattern : {patternEn, patternAr}) {
        QVERIFY2(!pattern.isEmpty(), planner::messageName(messageId));
        for (std::size_t n = 1; n <= message.args.size(); ++n)
            QVERIFY2(pattern.contains(QLatin1Char('%') + QString::number(n)), qPrintable(pattern));
    }
    for (const QString &text : {textEn, textAr, joinedEn, joinedAr}) {
        QVERIFY(!text.isEmpty());
        QVERIFY2(!hasLeftoverPlaceholder(text), qPrintable(text));
    }
    QVERIFY2(textAr != textEn, qPrintable(textAr));
    QVERIFY2(hasArabicLetters(textAr), qPrintable(textAr));
    QVERIFY2(!hasArabicLetters(textEn), qPrintable(textEn));
    QVERIFY(joinedEn.contains(textEn));
    QVERIFY(joinedAr.contains(textAr));
    // Arabic punctuation joins sentences and lists (no Latin semicolon or comma left over).
    QVERIFY2(!joinedAr.contains(QLatin1Char(';')) && !joinedAr.contains(QLatin1Char(',')), qPrintable(joinedAr));
    // Names arrive verbatim.
    for (const auto &arg : message.args)
        if (planner::kindOf(arg) == planner::MessageArgKind::Text) {
            QVERIFY(textEn.contains(QString::fromStdString(std::get<std::string>(arg))));
            QVERIFY(textAr.contains(QString::fromStdString(std::get<std::string>(arg))));
        }
}

void TestGui::opening405BNeverStallsTheEventLoop()
{
    // A sparse 405B checkpoint (191 shards of holes): headers, registry and sizes are read in the
    // worker; the GUI thread only receives the result. A 5 ms timer measures the longest gap
    // between event-loop turns while it opens and plans.
    QTemporaryDir dir;
    models::DemoOptions options;
    options.preset = "llama-3.1-405b";
    options.sparse = true;
    options.shards = 191;
    options.dtype = DType::BF16;
    QElapsedTimer written;
    written.start();
    models::writeDemo(dir.path().toStdString(), options);
    qInfo("405B sparse demo written in %lld ms", written.elapsed());

    // The machine running the suite is shared (other processes may take the CPU away from this
    // thread for a while): each attempt records the longest wall-clock gap and the CPU time this
    // thread itself spent in it; the best of three attempts is held to 50 ms.
    qint64 best = std::numeric_limits<qint64>::max();
    for (int attempt = 1; attempt <= 3 && best > 50; ++attempt) {
        MainWindow w;
        w.resize(1400, 900);
        w.show();
        Document *doc = w.document();
        doc->setDevices({{planner::Device::gpu(0), std::int64_t(80) << 30, true, {}},
                         {planner::Device::gpu(1), std::int64_t(80) << 30, true, {}},
                         {planner::Device::cpu(), std::int64_t(512) << 30, false, {}}},
                        QStringLiteral("devices"));
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        test::EventLoopWatch watch;
        QSignalSpy opened(doc, &Document::opened);
        QSignalSpy planned(doc, &Document::planFinished);
        watch.start();
        w.openPath(dir.path());
        QVERIFY(opened.wait(kTimeoutMs));
        if (planned.isEmpty())
            QVERIFY(planned.wait(kTimeoutMs));
        QTest::qWait(150); // the repaint after the plan is inside the watched window
        watch.stop();
        QVERIFY(doc->plan());
        QCOMPARE(doc->tree()->size() > 1000, true);
        qInfo("405B attempt %d: opened in %lld ms (worker), %d modules, %zu map entries; longest GUI-thread "
              "stall %lld ms wall (%.1f ms of this thread's CPU) over %d ticks",
              attempt, static_cast<long long>(doc->model()->elapsedMs), doc->tree()->size(), doc->deviceMap().size(),
              static_cast<long long>(watch.worstMs()), watch.worstCpuMs(), watch.ticks());
        best = std::min(best, watch.worstMs());
    }
    QVERIFY2(best <= 50, qPrintable(QStringLiteral("event loop stalled %1 ms").arg(best)));
}

void TestGui::detectedGpusBecomeDevices()
{
    QSettings().remove(QStringLiteral("devices")); // no devices chosen in an earlier test
    MainWindow w;
    Document *doc = w.document();
    // What the probe answers on a machine with two cards (this one has none: the probe's own
    // answers are checked in tst_runtime); the panel and the document must take them as real GPUs.
    runtime::DeviceReport report;
    report.cudaBuild = true;
    report.backend = "libtorch with CUDA";
    report.gpus = {{0, "NVIDIA H100 80GB HBM3", std::int64_t(80) << 30, std::int64_t(79) << 30, 9, 0},
                   {1, "NVIDIA H100 80GB HBM3", std::int64_t(80) << 30, std::int64_t(60) << 30, 9, 0}};
    report.host = {std::int64_t(512) << 30, std::int64_t(400) << 30};
    doc->setMachine(report);
    const auto &devices = doc->devices();
    QCOMPARE(devices.size(), std::size_t(3));
    QCOMPARE(devices[0].device, planner::Device::gpu(0));
    QCOMPARE(devices[0].limitBytes, std::int64_t(79) << 30); // free memory, as Accelerate's default
    QVERIFY(!devices[0].simulated);
    QCOMPARE(devices[1].limitBytes, std::int64_t(60) << 30);
    QCOMPARE(devices[2].device, planner::Device::cpu());
    QCOMPARE(devices[2].limitBytes, std::int64_t(400) << 30);
    QVERIFY(!doc->deviceLabel(planner::Device::gpu(0)).contains(QStringLiteral("simulated")));
    auto *note = w.findChild<QLabel *>(QStringLiteral("gpuNote"));
    QVERIFY(note);
    QVERIFY2(note->text().contains(QStringLiteral("NVIDIA H100")), qPrintable(note->text()));

    // Simulated devices by hand, then "This machine" brings the detected ones back in one undo step.
    doc->setDevices({{planner::Device::gpu(0), std::int64_t(8) << 30, true, {}}, {planner::Device::cpu(), std::int64_t(16) << 30, false, {}}},
                    QStringLiteral("by hand"));
    QCOMPARE(doc->devices().size(), std::size_t(2));
    auto *profiles = w.findChild<DevicePanel *>()->findChild<QComboBox *>();
    QVERIFY(profiles);
    const int machineRow = profiles->findData(QStringLiteral("@machine"));
    QVERIFY(machineRow > 0);
    QVERIFY(doc->useMachineDevices());
    QCOMPARE(doc->devices().size(), std::size_t(3));
    doc->undoStack()->undo();
    QCOMPARE(doc->devices().size(), std::size_t(2));

    // Devices chosen by the user (here: by hand) are never replaced by a later probe answer.
    doc->setMachine(report);
    QCOMPARE(doc->devices().size(), std::size_t(2));
    QVERIFY(doc->devices()[0].simulated);

    // Without GPUs the note says why.
    runtime::DeviceReport cpuOnly;
    cpuOnly.host = {std::int64_t(16) << 30, std::int64_t(8) << 30};
    doc->setMachine(cpuOnly);
    QCOMPARE(doc->devices().size(), std::size_t(2)); // nothing to take from a machine without GPUs
    QVERIFY2(note->text().contains(QStringLiteral("No CUDA GPU")), qPrintable(note->text()));
}

void TestGui::headroomIsReservedAndUndoable()
{
    MainWindow w;
    w.show();
    openDemo(w);
    Document *doc = w.document();
    const auto *gpu0 = doc->plan()->usageOf(planner::Device::gpu(0));
    QVERIFY(gpu0);
    QCOMPARE(gpu0->headroomBytes, std::int64_t(0));
    const std::int64_t plannedBefore = static_cast<std::int64_t>(gpu0->plannedBytes);

    doc->setHeadroom(4096, 2);
    QCOMPARE(doc->headroomTokens(), std::int64_t(4096));
    QVERIFY(doc->options().headroom.enabled());
    QCOMPARE(doc->options().headroom.batchSize, std::int64_t(2));
    QSignalSpy planned(doc, &Document::planFinished);
    doc->requestPlan();
    QVERIFY(planned.wait(kTimeoutMs));
    gpu0 = doc->plan()->usageOf(planner::Device::gpu(0));
    QVERIFY(gpu0->headroomBytes > 0);
    // The reservation leaves less room for weights on GPU 0.
    QVERIFY(static_cast<std::int64_t>(gpu0->plannedBytes) <= plannedBefore);
    auto *tokens = w.findChild<QSpinBox *>(QStringLiteral("headroomTokens"));
    QVERIFY(tokens);
    QCOMPARE(tokens->value(), 4096);

    // A plan file keeps it.
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("p.mizan.json"));
    doc->exportPlan(file);
    doc->undoStack()->undo(); // the plan
    doc->undoStack()->undo(); // the headroom
    QCOMPARE(doc->headroomTokens(), std::int64_t(0));
    QCOMPARE(tokens->value(), 0);
    doc->importPlan(file);
    QCOMPARE(doc->headroomTokens(), std::int64_t(4096));
    QCOMPARE(doc->headroomBatch(), std::int64_t(2));
}

void TestGui::errorsHaveTranslatedHeadlines()
{
    MainWindow w;
    const Error error(ErrorKind::MissingShard, "/models/x/model.safetensors.index.json",
                      "names model-00002-of-00002.safetensors, which does not exist");
    const QString english = describeError(error);
    QVERIFY2(english.contains(QStringLiteral("A shard of the checkpoint is missing")), qPrintable(english));
    QVERIFY(english.contains(QStringLiteral("/models/x/model.safetensors.index.json")));
    QVERIFY(english.contains(QStringLiteral("model-00002-of-00002.safetensors")));
    w.setLanguage(QStringLiteral("ar"));
    const QString arabic = describeError(error);
    w.setLanguage(QStringLiteral("en"));
    QVERIFY(arabic != english);
    QVERIFY(!arabic.contains(QStringLiteral("A shard of the checkpoint is missing")));
    bool hasArabicLetter = false;
    for (const QChar c : arabic)
        hasArabicLetter = hasArabicLetter || (c.unicode() >= 0x0600 && c.unicode() <= 0x06FF);
    QVERIFY2(hasArabicLetter, qPrintable(arabic));
    QVERIFY(arabic.contains(QStringLiteral("model-00002-of-00002.safetensors"))); // the detail is kept
    // The path reads left to right inside the Arabic sentence (isolated), and English is left alone.
    QVERIFY2(arabic.contains(QChar(0x2066) + QStringLiteral("/models/x/model.safetensors.index.json") + QChar(0x2069)), qPrintable(arabic));
    QVERIFY(!english.contains(QChar(0x2066)));
    // Every kind has its own headline.
    QSet<QString> headlines;
    for (int k = 0; k <= static_cast<int>(ErrorKind::NotFound); ++k)
        headlines.insert(errorHeadline(static_cast<ErrorKind>(k)));
    QCOMPARE(headlines.size(), static_cast<int>(ErrorKind::NotFound) + 1);
}

void TestGui::docksMirrorWithTheLanguage()
{
    MainWindow w;
    w.show();
    auto dockNamed = [&](const char *name) { return w.findChild<QDockWidget *>(QString::fromLatin1(name)); };
    QDockWidget *devices = dockNamed("devicesDock");
    QDockWidget *charts = dockNamed("chartsDock");
    QDockWidget *problems = dockNamed("problemsDock");
    QVERIFY(devices && charts && problems);
    QCOMPARE(w.dockWidgetArea(devices), Qt::LeftDockWidgetArea);
    QVERIFY(charts->geometry().center().x() < problems->geometry().center().x());
    dockNamed("historyDock")->hide(); // a dock the user closed stays closed
    w.setLanguage(QStringLiteral("ar"));
    QCoreApplication::processEvents();
    QCOMPARE(w.dockWidgetArea(devices), Qt::RightDockWidgetArea);
    QCOMPARE(w.dockWidgetArea(dockNamed("noSplitDock")), Qt::RightDockWidgetArea);
    QCOMPARE(w.dockWidgetArea(dockNamed("policiesDock")), Qt::RightDockWidgetArea);
    QVERIFY(devices->geometry().center().x() > w.centralWidget()->geometry().center().x());
    QVERIFY(charts->geometry().center().x() > problems->geometry().center().x()); // read from the right
    QVERIFY(devices->isVisible());
    QVERIFY(!dockNamed("historyDock")->isVisible());
    w.setLanguage(QStringLiteral("en"));
    QCoreApplication::processEvents();
    QCOMPARE(w.dockWidgetArea(devices), Qt::LeftDockWidgetArea);
    QVERIFY(charts->geometry().center().x() < problems->geometry().center().x());
}

void TestGui::translationsAreComplete_data()
{
    QTest::addColumn<QString>("file");
    QTest::newRow("en") << QStringLiteral(MIZAN_SOURCE_DIR "/translations/mizan_en.ts");
    QTest::newRow("ar") << QStringLiteral(MIZAN_SOURCE_DIR "/translations/mizan_ar.ts");
}

void TestGui::translationsAreComplete()
{
    // Every message translated (nothing unfinished or obsolete), and every translation keeps the
    // placeholders of its source: a lost %2 would show a raw "%2" or drop a number at run time.
    QFETCH(QString, file);
    QFile f(file);
    QVERIFY2(f.open(QIODevice::ReadOnly), qPrintable(file));
    QXmlStreamReader xml(&f);
    static const QRegularExpression placeholder(QStringLiteral("%L?(\\d+|n)"));
    auto placeholders = [](const QString &text) {
        QStringList out;
        for (auto it = placeholder.globalMatch(text); it.hasNext();)
            out << it.next().captured(1);
        out.sort();
        out.removeDuplicates();
        return out;
    };
    int messages = 0;
    QString source;
    while (!xml.atEnd()) {
        xml.readNext();
        if (!xml.isStartElement())
            continue;
        if (xml.name() == QLatin1String("source")) {
            source = xml.readElementText();
        } else if (xml.name() == QLatin1String("translation")) {
            ++messages;
            const QString type = xml.attributes().value(QStringLiteral("type")).toString();
            QVERIFY2(type.isEmpty(), qPrintable(QStringLiteral("%1: \"%2\" is %3").arg(file, source, type)));
            // Plural forms come as <numerusform> children: their texts are read together.
            const QString text = xml.readElementText(QXmlStreamReader::IncludeChildElements);
            QVERIFY2(!text.trimmed().isEmpty(), qPrintable(QStringLiteral("%1: \"%2\" has no translation").arg(file, source)));
            QStringList expected = placeholders(source);
            expected.removeAll(QStringLiteral("n")); // %n may be spelled out in a plural form
            QStringList got = placeholders(text);
            got.removeAll(QStringLiteral("n"));
            QVERIFY2(got == expected, qPrintable(QStringLiteral("%1: \"%2\" -> \"%3\": placeholders %4, expected %5")
                                                    .arg(file, source, text, got.join(QLatin1Char(',')), expected.join(QLatin1Char(',')))));
        }
    }
    QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
    QVERIFY(messages > 250);
}

void TestGui::everyTrStringIsTranslated()
{
    // lupdate over the GUI's sources into a scratch file: every (context, source) it finds must
    // already be in mizan_ar.ts, or an Arabic user would meet English.
    QTemporaryDir dir;
    const QString scratch = dir.filePath(QStringLiteral("scan.ts"));
    QProcess lupdate;
    lupdate.start(QStringLiteral(MIZAN_LUPDATE), {QStringLiteral("-silent"), QStringLiteral("-locations"), QStringLiteral("none"),
                                                  QStringLiteral(MIZAN_SOURCE_DIR "/app/gui"), QStringLiteral("-ts"), scratch});
    QVERIFY(lupdate.waitForFinished(120000));
    QCOMPARE(lupdate.exitCode(), 0);
    auto messages = [](const QString &file) {
        QSet<QString> out;
        QFile f(file);
        if (!f.open(QIODevice::ReadOnly))
            return out;
        QXmlStreamReader xml(&f);
        QString context;
        while (!xml.atEnd()) {
            xml.readNext();
            if (!xml.isStartElement())
                continue;
            if (xml.name() == QLatin1String("name"))
                context = xml.readElementText();
            else if (xml.name() == QLatin1String("source"))
                out.insert(context + QLatin1Char('|') + xml.readElementText());
        }
        return out;
    };
    const QSet<QString> inSources = messages(scratch);
    QVERIFY(inSources.size() > 250);
    const QSet<QString> translated = messages(QStringLiteral(MIZAN_SOURCE_DIR "/translations/mizan_ar.ts"));
    QStringList missing = (inSources - translated).values();
    missing.sort();
    QVERIFY2(missing.isEmpty(), qPrintable(QStringLiteral("not in translations/*.ts (run the update_translations target, then "
                                                          "translate): ") + missing.join(QStringLiteral("; "))));
}

void TestGui::importFileTellsPlansFromMaps()
{
    MainWindow w;
    w.show();
    openDemo(w);
    Document *doc = w.document();
    QTemporaryDir dir;
    // A plan file under a plain .json name is still read as a plan (its "format" says so).
    const QString plan = dir.filePath(QStringLiteral("saved.json"));
    const QString map = dir.filePath(QStringLiteral("map.json"));
    doc->setHeadroom(1024, 1);
    doc->exportPlan(plan);
    doc->exportDeviceMap(map);
    doc->setHeadroom(0, 1);
    QVERIFY(w.importFile(plan));
    QCOMPARE(doc->headroomTokens(), std::int64_t(1024)); // only a plan file carries settings
    doc->setHeadroom(0, 1);
    QVERIFY(w.importFile(map));
    QCOMPARE(doc->headroomTokens(), std::int64_t(0));
    // A broken file: false, a readable message in the window, the map untouched.
    const planner::DeviceMap before = doc->deviceMap();
    const QString broken = dir.filePath(QStringLiteral("broken.json"));
    QVERIFY(test::writeFile(broken, "{\"model.layers.0\": "));
    QVERIFY(!w.importFile(broken));
    QVERIFY2(w.statusBar()->currentMessage().contains(QStringLiteral("broken.json")), qPrintable(w.statusBar()->currentMessage()));
    QCOMPARE(doc->deviceMap(), before);
    // The problems dock counts with plurals.
    doc->setModuleDevice(doc->tree()->find("model.layers.1.self_attn"), planner::Device::disk());
    const QString title = w.findChild<QDockWidget *>(QStringLiteral("problemsDock"))->windowTitle();
    QVERIFY2(title.contains(QStringLiteral("0 errors")) && title.contains(QStringLiteral(" warning")) && !title.contains(QStringLiteral("(s)")),
             qPrintable(title));
}

// T0pp (a T5) loaded in float16 keeps its feed-forward "wo" weights in float32: the device chart,
// the over-budget warning and `mizan-cli validate/edit` must count them the same way (4 bytes).
void TestGui::usageAgreesWithValidationAndTheCli()
{
    Document doc;
    doc.setDtype(DType::F16);
    doc.setDevices({{planner::Device::gpu(0), std::int64_t(4) << 30, true, {}}, {planner::Device::cpu(), std::int64_t(64) << 30, false, {}}},
                   QStringLiteral("test devices"));
    QSignalSpy opened(&doc, &Document::opened);
    QSignalSpy planned(&doc, &Document::planFinished);
    doc.open(QStringLiteral("t0pp"));
    QVERIFY(opened.wait(kTimeoutMs));
    if (planned.isEmpty())
        QVERIFY(planned.wait(kTimeoutMs));
    QCOMPARE(planned.first().at(0).toBool(), true);
    const planner::ModuleTree &tree = *doc.tree();
    const auto &keepFp32 = doc.model()->source.model.keepFp32Tensors;
    QVERIFY(!keepFp32.empty());

    // Whole-model bytes counted here: float16 everywhere, then 2 more bytes per element of every "wo".
    double expectedTotal = static_cast<double>(planner::aggregateSizes(tree, DType::F16).totalBytes());
    for (const auto &name : keepFp32) {
        const auto target = tree.resolveKey(name);
        QVERIFY2(target && target->isTensor(), name.c_str());
        expectedTotal += 2.0 * static_cast<double>(tree.tensor(*target).numel());
    }

    QTemporaryDir dir;
    const QString before = dir.filePath(QStringLiteral("before.mizan.json"));
    const QString after = dir.filePath(QStringLiteral("after.mizan.json"));
    doc.exportPlan(before);
    // The whole encoder on the 4 GiB GPU: over its budget.
    doc.setModuleDevice(tree.find("encoder"), planner::Device::gpu(0));
    doc.exportPlan(after);

    const auto &usage = doc.currentUsage();
    double total = 0;
    for (const auto &u : usage)
        total += u.plannedBytes;
    QCOMPARE(total, expectedTotal);
    const auto gpu0 = std::find_if(usage.begin(), usage.end(), [](const auto &u) { return u.device == planner::Device::gpu(0); });
    QVERIFY(gpu0 != usage.end());
    QCOMPARE(gpu0->budgetBytes, std::int64_t(4) << 30);
    const auto over = std::find_if(doc.issues().begin(), doc.issues().end(),
                                   [](const planner::Issue &i) { return i.kind == planner::IssueKind::OverBudget; });
    QVERIFY(over != doc.issues().end());
    QCOMPARE(std::get<planner::Device>(over->what.args.at(0)), planner::Device::gpu(0));
    QCOMPARE(std::get<planner::ByteCount>(over->what.args.at(2)).bytes, gpu0->plannedBytes);
    QCOMPARE(doc.keyBytes().size(), doc.deviceMap().size());

    // The command line, on the saved plans: `validate` after the move, `edit` making the same move.
    auto cliUsage = [](const QByteArray &out) {
        const auto json = nlohmann::json::parse(out.toStdString());
        std::vector<std::pair<std::string, double>> list;
        for (const auto &u : json.at("usage"))
            list.emplace_back(planner::Device::fromJson(u.at("device")).toString(), u.at("planned_bytes").get<double>());
        return list;
    };
    std::vector<std::pair<std::string, double>> want;
    for (const auto &u : usage)
        want.emplace_back(u.device.toString(), u.plannedBytes);
    const test::CliRun validated = test::runCli({QStringLiteral("validate"), QStringLiteral("t0pp"), after, QStringLiteral("--json")});
    QVERIFY2(validated.exitCode == 0, validated.err.constData());
    QCOMPARE(cliUsage(validated.out), want);
    const test::CliRun edited = test::runCli({QStringLiteral("edit"), QStringLiteral("t0pp"), before, QStringLiteral("--move"),
                                              QStringLiteral("encoder=0"), QStringLiteral("--json")});
    QVERIFY2(edited.exitCode == 0, edited.err.constData());
    QCOMPARE(cliUsage(edited.out), want);
    // The text output shows the same table.
    const test::CliRun text = test::runCli({QStringLiteral("validate"), QStringLiteral("t0pp"), after});
    QVERIFY2(text.out.contains("Planned") && text.out.contains("GPU 0"), text.out.constData());
}

void TestGui::importedPlanKeepsItsDevices()
{
    MainWindow w;
    w.show();
    openDemo(w);
    Document *doc = w.document();
    // A real card, a simulated GPU and the RAM, as the plan file must bring them back.
    const std::vector<DeviceSetting> devices = {
        {planner::Device::gpu(0), m_demoBytes, false, QStringLiteral("NVIDIA H100 80GB HBM3"), std::int64_t(80) << 30},
        {planner::Device::gpu(1), m_demoBytes, true, {}, m_demoBytes},
        {planner::Device::cpu(), 4 * m_demoBytes, false, QStringLiteral("system RAM"), std::int64_t(64) << 30}};
    doc->setDevices(devices, QStringLiteral("test devices"));
    QTemporaryDir dir;
    const QString plan = dir.filePath(QStringLiteral("devices.mizan.json"));
    doc->exportPlan(plan);
    doc->setDevices(twoSmallGpus(m_demoBytes), QStringLiteral("other devices")); // both GPUs simulated
    QVERIFY(w.importFile(plan));
    QCOMPARE(doc->devices(), devices);
    QCOMPARE(doc->deviceLabel(planner::Device::gpu(0)), QStringLiteral("GPU 0"));
    QVERIFY(doc->deviceLabel(planner::Device::gpu(1)).contains(QStringLiteral("simulated")));

    // A version-1 file says nothing of its devices: a GPU this machine lacks is taken as simulated.
    QFile f(plan);
    QVERIFY(f.open(QIODevice::ReadOnly));
    auto json = nlohmann::ordered_json::parse(f.readAll().toStdString());
    f.close();
    json["version"] = 1;
    for (auto &d : json["devices"]) {
        d.erase("label");
        d.erase("capacity_bytes");
        d.erase("simulated");
    }
    const QString old = dir.filePath(QStringLiteral("old.mizan.json"));
    QVERIFY(test::writeFile(old, QByteArray::fromStdString(json.dump())));
    Document fresh;
    QSignalSpy opened(&fresh, &Document::opened);
    fresh.open(m_demo);
    QVERIFY(opened.wait(kTimeoutMs));
    fresh.importFile(old);
    QCOMPARE(fresh.devices().size(), std::size_t(3));
    QVERIFY(fresh.devices()[0].simulated); // no machine probed in this test: no real GPU known
    QVERIFY(!fresh.devices()[2].simulated);
}

void TestGui::pinErrorsAreTranslated()
{
    MainWindow w;
    w.show();
    openDemo(w);
    Document *doc = w.document();
    doc->setDeviceLimit(planner::Device::gpu(0), 1024);
    doc->pinModule(doc->tree()->find("model.layers.0"), planner::Device::gpu(0));
    auto planMessage = [&] {
        QSignalSpy planned(doc, &Document::planFinished);
        doc->requestPlan();
        if (!planned.wait(kTimeoutMs))
            return QString();
        return planned.first().at(0).toBool() ? QString() : planned.first().at(1).toString();
    };
    const QString english = planMessage();
    QVERIFY2(english.contains(QStringLiteral("The constraints cannot be met")) && english.contains(QStringLiteral("the pins need"))
                 && english.contains(QStringLiteral("GPU 0 (simulated)")) && english.contains(QStringLiteral("\"model.layers.0\"")),
             qPrintable(english));
    w.setLanguage(QStringLiteral("ar"));
    const QString arabic = planMessage();
    QVERIFY2(hasArabicLetters(arabic) && !arabic.contains(QStringLiteral("the pins need")), qPrintable(arabic));
    QVERIFY2(!hasLeftoverPlaceholder(arabic), qPrintable(arabic));
    QVERIFY2(arabic.contains(QChar(0x2066) + QStringLiteral("model.layers.0") + QChar(0x2069)), qPrintable(arabic));
    w.setLanguage(QStringLiteral("en"));
}

// What scripts/run.sh shows a new user: its demo model (the shipped checkpoint and the hardware
// profile are read from the script itself) opens already planned, with decoder layers on each
// simulated GPU, in CPU RAM and on disk.
void TestGui::firstRunDemoShowsTheSplit()
{
    QFile script(QStringLiteral(MIZAN_SOURCE_DIR "/scripts/run.sh"));
    QVERIFY2(script.open(QIODevice::ReadOnly), qPrintable(QStringLiteral("cannot read ") + script.fileName()));
    const QString text = QString::fromUtf8(script.readAll());
    const auto profile = QRegularExpression(QString::fromLatin1("^PROFILE=\"\\$\\{MIZAN_DEMO_PROFILE:-([^}\"]+)\\}\""),
                                            QRegularExpression::MultilineOption).match(text);
    const auto demo = QRegularExpression(QString::fromLatin1("^DEMO=\"\\$\\{MIZAN_DEMO_DIR:-\\$MIZAN_ROOT/([^}\"]+)\\}\""),
                                         QRegularExpression::MultilineOption).match(text);
    QVERIFY2(profile.hasMatch() && demo.hasMatch(),
             "scripts/run.sh has no PROFILE=\"${MIZAN_DEMO_PROFILE:-...}\" or DEMO=\"${MIZAN_DEMO_DIR:-$MIZAN_ROOT/...}\" line");
    const QString path = QStringLiteral(MIZAN_SOURCE_DIR "/") + demo.captured(1);
    QVERIFY2(QFile::exists(path + QStringLiteral("/config.json")), qPrintable(path));

    // As main.cpp does for `mizan DEMO --hardware PROFILE`: the profile, then the path.
    MainWindow w;
    w.show();
    w.devicePanel()->applyProfile(models::hardwareProfile(profile.captured(1).toStdString()));
    Document *doc = w.document();
    QSignalSpy opened(doc, &Document::opened);
    QSignalSpy planned(doc, &Document::planFinished);
    w.openPath(path);
    QVERIFY(opened.wait(kTimeoutMs));
    if (planned.isEmpty())
        QVERIFY(planned.wait(kTimeoutMs));
    QCOMPARE(planned.first().at(0).toBool(), true);
    QVERIFY(!planner::hasErrors(doc->issues()));

    int gpus = 0;
    for (const auto &d : doc->devices())
        if (d.device.isGpu()) {
            ++gpus;
            QVERIFY(d.simulated);
            QVERIFY(doc->deviceLabel(d.device) != doc->shortDeviceLabel(d.device)); // "GPU 0 (simulated)"
        }
    QCOMPARE(gpus, 2);
    // Decoder layers (whole or in part) per device.
    static const QRegularExpression layerKey(QString::fromLatin1("^model\\.layers\\.(\\d+)(\\.|$)"));
    QMap<QString, QSet<int>> layers;
    for (const auto &[key, device] : doc->deviceMap()) {
        const auto m = layerKey.match(QString::fromStdString(key));
        if (m.hasMatch())
            layers[QString::fromStdString(device.toString())].insert(m.captured(1).toInt());
    }
    QStringList summary;
    for (auto it = layers.cbegin(); it != layers.cend(); ++it)
        summary << QStringLiteral("%1: %2 layers").arg(it.key()).arg(it.value().size());
    for (const char *device : {"0", "1", "cpu", "disk"})
        QVERIFY2(!layers.value(QLatin1String(device)).isEmpty(),
                 qPrintable(QStringLiteral("no decoder layer on %1 (%2)").arg(QLatin1String(device), summary.join(QStringLiteral(", ")))));
}


// The window's options and a profile's devices are the core's (models::planOptionsFor,
// models::budgetsFor): float16 weights loaded as float32 take 4 bytes; a profile's disk is no budget.
void TestGui::loadDtypeAndProfilesComeFromTheCore()
{
    MainWindow w;
    openDemo(w);
    Document *doc = w.document();
    const auto &model = doc->model()->source.model;
    std::int64_t f16 = 0, other = 0;
    for (const auto &[d, b] : doc->model()->storedSizes.bytesByDtype)
        (d == DType::F16 ? f16 : other) += b;
    QVERIFY(f16 > 0);
    doc->setDtype(DType::F32);
    QCOMPARE(doc->sizes().totalBytes(), 2 * f16 + other);
    models::PlanSettings settings;
    for (const auto &d : doc->devices())
        settings.maxMemory.emplace_back(d.device, d.limitBytes);
    settings.dtype = DType::F32;
    const planner::PlanOptions want = models::planOptionsFor(model, settings);
    QVERIFY(doc->options() == want);
    QCOMPARE(int(doc->options().dtypeRule), int(planner::DtypeRule::Transformers));
    doc->undoStack()->undo();
    QCOMPARE(doc->sizes().totalBytes(), f16 + other);

    models::HardwareProfile profile;
    profile.name = "box";
    profile.devices = {{"0", std::int64_t(8) << 30, "Big GPU"}, {"cpu", std::int64_t(16) << 30, ""}, {"disk", std::int64_t(1) << 40, ""}};
    w.devicePanel()->applyProfile(profile);
    const auto &devices = doc->devices();
    QCOMPARE(devices.size(), std::size_t(2));
    QVERIFY(devices[0].device == planner::Device::gpu(0) && devices[0].simulated);
    QCOMPARE(devices[0].label, QStringLiteral("Big GPU"));
    QVERIFY(devices[1].device == planner::Device::cpu() && !devices[1].simulated);
    QVERIFY(doc->options().maxMemory == models::budgetsFor(profile).maxMemory());
}


// Policies (issue 14): added from the panel (a built-in or a written one), each change plans
// again; the Mixtral preset's experts go to the CPU; saved in the plan file; errors and the list in
// both languages.
void TestGui::policiesReplanAndAreSaved()
{
    MainWindow w;
    w.show();
    Document *doc = w.document();
    doc->setDevices({{planner::Device::gpu(0), std::int64_t(24) << 30, true, {}}, {planner::Device::gpu(1), std::int64_t(24) << 30, true, {}},
                     {planner::Device::cpu(), std::int64_t(128) << 30, false, {}}},
                    QStringLiteral("test devices"));
    QSignalSpy opened(doc, &Document::opened);
    QSignalSpy planned(doc, &Document::planFinished);
    doc->open(QStringLiteral("mixtral-8x7b"));
    QVERIFY(opened.wait(kTimeoutMs));
    if (planned.isEmpty())
        QVERIFY(planned.wait(kTimeoutMs));
    auto *panel = w.findChild<PolicyPanel *>();
    auto *list = w.findChild<QListWidget *>(QStringLiteral("policyList"));
    auto *error = w.findChild<QLabel *>(QStringLiteral("policyError"));
    QVERIFY(panel && list && error);
    QCOMPARE(list->count(), 0);

    // Not a policy, and a class this model does not have: nothing added, the reason shown.
    QVERIFY(!panel->addPolicy(QStringLiteral("experts")));
    QVERIFY2(error->isVisibleTo(&w) && error->text().contains(QStringLiteral("is not a policy")), qPrintable(error->text()));
    QVERIFY(!panel->addPolicy(QStringLiteral("class:MixtralBlockSparseTop2MLP=cpu")));
    QVERIFY2(error->text().contains(QStringLiteral("MixtralExperts")), qPrintable(error->text()));
    QVERIFY(doc->policies().empty());

    // The built-in: added, planned again, every block's experts on the CPU.
    planned.clear();
    QVERIFY(panel->addPolicy(QStringLiteral("experts-on-cpu")));
    QVERIFY(!error->isVisibleTo(&w));
    QVERIFY(planned.wait(kTimeoutMs));
    QCOMPARE(planned.last().at(0).toBool(), true);
    QCOMPARE(doc->policies().size(), std::size_t(1));
    std::map<std::string, planner::Device> map(doc->deviceMap().begin(), doc->deviceMap().end());
    QCOMPARE(map.at("model.layers.31.mlp.experts"), planner::Device::cpu());
    QVERIFY(map.at("model.layers.31.self_attn").isGpu());
    QVERIFY(std::none_of(doc->issues().begin(), doc->issues().end(), [](const auto &i) { return i.kind == planner::IssueKind::NoSplitBroken; }));
    QCOMPARE(list->count(), 1);
    QVERIFY2(list->item(0)->text().contains(QStringLiteral("32 entries on CPU (84.00 GiB)")), qPrintable(list->item(0)->text()));
    QVERIFY(!panel->addPolicy(QStringLiteral("experts=cpu"))); // the same policy
    QVERIFY2(error->text().contains(QStringLiteral("in the list already")), qPrintable(error->text()));

    // Saved with the plan; undone, then read back.
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("mixtral.mizan.json"));
    doc->exportPlan(file);
    doc->undoStack()->undo(); // the plan
    doc->undoStack()->undo(); // the policy
    QVERIFY(doc->policies().empty());
    QCOMPARE(list->count(), 0);
    doc->importPlan(file);
    QCOMPARE(doc->policies().size(), std::size_t(1));
    QCOMPARE(QString::fromStdString(planner::toString(doc->policies().front())), QStringLiteral("experts-on-cpu"));

    // In Arabic: the list and the errors.
    w.setLanguage(QStringLiteral("ar"));
    QVERIFY(!panel->addPolicy(QStringLiteral("first:99=0")));
    QVERIFY2(hasArabicLetters(error->text()) && !hasLeftoverPlaceholder(error->text()), qPrintable(error->text()));
    planned.clear();
    doc->requestPlan();
    QVERIFY(planned.wait(kTimeoutMs));
    QVERIFY2(hasArabicLetters(list->item(0)->text()) && list->item(0)->text().contains(QChar(0x2066) + QStringLiteral("experts-on-cpu")),
             qPrintable(list->item(0)->text()));
    w.setLanguage(QStringLiteral("en"));

    // Removed from the panel: planned again without it.
    list->setCurrentRow(0);
    planned.clear();
    auto *remove = w.findChild<QPushButton *>(QStringLiteral("removePolicy"));
    QVERIFY(remove && remove->isEnabled());
    remove->click();
    QVERIFY(planned.wait(kTimeoutMs));
    QVERIFY(doc->policies().empty());
    map = std::map<std::string, planner::Device>(doc->deviceMap().begin(), doc->deviceMap().end());
    QVERIFY(!map.count("model.layers.31.mlp.experts"));
}

// File > Compare with plan: the map on screen (A) against a saved plan (B), side by side: the module
// moved, the bytes per device before and after, and both speeds predicted the same way.
void TestGui::comparesPlansSideBySide()
{
    MainWindow w;
    w.show();
    openDemo(w);
    Document *doc = w.document();
    QTemporaryDir dir;
    const QString saved = dir.filePath(QStringLiteral("saved.mizan.json"));
    doc->exportPlan(saved);
    const planner::ModuleTree &tree = *doc->tree();
    const int moved = tree.find("model.layers.1");
    QVERIFY(moved >= 0);
    const planner::Device before = [&] {
        const planner::DeviceMap &map = doc->deviceMap();
        for (const auto &[key, device] : map)
            if (key == "model.layers.1" || key == "model.layers" || key.empty())
                return device;
        return planner::Device::cpu();
    }();
    QVERIFY(before != planner::Device::disk());
    doc->setModuleDevice(moved, planner::Device::disk());

    const Document::Comparison c = doc->compareWith(saved);
    QCOMPARE(c.diff.moves.size(), std::size_t(1));
    QCOMPARE(c.diff.moves[0].name, std::string("model.layers.1"));
    QCOMPARE(c.diff.moves[0].from, planner::Device::disk()); // A: on screen
    QCOMPARE(c.diff.moves[0].to, before);                     // B: the saved plan
    QVERIFY(c.a && c.b);
    QCOMPARE(c.a->decodeSeconds, doc->prediction()->decodeSeconds); // A is what the device panel shows
    QVERIFY(c.a->decodeSeconds >= c.b->decodeSeconds);                 // a block read from disk is no faster
    QVERIFY(c.diff.speedA && c.diff.speedB);

    CompareDialog *dialog = w.compareWith(saved);
    QVERIFY(dialog);
    QCOMPARE(dialog->moveTable()->rowCount(), 1);
    QCOMPARE(dialog->moveTable()->item(0, 0)->text(), QStringLiteral("model.layers.1"));
    QCOMPARE(dialog->moveTable()->item(0, 1)->text(), doc->deviceLabel(planner::Device::disk()));
    QCOMPARE(dialog->moveTable()->item(0, 2)->text(), doc->deviceLabel(before));
    QCOMPARE(dialog->deviceTable()->rowCount(), static_cast<int>(c.diff.devices.size()));
    bool diskRow = false;
    for (int r = 0; r < dialog->deviceTable()->rowCount(); ++r)
        if (dialog->deviceTable()->item(r, 0)->text() == doc->deviceLabel(planner::Device::disk())) {
            diskRow = true;
            QVERIFY2(dialog->deviceTable()->item(r, 3)->text().startsWith(QLatin1Char('-')) ||
                         dialog->deviceTable()->item(r, 3)->text().startsWith(QChar(0x2212)),
                     qPrintable(dialog->deviceTable()->item(r, 3)->text())); // B holds less on disk
        }
    QVERIFY(diskRow);
    QCOMPARE(dialog->speedTable()->item(0, 1)->text(), formatSeconds(c.a->decodeSeconds));
    QCOMPARE(dialog->speedTable()->item(0, 2)->text(), formatSeconds(c.b->decodeSeconds));
    QVERIFY(!dialog->verdict().isEmpty());
    // In Arabic: the same comparison, translated and mirrored.
    w.setLanguage(QStringLiteral("ar"));
    QCOMPARE(dialog->layoutDirection(), Qt::RightToLeft);
    QVERIFY2(dialog->windowTitle() != QStringLiteral("Compare plans"), qPrintable(dialog->windowTitle()));
    w.setLanguage(QStringLiteral("en"));
    dialog->close();

    // The same map: nothing moved, the same speed.
    const QString same = dir.filePath(QStringLiteral("same.json"));
    doc->exportDeviceMap(same);
    const Document::Comparison none = doc->compareWith(same);
    QVERIFY(none.diff.moves.empty());
    QCOMPARE(none.a->decodeSeconds, none.b->decodeSeconds);
    // A map that leaves weights without a device cannot be compared: a message, no dialog.
    const QString partial = dir.filePath(QStringLiteral("partial.json"));
    QVERIFY(test::writeFile(partial, "{\"model.layers.0\": 0}"));
    QVERIFY(!w.compareWith(partial));
    QVERIFY2(w.statusBar()->currentMessage().contains(QStringLiteral("partial.json")), qPrintable(w.statusBar()->currentMessage()));
}

// A cluster plan file (issue 15) shown as hosts, each a group of its devices' lanes, in both
// languages; a file that is not one gives a message, no dialog.
void TestGui::showsClusterPlanAsHosts()
{
    MainWindow w;
    w.show();
    openDemo(w);
    Document *doc = w.document();
    const planner::ModuleTree &tree = *doc->tree();
    planner::Cluster cluster;
    for (const char *name : {"node0", "node1"}) {
        planner::ClusterHost h;
        h.name = name;
        h.address = std::string("10.0.0.") + (name[4] == '0' ? "1" : "2");
        h.options.maxMemory = planner::parseMaxMemory("0=" + std::to_string(m_demoBytes / 3) + ",cpu=" + std::to_string(m_demoBytes));
        h.options.noSplitClasses = doc->model()->source.model.noSplitClasses;
        h.speeds = planner::assumedSpeedModel();
        cluster.hosts.push_back(h);
    }
    const planner::ClusterPlan plan = planner::planCluster(tree, cluster, {});
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("cluster.mizan.json"));
    planner::writeClusterPlanFile(file.toStdString(), planner::clusterPlanFileOf(plan, planner::identityOf(tree, "demo"), "test", {}), &plan);
    QVERIFY(isClusterPlanFile(file));

    ClusterDialog *dialog = w.openClusterPlan(file);
    QVERIFY(dialog);
    QCOMPARE(dialog->hostGroups().size(), 2);
    QVERIFY2(dialog->hostGroups()[0]->title().contains(QStringLiteral("node0 (10.0.0.1)")), qPrintable(dialog->hostGroups()[0]->title()));
    QVERIFY(dialog->hostGroups()[1]->title().contains(QStringLiteral("final norm and head")));
    for (int h = 0; h < 2; ++h) {
        const auto &stage = plan.stages[static_cast<std::size_t>(h)];
        int shown = 0;
        for (const auto &u : stage.plan.usage)
            shown += u.device.kind != planner::DeviceKind::Disk || u.plannedBytes > 0 ? 1 : 0;
        const QList<QProgressBar *> lanes = dialog->lanes(h);
        QCOMPARE(lanes.size(), shown);
        const QProgressBar *gpu = dialog->hostGroups()[h]->findChild<QProgressBar *>(QStringLiteral("lane-0"));
        QVERIFY(gpu);
        const planner::DeviceUsage &u = stage.plan.usage.front();
        QCOMPARE(u.device, planner::Device::gpu(0));
        QVERIFY2(gpu->text().startsWith(formatBytes(static_cast<std::int64_t>(std::llround(u.plannedBytes)))), qPrintable(gpu->text()));
        QCOMPARE(gpu->value(), static_cast<int>(std::min<double>(1000, 1000.0 * u.plannedBytes / static_cast<double>(u.budgetBytes))));
    }
    w.setLanguage(QStringLiteral("ar"));
    QCOMPARE(dialog->layoutDirection(), Qt::RightToLeft);
    QVERIFY2(!dialog->hostGroups()[0]->title().startsWith(QStringLiteral("Host")), qPrintable(dialog->hostGroups()[0]->title()));
    w.setLanguage(QStringLiteral("en"));
    dialog->close();

    // A plan of one machine is not a cluster plan: a message naming the file.
    const QString single = dir.filePath(QStringLiteral("single.mizan.json"));
    doc->exportPlan(single);
    QVERIFY(!isClusterPlanFile(single));
    QVERIFY(!w.openClusterPlan(single));
    QVERIFY2(w.statusBar()->currentMessage().contains(QStringLiteral("single.mizan.json")), qPrintable(w.statusBar()->currentMessage()));
}

QTEST_MAIN(TestGui)
#include "tst_gui.moc"
