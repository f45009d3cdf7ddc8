// The window's test inference (app/gui/testrun.h): the plan on screen run from the panel on a
// thread of its own, as `mizan-cli run` runs it; cancel, out-of-memory, the live view's events
// and the event loop's responsiveness during a run.
#include "document.h"
#include "liveview.h"
#include "mainwindow.h"
#include "problemspanel.h"
#include "testrun.h"

#include "loader/tokenizer.h"
#include "models/demo.h"
#include "testutil.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <QTreeWidget>

#include <limits>
#include <memory>

using namespace mizan;
using namespace mizan::gui;

namespace {

constexpr int kTimeoutMs = 120000;
constexpr int kLayers = 6;

// A demo checkpoint and the sizes its budgets are made of.
struct Demo {
    QString path;
    int layers = 0;
    qint64 layerBytes = 0;
    qint64 embedBytes = 0;
};

} // namespace

Q_DECLARE_METATYPE(Demo)

class TestTestRun : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void promptIdsAreParsed_data();
    void promptIdsAreParsed();
    void runNeedsWeightsAndAValidMap();
    void sameIdsAsTheCli();
    void promptTextWithTheModelsTokenizer();
    void cancelStopsWithinABlock();
    void outOfMemoryIsAProblemAndTheNextRunWorks();
    void eventLoopNeverStallsDuringARun_data();
    void eventLoopNeverStallsDuringARun();
    void closingTheWindowCancelsTheRun();

private:
    // Opens the demo in `w` over 2 simulated GPUs (GPU 0's arena `gpu0Capacity`, -1: its limit),
    // the CPU and disk, and waits for the plan.
    bool openPlanned(MainWindow &w, qint64 gpu0Capacity = -1) { return openPlanned(w, m_small, gpu0Capacity); }
    bool openPlanned(MainWindow &w, const Demo &demo, qint64 gpu0Capacity = -1);
    static Demo writeDemo(const QString &path, int layers, int hidden);
    // Runs the panel's plan and waits for the end; the result.
    runtime::RunResult runAndWait(TestRunPanel *panel);

    QTemporaryDir m_dir;
    Demo m_small;    // 6 layers
    Demo m_405b;     // 405B-shaped: 126 layers, tiny hidden size
    QString m_demo;  // m_small.path
};

Demo TestTestRun::writeDemo(const QString &path, int layers, int hidden)
{
    Demo demo;
    demo.path = path;
    demo.layers = layers;
    models::DemoOptions options;
    options.seed = 11;
    options.layers = layers;
    options.hidden = hidden;
    options.dtype = DType::F32;
    if (models::writeDemo(path.toStdString(), options).totalBytes <= 0)
        return {};
    // Sizes as the planner counts them, for budgets that spread the demo over every kind of device.
    Document doc;
    QSignalSpy opened(&doc, &Document::opened);
    doc.open(path);
    if (!opened.wait(kTimeoutMs))
        return {};
    const auto &tree = *doc.tree();
    const int layer = tree.find("model.layers.0"), embed = tree.find("model.embed_tokens");
    if (layer < 0 || embed < 0)
        return {};
    demo.layerBytes = doc.sizes().bytes[static_cast<std::size_t>(layer)];
    demo.embedBytes = doc.sizes().bytes[static_cast<std::size_t>(embed)];
    return demo;
}

void TestTestRun::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("MizanTestRun"));
    QSettings().clear();
    QVERIFY(m_dir.isValid());
    m_small = writeDemo(m_dir.filePath(QStringLiteral("demo")), kLayers, 0);
    QVERIFY(m_small.layerBytes > 0 && m_small.embedBytes > 0);
    m_demo = m_small.path;
    m_405b = writeDemo(m_dir.filePath(QStringLiteral("demo-405b-shaped")), 126, 64);
    QVERIFY(m_405b.layerBytes > 0 && m_405b.embedBytes > 0);
}

void TestTestRun::promptIdsAreParsed_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QList<qint64>>("ids"); // empty: refused
    QTest::newRow("commas") << QStringLiteral("1, 2, 3") << QList<qint64>{1, 2, 3};
    QTest::newRow("spaces") << QStringLiteral(" 7  8 ") << QList<qint64>{7, 8};
    QTest::newRow("arabic comma and digits") << QStringLiteral("١٢، ٣") << QList<qint64>{12, 3};
    QTest::newRow("negative") << QStringLiteral("1, -2") << QList<qint64>{};
    QTest::newRow("word") << QStringLiteral("hello") << QList<qint64>{};
    QTest::newRow("empty") << QStringLiteral("  ") << QList<qint64>{};
}

