// The start page's "Local models" (offscreen): the Hugging Face cache listed off the GUI thread
// from a fake cache in a temporary folder ($HF_HUB_CACHE), one row per snapshot with its revision,
// size on disk, formats and completeness (or why not); the empty state naming the folders
// searched; opening a complete snapshot by Enter, double-click or Open as a folder is opened; an
// incomplete one explained, never opened; refresh; Arabic, mirrored.
#include "document.h"
#include "fakehfcache.h"
#include "guiformat.h"
#include "mainwindow.h"
#include "startpage.h"
#include "worker.h"

#include "models/demo.h"

#include <QApplication>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QTreeWidget>

using namespace mizan;
using namespace mizan::gui;

namespace {

constexpr int kTimeoutMs = 60000;

bool hasArabicLetters(const QString &text)
{
    for (const QChar c : text)
        if (c.unicode() >= 0x0600 && c.unicode() <= 0x06ff && c.isLetter())
            return true;
    return false;
}

bool hasArabicDigits(const QString &text)
{
    for (const QChar c : text)
        if (c.unicode() >= 0x0660 && c.unicode() <= 0x0669)
            return true;
    return false;
}

QTreeWidget *listOf(QWidget *page) { return page->findChild<QTreeWidget *>(QStringLiteral("localModels")); }
QLabel *labelOf(QWidget *page, const char *name) { return page->findChild<QLabel *>(QLatin1String(name)); }
QPushButton *buttonOf(QWidget *page, const char *name) { return page->findChild<QPushButton *>(QLatin1String(name)); }

// Waits for the listing the page started (in its constructor or a refresh).
bool waitListed(StartPage *page)
{
    if (!page->isListingLocalModels())
        return true;
    QSignalSpy listed(page, &StartPage::localModelsListed);
    return listed.wait(kTimeoutMs);
}

QTreeWidgetItem *rowOf(QTreeWidget *list, const QString &repo, const QString &revision)
{
    for (int i = 0; i < list->topLevelItemCount(); ++i) {
        QTreeWidgetItem *item = list->topLevelItem(i);
        if (item->text(StartPage::ModelColumn) == repo && item->text(StartPage::RevisionColumn).startsWith(revision.left(12)))
            return item;
    }
    return nullptr;
}

} // namespace

