// The Hugging Face cache as huggingface_hub lays it out (blobs, snapshots of links, refs), built in
// a temporary folder from a demo checkpoint: `mizan-cli list [--json]` and ORG/NAME wherever a
// checkpoint path is taken; incomplete snapshots (a missing shard, a link to a missing blob, a
// download in progress, no config) are reported, never crashed on, and never opened.

#include "fakehfcache.h"
#include "testutil.h"

#include "loader/hfcache.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

using namespace mizan;

class TestHfCache : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_demo;

    QString hub() const { return m_dir.filePath("hub"); }

    QProcessEnvironment env() const
    {
        QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
        e.insert("HF_HUB_CACHE", hub());
        e.remove("HF_HOME");
        e.remove("HUGGINGFACE_HUB_CACHE");
        e.remove("XDG_CACHE_HOME");
        e.insert("HOME", m_dir.filePath("no-home"));
        return e;
    }

    bool addSnapshot(const QString &repo, const QString &revision, const QStringList &skip = {}, qint64 mtime = 0)
    {
        return test::addCachedSnapshot(hub(), m_demo, repo, revision, skip, mtime);
    }

    bool setRef(const QString &repo, const QString &branch, const QString &revision)
    {
        return test::setCachedRef(hub(), repo, branch, revision);
    }

    QJsonArray listed()
    {
        const auto r = test::runCli({"list", "--json"}, env());
        if (r.exitCode != 0)
            return {};
        return QJsonDocument::fromJson(r.out).object().value("models").toArray();
    }

    QJsonObject snapshot(const QString &repo, const QString &revision)
    {
        for (const auto &v : listed())
            if (v.toObject().value("repo_id").toString() == repo && v.toObject().value("revision").toString() == revision)
                return v.toObject();
        return {};
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_demo = m_dir.filePath("demo");
        const auto made = test::makeDemo(m_demo, {"--layers", "2", "--hidden", "64"});
        QVERIFY2(made.exitCode == 0, qPrintable(made.errText()));
        QVERIFY(QDir().mkpath(hub()));
        // acme/tiny: an old complete snapshot on main, a newer one missing a shard.
        QVERIFY(addSnapshot("acme/tiny", "aaaa1111", {}, 1700000000));
        QVERIFY(addSnapshot("acme/tiny", "bbbb2222", {"model-00002-of-00002.safetensors"}, 1800000000));
        QVERIFY(setRef("acme/tiny", "main", "aaaa1111\n"));
        // acme/newest: two complete snapshots and no refs: the newest opens.
        QVERIFY(addSnapshot("acme/newest", "cccc0001", {}, 1700000000));
        QVERIFY(addSnapshot("acme/newest", "cccc0002", {}, 1800000000));
        // acme/dangling: a link to a blob that is gone.
        QVERIFY(addSnapshot("acme/dangling", "dddd0001"));
        const QString blobs = hub() + "/models--acme--dangling/blobs";
        const QStringList all = QDir(blobs).entryList(QDir::Files);
        QVERIFY(!all.isEmpty());
        QVERIFY(QFile::remove(blobs + "/" + all.front()));
        // acme/downloading: a blob still being downloaded.
        QVERIFY(addSnapshot("acme/downloading", "eeee0001"));
        QVERIFY(test::addIncompleteBlob(hub(), "acme/downloading"));
        // acme/noconfig: weights only.
        QVERIFY(addSnapshot("acme/noconfig", "ffff0001", {"config.json"}));
    }

    void listsEverySnapshot()
    {
        const auto r = test::runCli({"list"}, env());
        QVERIFY2(r.exitCode == 0, qPrintable(r.errText()));
        const QString out = r.outText();
        QVERIFY2(out.contains(hub()), qPrintable(out));
        QVERIFY2(out.contains("missing shards: model-00002-of-00002.safetensors"), qPrintable(out));
        QVERIFY2(out.contains("links to missing blobs"), qPrintable(out));
        QVERIFY2(out.contains("a download is in progress"), qPrintable(out));
        QVERIFY2(out.contains("no config.json"), qPrintable(out));
        QCOMPARE(listed().size(), 7);
    }

    void reportsEachSnapshot_data()
    {
        QTest::addColumn<QString>("repo");
        QTest::addColumn<QString>("revision");
        QTest::addColumn<bool>("complete");
        QTest::addColumn<QString>("problem");
        QTest::newRow("complete on main") << "acme/tiny" << "aaaa1111" << true << "";
        QTest::newRow("missing shard") << "acme/tiny" << "bbbb2222" << false << "missing shards";
        QTest::newRow("dangling link") << "acme/dangling" << "dddd0001" << false << "links to missing blobs";
        QTest::newRow("download in progress") << "acme/downloading" << "eeee0001" << false << "download is in progress";
        QTest::newRow("no config") << "acme/noconfig" << "ffff0001" << false << "no config.json";
    }
    void reportsEachSnapshot()
    {
        QFETCH(QString, repo);
        QFETCH(QString, revision);
        QFETCH(bool, complete);
        QFETCH(QString, problem);
        const QJsonObject s = snapshot(repo, revision);
        QVERIFY2(!s.isEmpty(), "snapshot not listed");
        QCOMPARE(s.value("complete").toBool(), complete);
        QVERIFY2(s.value("problem").toString().contains(problem), qPrintable(s.value("problem").toString()));
        QVERIFY(s.value("formats").toArray().contains(QJsonValue("safetensors")));
        QVERIFY(s.value("bytes_on_disk").toDouble() > 0);
    }

    void problemKindsForCallersThatWordThem_data()
    {
        QTest::addColumn<QString>("repo");
        QTest::addColumn<QString>("revision");
        QTest::addColumn<int>("kind");
        QTest::addColumn<QStringList>("files");
        QTest::newRow("complete") << "acme/tiny" << "aaaa1111" << int(loader::SnapshotProblem::None) << QStringList();
        QTest::newRow("missing shard") << "acme/tiny" << "bbbb2222" << int(loader::SnapshotProblem::MissingShards)
                                       << QStringList{"model-00002-of-00002.safetensors"};
        QTest::newRow("dangling link") << "acme/dangling" << "dddd0001" << int(loader::SnapshotProblem::MissingBlobs) << QStringList{"*"};
        QTest::newRow("download in progress") << "acme/downloading" << "eeee0001" << int(loader::SnapshotProblem::Downloading) << QStringList();
        QTest::newRow("no config") << "acme/noconfig" << "ffff0001" << int(loader::SnapshotProblem::NoConfig) << QStringList();
    }
    void problemKindsForCallersThatWordThem()
    {
        // The GUI words the problem itself: the kind and the files it concerns, beside the English.
        QFETCH(QString, repo);
        QFETCH(QString, revision);
        QFETCH(int, kind);
        QFETCH(QStringList, files);
        const auto models = loader::listCachedModels(hub().toStdString());
        const auto it = std::find_if(models.begin(), models.end(), [&](const loader::CachedModel &m) {
            return m.repoId == repo.toStdString() && m.revision == revision.toStdString();
        });
        QVERIFY(it != models.end());
        QCOMPARE(int(it->problemKind), kind);
        QCOMPARE(it->complete, kind == int(loader::SnapshotProblem::None));
        QCOMPARE(it->problem.empty(), it->complete);
        if (files == QStringList{"*"}) {
            QCOMPARE(it->problemFiles.size(), std::size_t(1)); // the one link whose blob was removed
        } else {
            QStringList got;
            for (const auto &f : it->problemFiles)
                got << QString::fromStdString(f);
            QCOMPARE(got, files);
        }
    }

    void sizeCountsTheBlobsLinked()
    {
        // The complete snapshot links to every demo file: its size is theirs, each counted once.
        qint64 expected = 0;
        for (const QFileInfo &f : QDir(m_demo).entryInfoList(QDir::Files))
            expected += f.size();
        QCOMPARE(qint64(snapshot("acme/tiny", "aaaa1111").value("bytes_on_disk").toDouble()), expected);
        QVERIFY(qint64(snapshot("acme/tiny", "bbbb2222").value("bytes_on_disk").toDouble()) < expected);
        QCOMPARE(snapshot("acme/tiny", "aaaa1111").value("refs").toArray(), QJsonArray{"main"});
    }

    void opensByRepoId_data()
    {
        QTest::addColumn<QString>("repo");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("words");
        QTest::newRow("refs/main's complete snapshot, not the newer broken one") << "acme/tiny" << 0 << "aaaa1111";
        QTest::newRow("the newest complete snapshot") << "acme/newest" << 0 << "cccc0002";
        QTest::newRow("only incomplete snapshots") << "acme/dangling" << 1 << "no complete snapshot";
        QTest::newRow("not cached") << "acme/absent" << 1 << "not in the Hugging Face cache";
    }
    void opensByRepoId()
    {
        QFETCH(QString, repo);
        QFETCH(int, exitCode);
        QFETCH(QString, words);
        const auto r = test::runCli({"plan", repo, "--max-memory", "0=100KiB,cpu=1GiB", "--json"}, env());
        QCOMPARE(r.exitCode, exitCode);
        if (exitCode == 0) {
            const QJsonObject j = QJsonDocument::fromJson(r.out).object();
            QVERIFY2(!j.value("device_map").toObject().isEmpty(), qPrintable(r.outText()));
            const std::optional<loader::CachedModel> found = [&] {
                qputenv("HF_HUB_CACHE", hub().toUtf8());
                auto m = loader::findCachedModel(repo.toStdString());
                qunsetenv("HF_HUB_CACHE");
                return m;
            }();
            QVERIFY(found);
            QCOMPARE(QString::fromStdString(found->revision), words);
        } else {
            QVERIFY2(r.errText().contains(words) && r.errText().contains(repo), qPrintable(r.errText()));
        }
    }

    void repoIds_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<bool>("id");
        QTest::newRow("org/name") << "meta-llama/Llama-3.1-8B" << true;
        QTest::newRow("dots and underscores") << "a_b/c.d" << true;
        QTest::newRow("no org") << "gpt2" << false;
        QTest::newRow("three parts") << "a/b/c" << false;
        QTest::newRow("climbs") << "../x" << false;
        QTest::newRow("empty part") << "a/" << false;
        QTest::newRow("space") << "a b/c" << false;
    }
    void repoIds()
    {
        QFETCH(QString, text);
        QFETCH(bool, id);
        QCOMPARE(loader::looksLikeRepoId(text.toStdString()), id);
    }

    void noCacheIsNotAnError()
    {
        QProcessEnvironment e = env();
        e.insert("HF_HUB_CACHE", m_dir.filePath("nowhere"));
        const auto r = test::runCli({"list"}, e);
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.outText().contains("No Hugging Face cache"), qPrintable(r.outText()));
    }
};

QTEST_GUILESS_MAIN(TestHfCache)
#include "tst_hfcache.moc"