void TestTestRun::promptIdsAreParsed()
{
    QFETCH(QString, text);
    QFETCH(QList<qint64>, ids);
    std::vector<std::int64_t> parsed;
    QString error;
    const bool ok = TestRunPanel::parsePromptIds(text, parsed, error);
    QCOMPARE(ok, !ids.isEmpty());
    if (ok)
        QCOMPARE(QList<qint64>(parsed.begin(), parsed.end()), ids);
    else
        QVERIFY(!error.isEmpty());
}

bool TestTestRun::openPlanned(MainWindow &w, const Demo &demo, qint64 gpu0Capacity)
{
    Document *doc = w.document();
    // GPU 0: the embeddings and a layer beside the largest-layer reserve; GPU 1: two layers;
    // the CPU: a layer and the reserve; the rest on disk.
    const qint64 gpu0Layers = std::max(1, demo.layers / 12), gpu1Layers = std::max(2, demo.layers / 3),
                 cpuLayers = std::max(1, demo.layers / 12);
    const qint64 gpu0 = 2 * demo.embedBytes + demo.layerBytes * (gpu0Layers + 1) + demo.layerBytes / 2;
    const qint64 gpu1 = demo.layerBytes * gpu1Layers + demo.layerBytes / 2;
    const qint64 cpu = demo.layerBytes * (cpuLayers + 1) + demo.layerBytes / 2;
    doc->setDevices({{planner::Device::gpu(0), gpu0, true, {}, gpu0Capacity},
                     {planner::Device::gpu(1), gpu1, true, {}, -1},
                     {planner::Device::cpu(), cpu, false, {}, -1}},
                    QStringLiteral("devices"));
    doc->setHeadroom(64, 1); // KV cache and activations of a short test run kept free on the GPUs
    QSignalSpy planned(doc, &Document::planFinished);
    w.openPath(demo.path);
    if (!planned.wait(kTimeoutMs) || !planned.first().first().toBool())
        return false;
    QSet<QString> used;
    for (const auto &[key, d] : doc->deviceMap())
        used << QString::fromStdString(d.toString());
    if (used != QSet<QString>{QStringLiteral("0"), QStringLiteral("1"), QStringLiteral("cpu"), QStringLiteral("disk")}) {
        qWarning() << "the plan uses" << used;
        return false;
    }
    return true;
}

runtime::RunResult TestTestRun::runAndWait(TestRunPanel *panel)
{
    QSignalSpy finished(panel, &TestRunPanel::runFinished);
    if (!panel->run()) {
        qWarning("cannot run: %s", qPrintable(panel->statusText()));
        return {};
    }
    if (!finished.wait(kTimeoutMs))
        return {};
    return finished.first().first().value<runtime::RunResult>();
}

void TestTestRun::runNeedsWeightsAndAValidMap()
{
    MainWindow w;
    TestRunPanel *panel = w.testRunPanel();
    QVERIFY(!panel->runButton()->isEnabled());
    QVERIFY(!w.document()->testRunProblem().isEmpty());
    // A preset describes a model without weights: Run stays disabled and says why.
    QSignalSpy planned(w.document(), &Document::planFinished);
    w.openPath(QStringLiteral("llama-3.1-8b"));
    QVERIFY(planned.wait(kTimeoutMs));
    QVERIFY(!panel->runButton()->isEnabled());
    const QString why = w.document()->testRunProblem();
    QVERIFY2(why.contains(QStringLiteral("weights")), qPrintable(why));
    QVERIFY(!panel->run());
    QCOMPARE(panel->statusText(), why);
    w.setLanguage(QStringLiteral("ar"));
    QVERIFY(w.document()->testRunProblem() != why);
    QVERIFY(!w.document()->testRunProblem().isEmpty());
    w.setLanguage(QStringLiteral("en"));

    // A map with an error (a module on a device the settings do not have) cannot run either.
    QVERIFY(openPlanned(w));
    QVERIFY(panel->runButton()->isEnabled());
    QVERIFY(w.document()->testRunProblem().isEmpty());
    const int layer = w.document()->tree()->find("model.layers.1");
    QVERIFY(layer >= 0);
    w.document()->setModuleDevice(layer, planner::Device::gpu(5));
    QVERIFY(!w.document()->testRunProblem().isEmpty());
    QVERIFY(!panel->runButton()->isEnabled());
    w.document()->undoStack()->undo();
    QVERIFY(panel->runButton()->isEnabled());
}

