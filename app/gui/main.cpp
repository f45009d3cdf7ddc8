// mizan: the desktop application. Opens a checkpoint, a config.json or a preset given on the
// command line (or from the start page), and plans its device map.
#include "mainwindow.h"

#include "devicepanel.h"
#include "document.h"
#include "testrun.h"

#include "planner/atomicfile.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QFont>
#include <QFontDatabase>
#include <QTimer>

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    mizan::removeTempFilesOnSignals(); // Ctrl-C or a kill during a save leaves no temporary file
    QApplication::setOrganizationName(QStringLiteral("Mizan"));
    QApplication::setApplicationName(QStringLiteral("mizan"));
    QApplication::setApplicationVersion(QStringLiteral(MIZAN_VERSION));
    // DejaVu Sans covers Latin and Arabic, so both languages render with one font.
    QFont font(QStringLiteral("DejaVu Sans"));
    font.setPointSizeF(9.5);
    QApplication::setFont(font);

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Plan device maps for checkpoints bigger than one GPU."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("path"), QStringLiteral("checkpoint folder, .safetensors, *.index.json, config.json or preset name"));
    QCommandLineOption language(QStringLiteral("language"), QStringLiteral("user interface language: en or ar"), QStringLiteral("code"));
    QCommandLineOption hardware(QStringLiteral("hardware"), QStringLiteral("use this hardware profile's devices"), QStringLiteral("profile"));
    QCommandLineOption screenshot(QStringLiteral("screenshot"), QStringLiteral("save a PNG of the window after the first plan (without a path: of the start page once the local models are listed) and quit"), QStringLiteral("file"));
    QCommandLineOption select(QStringLiteral("select"), QStringLiteral("select this module after opening"), QStringLiteral("module"));
    QCommandLineOption size(QStringLiteral("size"), QStringLiteral("window size, WIDTHxHEIGHT"), QStringLiteral("size"));
    QCommandLineOption map(QStringLiteral("map"), QStringLiteral("after the first plan, import this device_map.json or plan file"), QStringLiteral("file"));
    QCommandLineOption testRun(QStringLiteral("test-run"), QStringLiteral("after the first plan, run a test inference of it (with --screenshot: capture it mid-run, quit when it ends; with --cluster: run the cluster plan on local ranks)"));
    QCommandLineOption maxNewTokens(QStringLiteral("max-new-tokens"), QStringLiteral("tokens the test inference generates"), QStringLiteral("n"));
    QCommandLineOption bandwidth(QStringLiteral("simulated-bandwidth"), QStringLiteral("host-to-GPU bandwidth of simulated GPUs for the test inference, in GB/s"), QStringLiteral("gbps"));
    QCommandLineOption prefetch(QStringLiteral("prefetch"), QStringLiteral("offloaded blocks the test inference brings in ahead"), QStringLiteral("k"));
    QCommandLineOption policy(QStringLiteral("policy"), QStringLiteral("after opening, add this placement policy (repeatable; as mizan-cli plan --policy) and show the Policies panel"), QStringLiteral("policy"));
    QCommandLineOption compare(QStringLiteral("compare"), QStringLiteral("after the first plan, show it side by side with this plan file or device_map.json (with --screenshot: a PNG of the comparison)"), QStringLiteral("file"));
    QCommandLineOption cluster(QStringLiteral("cluster"), QStringLiteral("show this cluster plan file (mizan-cli plan --hardware CLUSTER -o FILE) as hosts and device lanes (with --screenshot: a PNG of it; with --test-run: run it on local ranks after the first plan, the PNG once it has finished)"), QStringLiteral("file"));
    parser.addOptions({language, hardware, screenshot, select, size, map, testRun, maxNewTokens, prefetch, bandwidth, policy, compare, cluster});
    parser.process(app);

    mizan::gui::MainWindow window;
    if (parser.isSet(language))
        window.setLanguage(parser.value(language));
    if (parser.isSet(size)) {
        const QStringList wh = parser.value(size).split(QLatin1Char('x'));
        if (wh.size() == 2)
            window.resize(wh[0].toInt(), wh[1].toInt());
    } else if (window.size().width() < 900) {
        window.resize(1400, 900);
    }
    if (parser.isSet(map))
        QObject::connect(window.document(), &mizan::gui::Document::planFinished, &window,
                         [&window, file = parser.value(map)] { window.importFile(file); }, Qt::SingleShotConnection);
    if (parser.isSet(policy))
        QObject::connect(window.document(), &mizan::gui::Document::opened, &window,
                         [&window, policies = parser.values(policy)] { window.addPolicies(policies); }, Qt::SingleShotConnection);
    if (parser.isSet(maxNewTokens))
        window.testRunPanel()->setMaxNewTokens(parser.value(maxNewTokens).toInt());
    if (parser.isSet(prefetch))
        window.testRunPanel()->setPrefetch(parser.value(prefetch).toInt());
    if (parser.isSet(bandwidth))
        window.testRunPanel()->setSimulatedBandwidth(parser.value(bandwidth).toDouble() * 1e9);
    if (parser.isSet(compare))
        window.compareWhenPlanned(parser.value(compare), parser.value(screenshot));
    else if (parser.isSet(cluster) && parser.isSet(testRun))
        window.runClusterPlanWhenPlanned(parser.value(cluster), parser.value(screenshot), parser.value(maxNewTokens).toInt());
    else if (parser.isSet(cluster))
        QTimer::singleShot(0, &window, [&window, file = parser.value(cluster), shot = parser.value(screenshot)] { window.openClusterPlan(file, shot); });
    else if (parser.isSet(testRun))
        window.testRunWhenPlanned(parser.value(screenshot));
    else if (parser.isSet(screenshot) && parser.positionalArguments().isEmpty())
        window.screenshotStartPage(parser.value(screenshot));
    else if (parser.isSet(screenshot))
        window.screenshotWhenPlanned(parser.value(screenshot), parser.value(select));
    window.show();

    const QStringList args = parser.positionalArguments();
    const QString profile = parser.value(hardware);
    const QString selected = parser.value(select);
    QTimer::singleShot(0, &window, [&window, args, profile, selected, hasShot = parser.isSet(screenshot)] {
        if (!profile.isEmpty()) {
            try {
                const auto chosen = mizan::models::hardwareProfile(profile.toStdString());
                if (chosen.isCluster())
                    qWarning("mizan: %s is a cluster profile: plan it with mizan-cli plan PATH --hardware %s", qPrintable(profile),
                             qPrintable(profile));
                else
                    window.devicePanel()->applyProfile(chosen);
            } catch (const std::exception &e) {
                qWarning("mizan: %s", qPrintable(mizan::gui::describeError(e)));
            }
        }
        if (!args.isEmpty())
            window.openPath(args.first());
        if (!selected.isEmpty() && !hasShot)
            QObject::connect(window.document(), &mizan::gui::Document::planFinished, &window,
                             [&window, selected] { window.selectModule(selected); }, Qt::SingleShotConnection);
    });
    return app.exec();
}