class TestStartPage : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_demo;
    qint64 m_demoBytes = 0;

    QString hub() const { return m_dir.filePath(QStringLiteral("hub")); }
    QString snapshot(const QString &repo, const QString &revision) const
    {
        return test::cachedRepoFolder(hub(), repo) + QStringLiteral("/snapshots/") + revision;
    }
    static QString complete() { return QStringLiteral("aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111"); }
    static QString missingShard() { return QStringLiteral("bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222"); }
    static QString downloading() { return QStringLiteral("cccc3333cccc3333cccc3333cccc3333cccc3333"); }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        // Only the fake cache: no other root huggingface_hub would look in.
        qputenv("HF_HUB_CACHE", hub().toUtf8());
        qunsetenv("HUGGINGFACE_HUB_CACHE");
        qunsetenv("HF_HOME");
        qunsetenv("XDG_CACHE_HOME");
        qputenv("HOME", m_dir.filePath(QStringLiteral("home")).toUtf8());
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("MizanTest"));
        QSettings().clear();

        m_demo = m_dir.filePath(QStringLiteral("demo"));
        models::DemoOptions options;
        options.seed = 5;
        models::writeDemo(m_demo.toStdString(), options);
        for (const QFileInfo &f : QDir(m_demo).entryInfoList(QDir::Files))
            m_demoBytes += f.size();
        QVERIFY(QDir().mkpath(hub()));
        // acme/tiny: an older complete snapshot on main, a newer one missing a shard.
        QVERIFY(test::addCachedSnapshot(hub(), m_demo, QStringLiteral("acme/tiny"), complete(), {}, 1700000000));
        QVERIFY(test::addCachedSnapshot(hub(), m_demo, QStringLiteral("acme/tiny"), missingShard(),
                                        {QStringLiteral("model-00002-of-00002.safetensors")}, 1800000000));
        QVERIFY(test::setCachedRef(hub(), QStringLiteral("acme/tiny"), QStringLiteral("main"), complete()));
        // acme/downloading: every file there, but a blob still being downloaded.
        QVERIFY(test::addCachedSnapshot(hub(), m_demo, QStringLiteral("acme/downloading"), downloading()));
        QVERIFY(test::addIncompleteBlob(hub(), QStringLiteral("acme/downloading")));
    }

    void listsEverySnapshot_data()
    {
        QTest::addColumn<QString>("repo");
        QTest::addColumn<QString>("revision");
        QTest::addColumn<QString>("status");
        QTest::addColumn<bool>("openable");
        QTest::newRow("complete, on main") << "acme/tiny" << complete() << "Complete" << true;
        QTest::newRow("missing shard") << "acme/tiny" << missingShard() << "Incomplete: Missing shards: model-00002-of-00002.safetensors" << false;
        QTest::newRow("download in progress") << "acme/downloading" << downloading() << "Incomplete: Download in progress" << false;
    }
    void listsEverySnapshot()
    {
        QFETCH(QString, repo);
        QFETCH(QString, revision);
        QFETCH(QString, status);
        QFETCH(bool, openable);
        StartPage page;
        page.resize(1200, 800);
        page.show();
        QVERIFY(waitListed(&page));
        QTreeWidget *list = listOf(&page);
        QVERIFY(list);
        QCOMPARE(list->topLevelItemCount(), 3);
        QVERIFY(list->isVisible());
        QTreeWidgetItem *row = rowOf(list, repo, revision);
        QVERIFY(row);
        QCOMPARE(row->text(StartPage::StatusColumn), status);
        QCOMPARE(row->text(StartPage::FormatsColumn), QStringLiteral("safetensors"));
        QCOMPARE(row->toolTip(StartPage::ModelColumn), snapshot(repo, revision));
        // The short revision, and the branch naming it.
        QCOMPARE(row->text(StartPage::RevisionColumn), revision == complete() ? revision.left(12) + " (main)" : revision.left(12));
        if (revision == complete())
            QCOMPARE(row->text(StartPage::SizeColumn), formatBytes(m_demoBytes)); // every blob it links, once
        QVERIFY(row->textAlignment(StartPage::SizeColumn) & Qt::AlignTrailing);
        // The folder searched is named above the list.
        QVERIFY2(labelOf(&page, "localModelRoots")->text().contains(hub()), qPrintable(labelOf(&page, "localModelRoots")->text()));
        // Open follows the selection: enabled only for a complete snapshot, else it says why.
        list->setCurrentItem(row);
        QPushButton *open = buttonOf(&page, "openLocalModel");
        QCOMPARE(open->isEnabled(), openable);
        if (!openable)
            QVERIFY2(open->toolTip().contains(status.mid(QStringLiteral("Incomplete: ").size())), qPrintable(open->toolTip()));
    }

    void emptyCacheShowsTheEmptyState_data()
    {
        QTest::addColumn<bool>("exists");
        QTest::addColumn<QString>("words");
        QTest::newRow("an empty cache") << true << "No models in the Hugging Face cache (searched: %1).";
        QTest::newRow("no cache folder") << false << "No Hugging Face cache folder here (searched: $HF_HUB_CACHE";
    }
    void emptyCacheShowsTheEmptyState()
    {
        QFETCH(bool, exists);
        QFETCH(QString, words);
        const QString empty = m_dir.filePath(exists ? QStringLiteral("empty-hub") : QStringLiteral("no-hub"));
        if (exists)
            QVERIFY(QDir().mkpath(empty));
        qputenv("HF_HUB_CACHE", empty.toUtf8());
        StartPage page;
        page.show();
        QVERIFY(waitListed(&page));
        qputenv("HF_HUB_CACHE", hub().toUtf8());
        QLabel *label = labelOf(&page, "localModelsEmpty");
        QVERIFY(label->isVisible());
        QVERIFY(!listOf(&page)->isVisible());
        QVERIFY2(label->text().startsWith(exists ? words.arg(empty) : words), qPrintable(label->text()));
        QVERIFY(!buttonOf(&page, "openLocalModel")->isEnabled());
        QVERIFY(page.localModels().empty());
        // The models come when the cache is listed again.
        QVERIFY(buttonOf(&page, "refreshLocalModels")->isEnabled());
        QTest::mouseClick(buttonOf(&page, "refreshLocalModels"), Qt::LeftButton);
        QVERIFY(waitListed(&page));
        QCOMPARE(listOf(&page)->topLevelItemCount(), 3);
        QVERIFY(listOf(&page)->isVisible());
        QVERIFY(!label->isVisible());
    }

    void openingARowOpensThatSnapshot_data()
    {
        QTest::addColumn<QString>("how");
        QTest::newRow("Enter") << "enter";
        QTest::newRow("double-click") << "double-click";
        QTest::newRow("Open button") << "button";
    }
    void openingARowOpensThatSnapshot()
    {
        QFETCH(QString, how);
        MainWindow w;
        w.resize(1400, 900);
        w.show();
        QVERIFY(waitListed(w.startPage()));
        QTreeWidget *list = listOf(w.startPage());
        QTreeWidgetItem *row = rowOf(list, QStringLiteral("acme/tiny"), complete());
        QVERIFY(row);
        list->setCurrentItem(row);
        QSignalSpy opened(w.document(), &Document::opened);
        if (how == QLatin1String("enter")) {
            list->setFocus();
            QTest::keyClick(list, Qt::Key_Return);
        } else if (how == QLatin1String("double-click")) {
            const QPoint at = list->visualItemRect(row).center();
            QTest::mouseClick(list->viewport(), Qt::LeftButton, {}, at);
            QTest::mouseDClick(list->viewport(), Qt::LeftButton, {}, at);
        } else {
            QTest::mouseClick(buttonOf(w.startPage(), "openLocalModel"), Qt::LeftButton);
        }
        QVERIFY(opened.wait(kTimeoutMs));
        // The snapshot folder, opened as any folder is: its sharded safetensors through the links.
        QCOMPARE(w.document()->model()->path, snapshot(QStringLiteral("acme/tiny"), complete()));
        QCOMPARE(w.document()->model()->source.checkpoint.format, loader::Format::ShardedSafetensors);
        QCOMPARE(w.document()->model()->source.checkpoint.catalog.totalBytes(),
                 loader::open(m_demo.toStdString()).catalog.totalBytes());
    }

    void incompleteSnapshotsAreExplainedNotOpened_data()
    {
        QTest::addColumn<QString>("revision");
        QTest::addColumn<QString>("why");
        QTest::newRow("missing shard") << missingShard() << "Missing shards: model-00002-of-00002.safetensors";
        QTest::newRow("download in progress") << downloading() << "Download in progress";
    }
    void incompleteSnapshotsAreExplainedNotOpened()
    {
        QFETCH(QString, revision);
        QFETCH(QString, why);
        MainWindow w;
        w.resize(1400, 900);
        w.show();
        QVERIFY(waitListed(w.startPage()));
        QTreeWidget *list = listOf(w.startPage());
        QTreeWidgetItem *row = rowOf(list, revision == downloading() ? QStringLiteral("acme/downloading") : QStringLiteral("acme/tiny"), revision);
        QVERIFY(row);
        list->setCurrentItem(row);
        QSignalSpy started(w.document(), &Document::openStarted);
        list->setFocus();
        QTest::keyClick(list, Qt::Key_Return);
        QVERIFY(!w.startPage()->openSelectedLocalModel());
        const QPoint at = list->visualItemRect(row).center();
        QTest::mouseClick(list->viewport(), Qt::LeftButton, {}, at);
        QTest::mouseDClick(list->viewport(), Qt::LeftButton, {}, at);
        QCOMPARE(list->currentItem(), row);
        QCoreApplication::processEvents();
        QCOMPARE(started.count(), 0);
        QVERIFY(!w.document()->isOpening() && !w.document()->hasModel());
        QLabel *message = labelOf(w.startPage(), "localModelMessage");
        QVERIFY(message->isVisible());
        QVERIFY2(message->text().contains(why) && message->text().contains(revision.left(12)), qPrintable(message->text()));
        // Selecting a complete one clears the explanation.
        list->setCurrentItem(rowOf(list, QStringLiteral("acme/tiny"), complete()));
        QVERIFY(!message->isVisible());
    }

    void refreshFindsNewSnapshots()
    {
        StartPage page;
        page.show();
        QVERIFY(waitListed(&page));
        QCOMPARE(listOf(&page)->topLevelItemCount(), 3);
        QVERIFY(test::addCachedSnapshot(hub(), m_demo, QStringLiteral("acme/later"), QStringLiteral("dddd4444dddd4444")));
        // Two refreshes while one runs: one more listing after it, not a crash or a lost one.
        page.refreshLocalModels();
        page.refreshLocalModels();
        QVERIFY(!buttonOf(&page, "refreshLocalModels")->isEnabled());
        QVERIFY(waitListed(&page));
        QVERIFY(waitListed(&page));
        QCOMPARE(listOf(&page)->topLevelItemCount(), 4);
        QVERIFY(rowOf(listOf(&page), QStringLiteral("acme/later"), QStringLiteral("dddd4444dddd4444")));
        QVERIFY(QDir(test::cachedRepoFolder(hub(), QStringLiteral("acme/later"))).removeRecursively());
    }

    void arabicIsTranslatedAndMirrored()
    {
        MainWindow w;
        w.resize(1200, 800);
        w.show();
        QVERIFY(waitListed(w.startPage()));
        QTreeWidget *list = listOf(w.startPage());
        QTreeWidgetItem *missing = rowOf(list, QStringLiteral("acme/tiny"), missingShard());
        list->setCurrentItem(missing);
        w.setLanguage(QStringLiteral("ar"));
        QVERIFY(list->isRightToLeft());
        for (int c = 0; c < StartPage::LocalColumnCount; ++c)
            QVERIFY2(hasArabicLetters(list->headerItem()->text(c)), qPrintable(list->headerItem()->text(c)));
        // The rows are worded again: status and size in Arabic (Arabic-Indic digits), names and
        // revisions as they are; the selection kept.
        missing = list->currentItem();
        QVERIFY(missing);
        QCOMPARE(missing->text(StartPage::ModelColumn), QStringLiteral("acme/tiny"));
        QVERIFY2(hasArabicLetters(missing->text(StartPage::StatusColumn)), qPrintable(missing->text(StartPage::StatusColumn)));
        QVERIFY(missing->text(StartPage::StatusColumn).contains(QStringLiteral("model-00002-of-00002.safetensors")));
        QVERIFY2(hasArabicDigits(missing->text(StartPage::SizeColumn)), qPrintable(missing->text(StartPage::SizeColumn)));
        QVERIFY(hasArabicLetters(labelOf(w.startPage(), "localModelRoots")->text()));
        QVERIFY(hasArabicLetters(buttonOf(w.startPage(), "openLocalModel")->text()));
        // The columns run from the right: the model's right of the status.
        QVERIFY(list->header()->sectionViewportPosition(StartPage::ModelColumn) > list->header()->sectionViewportPosition(StartPage::StatusColumn));
        // The empty state too.
        qputenv("HF_HUB_CACHE", m_dir.filePath(QStringLiteral("no-hub-ar")).toUtf8());
        w.startPage()->refreshLocalModels();
        QVERIFY(waitListed(w.startPage()));
        qputenv("HF_HUB_CACHE", hub().toUtf8());
        QVERIFY(hasArabicLetters(labelOf(w.startPage(), "localModelsEmpty")->text()));
        w.setLanguage(QStringLiteral("en"));
        QVERIFY(!list->isRightToLeft());
    }
};

QTEST_MAIN(TestStartPage)
#include "tst_startpage.moc"