void TestTestRun::sameIdsAsTheCli()
{
    MainWindow w;
    QVERIFY(openPlanned(w));
    TestRunPanel *panel = w.testRunPanel();
    panel->setPromptIds(QStringLiteral("3, 1, 4, 1, 5"));
    panel->setMaxNewTokens(8);
    panel->setPrefetch(2); // deferred where the arena has no room, never out of memory
    const runtime::RunResult result = runAndWait(panel);
    QVERIFY2(!result.error, result.error ? result.error->message.c_str() : "");
    QCOMPARE(result.generatedIds.size(), std::size_t(8));
    QCOMPARE(panel->generatedIds(), result.generatedIds);
    QStringList ids;
    for (auto id : result.generatedIds)
        ids << QString::number(id);
    QCOMPARE(panel->outputText(), ids.join(QLatin1Char(' ')));

    // The same plan through the command line.
    const QString planFile = m_dir.filePath(QStringLiteral("gui.mizan.json"));
    w.document()->exportPlan(planFile);
    const auto cli = test::runCli({QStringLiteral("run"), m_demo, QStringLiteral("--plan"), planFile, QStringLiteral("--prompt-ids"),
                                       QStringLiteral("3,1,4,1,5"), QStringLiteral("--max-new-tokens"), QStringLiteral("8"),
                                       QStringLiteral("--prefetch"), QStringLiteral("2"), QStringLiteral("--json")});
    QVERIFY2(cli.exitCode == 0, qPrintable(cli.errText()));
    const QJsonObject json = QJsonDocument::fromJson(cli.out).object();
    QStringList cliIds;
    for (const auto &v : json.value(QStringLiteral("generated_ids")).toArray())
        cliIds << QString::number(v.toInteger());
    QCOMPARE(ids, cliIds);
    // Devices as the CLI reports them: the same simulated GPUs.
    QStringList devices;
    for (const auto &v : json.value(QStringLiteral("devices")).toArray())
        devices << v.toObject().value(QStringLiteral("device")).toVariant().toString();
    QStringList guiDevices;
    for (const auto &d : result.devices)
        guiDevices << QString::fromStdString(d.device.toString());
    QCOMPARE(guiDevices, devices);

    // The live view received every module-ran event, in execution order: per forward the
    // embeddings, each layer, the norm and the head.
    QStringList expected;
    for (int t = 0; t < 8; ++t) {
        expected << QStringLiteral("model.embed_tokens");
        for (int i = 0; i < kLayers; ++i)
            expected << QStringLiteral("model.layers.%1").arg(i);
        expected << QStringLiteral("model.norm") << QStringLiteral("lm_head");
    }
    QCOMPARE(panel->liveView()->ranModules(), expected);
    QVERIFY(!w.document()->testRunError());
}

