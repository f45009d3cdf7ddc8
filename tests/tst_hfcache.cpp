// The Hugging Face cache as huggingface_hub lays it out (blobs, snapshots of links, refs), built in
// a temporary folder from a demo checkpoint: `mizan-cli list [--json]` and ORG/NAME wherever a
// checkpoint path is taken; incomplete snapshots (a missing shard, a link to a missing blob, a
// download in progress, no config) are reported, never crashed on, and never opened.

#include "testutil.h"

#include "loader/hfcache.h"

#include <QCryptographicHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <sys/stat.h>
#include <utime.h>

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

    // models--org--name with the demo's files as blobs, linked from snapshot `revision`; `skip`
    // names files left out of the snapshot, `mtime` its folder's modification time.
    bool addSnapshot(const QString &repo, const QString &revision, const QStringList &skip = {}, qint64 mtime = 0)
    {
        const QString root = hub() + "/models--" + QString(repo).replace('/', "--");
        const QString snapshot = root + "/snapshots/" + revision;
        if (!QDir().mkpath(root + "/blobs") || !QDir().mkpath(snapshot) || !QDir().mkpath(root + "/refs"))
            return false;
        for (const QString &f : QDir(m_demo).entryList(QDir::Files)) {
            if (skip.contains(f))
                continue;
            QFile in(m_demo + "/" + f);
            if (!in.open(QIODevice::ReadOnly))
                return false;
            const QString hash = QCryptographicHash::hash(in.readAll(), QCryptographicHash::Sha1).toHex();
            const QString blob = root + "/blobs/" + hash;
            if (!QFile::exists(blob) && !QFile::copy(m_demo + "/" + f, blob))
                return false;
            // Relative, as huggingface_hub links them: up from snapshots/<revision> to blobs.
            const QString up = QStringLiteral("..") + '/' + QStringLiteral("..") + '/';
            if (!QFile::link(up + "blobs/" + hash, snapshot + "/" + f))
                return false;
        }
        if (mtime) {
            struct utimbuf t {static_cast<time_t>(mtime), static_cast<time_t>(mtime)};
            ::utime(qPrintable(snapshot), &t);
        }
        return true;
    }

    bool setRef(const QString &repo, const QString &branch, const QString &revision)
    {
        return test::writeFile(hub() + "/models--" + QString(repo).replace('/', "--") + "/refs/" + branch, revision.toUtf8());
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
        QVERIFY(test::writeFile(hub() + "/models--acme--downloading/blobs/0123.incomplete", "partial"));
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
