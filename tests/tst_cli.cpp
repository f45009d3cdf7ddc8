// Runs the built mizan-cli binary as a user would and checks its output and exit codes.
#include <QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include "testutil.h"

using mizan::test::CliRun;
using mizan::test::runCli;

class TestCli : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    QString m_demo;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_demo = m_dir.filePath(QStringLiteral("demo"));
        const CliRun r = mizan::test::makeDemo(m_demo);
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY(QFile::exists(m_demo + QStringLiteral("/config.json")));
        QVERIFY(QFile::exists(m_demo + QStringLiteral("/model.safetensors.index.json")));
    }

    void inspectJsonDescribesTheDemo()
    {
        const CliRun r = runCli({QStringLiteral("inspect"), m_demo, QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QJsonParseError pe;
        const auto doc = QJsonDocument::fromJson(r.out, &pe);
        QVERIFY2(pe.error == QJsonParseError::NoError, qPrintable(pe.errorString()));
        const auto o = doc.object();
        QCOMPARE(o[QStringLiteral("format")].toString(), QStringLiteral("mizan-inspect"));
        QCOMPARE(o[QStringLiteral("version")].toInt(), 1);
        QCOMPARE(o[QStringLiteral("checkpoint_format")].toString(), QStringLiteral("sharded-safetensors"));
        QVERIFY(o[QStringLiteral("shards")].toArray().size() >= 2);
        QCOMPARE(o[QStringLiteral("architecture")].toString(), QStringLiteral("LlamaForCausalLM"));
        const auto modules = o[QStringLiteral("modules")].toArray();
        QVERIFY(modules.size() > 10);
        // The root is first and its byte count equals the total; sizes add up over its children.
        const auto root = modules.first().toObject();
        QCOMPARE(root[QStringLiteral("name")].toString(), QString());
        QCOMPARE(root[QStringLiteral("bytes")].toInteger(), o[QStringLiteral("total_bytes")].toInteger());
        qint64 children = 0;
        for (const auto &m : modules)
            if (m.toObject()[QStringLiteral("depth")].toInt() == 1)
                children += m.toObject()[QStringLiteral("bytes")].toInteger();
        QCOMPARE(children, root[QStringLiteral("bytes")].toInteger());
        // Layers come in numeric order and carry the registry's class.
        QStringList layerNames;
        for (const auto &m : modules) {
            const auto mo = m.toObject();
            if (mo[QStringLiteral("class")].toString() == QStringLiteral("LlamaDecoderLayer"))
                layerNames << mo[QStringLiteral("name")].toString();
        }
        QVERIFY(layerNames.size() >= 2);
        QCOMPARE(layerNames.first(), QStringLiteral("model.layers.0"));
        QCOMPARE(layerNames.at(1), QStringLiteral("model.layers.1"));
        QVERIFY(o[QStringLiteral("no_split_classes")].toArray().contains(QStringLiteral("LlamaDecoderLayer")));
    }

    void inspectDtypeOverrideHalvesFloat32()
    {
        const CliRun a = runCli({QStringLiteral("inspect"), m_demo, QStringLiteral("--json"), QStringLiteral("--dtype"), QStringLiteral("float32")});
        const CliRun b = runCli({QStringLiteral("inspect"), m_demo, QStringLiteral("--json"), QStringLiteral("--dtype"), QStringLiteral("float8_e4m3fn")});
        QCOMPARE(a.exitCode, 0);
        QCOMPARE(b.exitCode, 0);
        const auto ta = QJsonDocument::fromJson(a.out).object()[QStringLiteral("total_bytes")].toInteger();
        const auto tb = QJsonDocument::fromJson(b.out).object()[QStringLiteral("total_bytes")].toInteger();
        QVERIFY(ta > 0);
        QVERIFY(tb < ta); // every weight is floating: fp8 is smaller than the stored type
    }

    void inspectTextShowsTree()
    {
        const CliRun r = runCli({QStringLiteral("inspect"), m_demo, QStringLiteral("--depth"), QStringLiteral("2")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains("Module"));
        QVERIFY(r.out.contains("layers"));
        QVERIFY(r.out.contains("Total"));
        QVERIFY(!r.out.contains("q_proj")); // below depth 2
    }

    void usageErrors_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::newRow("no command") << QStringList{};
        QTest::newRow("unknown command") << QStringList{QStringLiteral("frobnicate")};
        QTest::newRow("inspect without path") << QStringList{QStringLiteral("inspect")};
        QTest::newRow("unknown option") << QStringList{QStringLiteral("inspect"), QStringLiteral("x"), QStringLiteral("--bogus")};
        QTest::newRow("bad dtype") << QStringList{QStringLiteral("inspect"), QStringLiteral("x"), QStringLiteral("--dtype"), QStringLiteral("float7")};
        QTest::newRow("bad depth") << QStringList{QStringLiteral("inspect"), QStringLiteral("x"), QStringLiteral("--depth"), QStringLiteral("two")};
        QTest::newRow("missing value") << QStringList{QStringLiteral("inspect"), QStringLiteral("x"), QStringLiteral("--depth")};
    }
    void usageErrors()
    {
        QFETCH(QStringList, args);
        const CliRun r = runCli(args);
        QCOMPARE(r.exitCode, 2);
        QVERIFY(!r.err.isEmpty());
    }

    void loadErrorsExitOne()
    {
        const QString bad = m_dir.filePath(QStringLiteral("broken.safetensors"));
        QFile f(bad);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("\x10\x00\x00\x00\x00\x00\x00\x00{not json", 17);
        f.close();
        const CliRun r = runCli({QStringLiteral("inspect"), bad});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("broken.safetensors"), r.err.constData());
        const CliRun missing = runCli({QStringLiteral("inspect"), m_dir.filePath(QStringLiteral("nope"))});
        QCOMPARE(missing.exitCode, 1);
    }

    void helpWorks()
    {
        const CliRun r = runCli({QStringLiteral("--help")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains("inspect"));
        const CliRun h = runCli({QStringLiteral("inspect"), QStringLiteral("--help")});
        QCOMPARE(h.exitCode, 0);
        QVERIFY(h.out.contains("--depth"));
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