void TestTestRun::promptTextWithTheModelsTokenizer()
{
    // The demo with a tokenizer beside it: the prompt box takes text, the output is text.
    Demo withTokenizer = m_small;
    withTokenizer.path = m_dir.filePath(QStringLiteral("demo-with-tokenizer"));
    QVERIFY(QDir().mkpath(withTokenizer.path));
    for (const QString &name : QDir(m_demo).entryList(QDir::Files))
        QVERIFY(QFile::copy(m_demo + QLatin1Char('/') + name, withTokenizer.path + QLatin1Char('/') + name));
    const QString tokenizerDir = QString::fromStdString(testdata::path("tokenizers/split-normalized"));
    for (const QString &name : {QStringLiteral("tokenizer.json"), QStringLiteral("tokenizer_config.json")})
        QVERIFY(QFile::copy(tokenizerDir + QLatin1Char('/') + name, withTokenizer.path + QLatin1Char('/') + name));

    MainWindow w;
    QVERIFY(openPlanned(w, withTokenizer));
    TestRunPanel *panel = w.testRunPanel();
    QVERIFY(panel->usesTokenizer());
    panel->setPromptText(QStringLiteral("Hello world!"));
    panel->setMaxNewTokens(8);
    const runtime::RunResult result = runAndWait(panel);
    QVERIFY2(!result.error, result.error ? result.error->message.c_str() : "");
    QVERIFY(!result.generatedIds.empty());
    const auto tokenizer = loader::Tokenizer::forModel(withTokenizer.path.toStdString());
    QVERIFY(tokenizer);
    QCOMPARE(result.promptIds, tokenizer->encode("Hello world!", true).ids);
    QCOMPARE(panel->outputText(), QString::fromStdString(tokenizer->decode(result.generatedIds)));

    // The command line with the same prompt text and plan: the same ids (both end at the
    // config's end-of-sequence id if they generate it).
    const QString planFile = m_dir.filePath(QStringLiteral("gui-text.mizan.json"));
    w.document()->exportPlan(planFile);
    const auto cli = test::runCli({QStringLiteral("run"), withTokenizer.path, QStringLiteral("--plan"), planFile, QStringLiteral("--prompt"),
                                   QStringLiteral("Hello world!"), QStringLiteral("--max-new-tokens"), QStringLiteral("8"), QStringLiteral("--json")});
    QVERIFY2(cli.exitCode == 0, qPrintable(cli.errText()));
    const QJsonObject json = QJsonDocument::fromJson(cli.out).object();
    std::vector<std::int64_t> cliIds;
    for (const auto &v : json.value(QStringLiteral("generated_ids")).toArray())
        cliIds.push_back(v.toInteger());
    QCOMPARE(cliIds, result.generatedIds);
    QCOMPARE(json.value(QStringLiteral("text")).toString(), panel->outputText());

    // Back to a model without a tokenizer: token ids again.
    QVERIFY(openPlanned(w));
    QVERIFY(!panel->usesTokenizer());
}

void TestTestRun::cancelStopsWithinABlock()
{
    MainWindow w;
    QVERIFY(openPlanned(w));
    TestRunPanel *panel = w.testRunPanel();
    panel->setMaxNewTokens(4000);
    QSignalSpy token(panel, &TestRunPanel::tokenProduced);
    QSignalSpy finished(panel, &TestRunPanel::runFinished);
    QVERIFY(panel->run());
    QVERIFY(panel->isRunning());
    QVERIFY(!panel->runButton()->isEnabled());
    QVERIFY(panel->cancelButton()->isEnabled());
    QVERIFY(token.wait(kTimeoutMs));
    QElapsedTimer clock;
    clock.start();
    panel->cancelButton()->click();
    QVERIFY(finished.wait(kTimeoutMs));
    qInfo("cancel returned control after %lld ms", static_cast<long long>(clock.elapsed()));
    const auto result = finished.first().first().value<runtime::RunResult>();
    QVERIFY(result.cancelled);
    QVERIFY(!result.error);
    QVERIFY(result.generatedIds.size() < 4000);
    QVERIFY(!w.document()->testRunError());
    QVERIFY(panel->runButton()->isEnabled());
    // And the next run works.
    panel->setMaxNewTokens(3);
    const auto again = runAndWait(panel);
    QVERIFY(!again.error && !again.cancelled);
    QCOMPARE(again.generatedIds.size(), std::size_t(3));
}

void TestTestRun::outOfMemoryIsAProblemAndTheNextRunWorks()
{
    MainWindow w;
    // GPU 0 planned with its limit but its arena smaller than the weights placed there.
    QVERIFY(openPlanned(w, m_small.embedBytes));
    TestRunPanel *panel = w.testRunPanel();
    panel->setMaxNewTokens(2);
    const auto failed = runAndWait(panel);
    QVERIFY(failed.error);
    QCOMPARE(failed.error->kind, ErrorKind::OutOfMemory);
    QVERIFY(w.document()->testRunError());
    QVERIFY2(panel->statusText().contains(QStringLiteral("out of memory")), qPrintable(panel->statusText()));
    // In the problems panel, in the current language.
    auto findRow = [&](const QString &needle) {
        const QTreeWidget *problems = w.problemsView();
        for (int i = 0; i < problems->topLevelItemCount(); ++i)
            if (problems->topLevelItem(i)->text(ProblemTextColumn).contains(needle))
                return true;
        return false;
    };
    QVERIFY(findRow(QStringLiteral("Test inference failed: Out of memory on a device")));
    w.setLanguage(QStringLiteral("ar"));
    QVERIFY(!findRow(QStringLiteral("Test inference failed")));
    QVERIFY(findRow(QStringLiteral("GPU 0 (simulated)"))); // the core's detail, as written
    w.setLanguage(QStringLiteral("en"));

    // Room enough: the next run works and the problem is gone.
    auto devices = w.document()->devices();
    devices[0].capacityBytes = -1;
    w.document()->setDevices(devices, QStringLiteral("capacity"));
    QSignalSpy planned(w.document(), &Document::planFinished);
    w.document()->requestPlan();
    QVERIFY(planned.wait(kTimeoutMs));
    const auto ok = runAndWait(panel);
    QVERIFY2(!ok.error, ok.error ? ok.error->message.c_str() : "");
    QCOMPARE(ok.generatedIds.size(), std::size_t(2));
    QVERIFY(!w.document()->testRunError());
    QVERIFY(!findRow(QStringLiteral("Test inference failed")));
}

void TestTestRun::eventLoopNeverStallsDuringARun_data()
{
    QTest::addColumn<bool>("large");
    QTest::addColumn<int>("tokens");
    QTest::newRow("demo") << false << 160;
    // 129 steps a token of well under a millisecond each: the event stream at its densest.
    QTest::newRow("405B-shaped") << true << 24;
}

void TestTestRun::eventLoopNeverStallsDuringARun()
{
    QFETCH(bool, large);
    QFETCH(int, tokens);
    // A 5 ms timer measures the longest gap between event-loop turns from the click on Run while
    // weights load and tokens come; on a shared machine the best of three attempts is held to 50 ms.
    qint64 best = std::numeric_limits<qint64>::max();
    for (int attempt = 1; attempt <= 3 && best > 50; ++attempt) {
        MainWindow w;
        w.resize(1400, 900);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(openPlanned(w, large ? m_405b : m_small));
        TestRunPanel *panel = w.testRunPanel();
        panel->setMaxNewTokens(tokens);
        // The page is on screen, as when the user clicks Run on it.
        w.showTestRunPage();
        QTest::qWait(200);
        test::EventLoopWatch watch;
        QSignalSpy finished(panel, &TestRunPanel::runFinished);
        watch.start();
        panel->runButton()->click();
        QVERIFY(finished.wait(kTimeoutMs));
        QTest::qWait(100); // the summary's repaint is inside the watched window
        watch.stop();
        const auto result = finished.first().first().value<runtime::RunResult>();
        QVERIFY2(!result.error, result.error ? result.error->message.c_str() : "");
        qInfo("attempt %d: %zu tokens in %lld ms, %lld module-ran events; longest GUI-thread stall %lld ms from %lld ms "
              "(%.1f ms of this thread's CPU) over %d ticks",
              attempt, result.generatedIds.size(), static_cast<long long>(watch.elapsedMs()),
              static_cast<long long>(panel->liveView()->ranModules().size()), static_cast<long long>(watch.worstMs()),
              static_cast<long long>(watch.worstAtMs()), watch.worstCpuMs(), watch.ticks());
        best = std::min(best, watch.worstMs());
    }
    QVERIFY2(best <= 50, qPrintable(QStringLiteral("event loop stalled %1 ms").arg(best)));
}

void TestTestRun::closingTheWindowCancelsTheRun()
{
    auto w = std::make_unique<MainWindow>();
    QVERIFY(openPlanned(*w));
    TestRunPanel *panel = w->testRunPanel();
    panel->setMaxNewTokens(4000);
    QSignalSpy token(panel, &TestRunPanel::tokenProduced);
    QVERIFY(panel->run());
    QVERIFY(token.wait(kTimeoutMs));
    // Opening another checkpoint cancels the run first.
    QSignalSpy finished(panel, &TestRunPanel::runFinished);
    w->openPath(m_demo);
    QVERIFY(finished.wait(kTimeoutMs));
    QVERIFY(finished.first().first().value<runtime::RunResult>().cancelled);
    QSignalSpy planned(w->document(), &Document::planFinished);
    QVERIFY(planned.wait(kTimeoutMs));
    // Closing the window mid-run: the run's thread is joined within one block's time.
    QVERIFY(panel->run());
    QVERIFY(token.wait(kTimeoutMs));
    QElapsedTimer clock;
    clock.start();
    w->close();
    w.reset();
    qInfo("window closed and destroyed mid-run in %lld ms", static_cast<long long>(clock.elapsed()));
}

QTEST_MAIN(TestTestRun)
#include "tst_testrun.moc"
