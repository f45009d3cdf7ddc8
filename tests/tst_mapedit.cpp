// planner/mapedit: moving modules in a device map (the GUI's edits and `mizan-cli edit`) and
// resolving which device every module ends up on.
#include "planner/error.h"
#include "planner/jsonfile.h"
#include "planner/mapedit.h"
#include "planner/validate.h"

#include <QtTest>

#include "testutil.h"

using namespace mizan;
using namespace mizan::planner;

namespace {

// model.embed, model.layers.{0,1,2}.{attn,mlp}, model.norm, head: every leaf has one weight.
ModuleTree smallTree()
{
    std::vector<std::pair<std::string, Tensor>> tensors;
    auto add = [&](const std::string &name) { tensors.push_back({name, Tensor{"weight", DType::F32, {4, 4}}}); };
    add("model.embed.weight");
    for (int i = 0; i < 3; ++i) {
        add("model.layers." + std::to_string(i) + ".attn.weight");
        add("model.layers." + std::to_string(i) + ".mlp.weight");
    }
    add("model.norm.weight");
    add("head.weight");
    return ModuleTree::fromTensorNames(tensors);
}

DeviceMap parseMap(const QString &text)
{
    DeviceMap map;
    for (const QString &entry : text.split(QLatin1Char(' '), Qt::SkipEmptyParts)) {
        const auto eq = entry.lastIndexOf(QLatin1Char('='));
        const QString key = entry.left(eq);
        map.emplace_back(key == QLatin1String(".") ? std::string() : key.toStdString(), Device::fromString(entry.mid(eq + 1).toStdString()));
    }
    return map;
}

QString mapText(const DeviceMap &map)
{
    QStringList out;
    for (const auto &[key, device] : map)
        out << QString::fromStdString((key.empty() ? std::string(".") : key) + "=" + device.toString());
    return out.join(QLatin1Char(' '));
}

} // namespace

class TestMapEdit : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void moves_data()
    {
        QTest::addColumn<QString>("map");
        QTest::addColumn<QString>("module");
        QTest::addColumn<QString>("device");
        QTest::addColumn<QString>("expected");
        const QString base = "model.embed=0 model.layers.0=0 model.layers.1=1 model.layers.2=1 model.norm=cpu head=cpu";
        QTest::newRow("key changes device") << base << "model.layers.1" << "cpu"
                                            << "model.embed=0 model.layers.0=0 model.layers.1=cpu model.layers.2=1 model.norm=cpu head=cpu";
        QTest::newRow("split a key above") << base << "model.layers.0.mlp" << "disk"
                                           << "model.embed=0 model.layers.0.attn=0 model.layers.0.mlp=disk model.layers.1=1 "
                                              "model.layers.2=1 model.norm=cpu head=cpu";
        QTest::newRow("absorb keys below") << base << "model.layers" << "1"
                                           << "model.embed=0 model.layers=1 model.norm=cpu head=cpu";
        QTest::newRow("split two levels") << "model=0 head=cpu" << "model.layers.2.attn" << "1"
                                          << "model.embed=0 model.layers.0=0 model.layers.1=0 model.layers.2.attn=1 "
                                             "model.layers.2.mlp=0 model.norm=0 head=cpu";
        QTest::newRow("whole model") << base << "." << "cpu" << ".=cpu";
        QTest::newRow("split the root") << ".=0" << "head" << "cpu" << "model=0 head=cpu";
        QTest::newRow("absorb tensor keys") << "model.embed.weight=0 model.layers=1 model.norm=cpu head=cpu" << "model.embed" << "cpu"
                                            << "model.embed=cpu model.layers=1 model.norm=cpu head=cpu";
        QTest::newRow("not in the map yet") << "model=0" << "head" << "cpu" << "model=0 head=cpu";
    }
    void moves()
    {
        QFETCH(QString, map);
        QFETCH(QString, module);
        QFETCH(QString, device);
        QFETCH(QString, expected);
        const ModuleTree tree = smallTree();
        const std::string name = module == QLatin1String(".") ? std::string() : module.toStdString();
        const DeviceMap out = moveModule(tree, parseMap(map), name, Device::fromString(device.toStdString()));
        QCOMPARE(mapText(out), expected);
        // A moved map covers every tensor exactly once: validation finds no error.
        PlanOptions options;
        const auto issues = validate(tree, out, options);
        for (const auto &i : issues)
            QVERIFY2(i.severity != Severity::Error, i.message().c_str());
    }

    void refusesUnknownNames_data()
    {
        QTest::addColumn<QString>("module");
        QTest::addColumn<QString>("message");
        QTest::newRow("unknown") << "model.layers.9" << "\"model.layers.9\" is not a module of this model";
        QTest::newRow("tensor") << "model.norm.weight" << "it is a tensor of \"model.norm\"";
    }
    void refusesUnknownNames()
    {
        QFETCH(QString, module);
        QFETCH(QString, message);
        const ModuleTree tree = smallTree();
        const auto error = test::errorOf([&] { moveModule(tree, parseMap("model=0 head=cpu"), module.toStdString(), Device::cpu()); });
        QVERIFY(error);
        QCOMPARE(error->kind(), ErrorKind::InvalidArgument);
        QVERIFY2(QString::fromStdString(error->message()).contains(message), error->what());
    }

    void resolvesDevices()
    {
        const ModuleTree tree = smallTree();
        const DeviceMap map = parseMap("model.embed=0 model.layers.0=0 model.layers.1.attn=1 model.layers.1.mlp=cpu "
                                       "model.layers.2=1 model.norm=cpu head.weight=cpu");
        const ResolvedDevices r = resolveDevices(tree, map);
        auto deviceOf = [&](const char *name) { return r.device[static_cast<std::size_t>(tree.find(name))]; };
        QCOMPARE(deviceOf("model.layers.0.mlp"), std::optional<Device>(Device::gpu(0)));
        QCOMPARE(deviceOf("model.layers.1"), std::optional<Device>());      // on GPU 1 and the CPU
        QCOMPARE(deviceOf("head"), std::optional<Device>(Device::cpu()));   // its only tensor is on the CPU
        QCOMPARE(deviceOf(""), std::optional<Device>());
        const auto &spread = r.spread[static_cast<std::size_t>(tree.find("model.layers.1"))];
        QCOMPARE(spread.size(), std::size_t(2));
        QVERIFY(r.isKey[static_cast<std::size_t>(tree.find("model.layers.2"))]);
        QVERIFY(!r.isKey[static_cast<std::size_t>(tree.find("head"))]);
    }

    // Map and plan files keep their key order, read in linear time (a device map of 200,000 keys),
    // and a repeated key keeps its first place with the last value, as nlohmann's parser does.
    void jsonFilesKeepOrderInLinearTime()
    {
        const auto parsed = planner::parseJsonText(R"({"b": 1, "a": {"z": [1, {"y": 2, "x": 3}], "c": null}, "b": 7, "0": "s"})", "t.json");
        QCOMPARE(QString::fromStdString(parsed.dump()), QStringLiteral(R"({"b":7,"a":{"z":[1,{"y":2,"x":3}],"c":null},"0":"s"})"));
        std::string big = "{";
        for (int i = 0; i < 200000; ++i)
            big += (i ? ",\"k" : "\"k") + std::to_string(199999 - i) + "\": " + std::to_string(i);
        big += "}";
        const auto many = planner::parseJsonText(big, "big.json");
        QCOMPARE(many.size(), std::size_t(200000));
        QCOMPARE(QString::fromStdString(many.begin().key()), QStringLiteral("k199999"));
        const auto &last = many.get_ref<const nlohmann::ordered_json::object_t &>().back();
        QCOMPARE(QString::fromStdString(last.first), QStringLiteral("k0"));
        QCOMPARE(last.second.get<int>(), 199999);
        // A key three times, and repeats in an object large enough to be entered in one batch
        // (the keys are entered when the object closes): first place, last value, nothing else moves.
        const auto thrice = planner::parseJsonText(R"({"a": 1, "b": {"x": 1, "x": 2}, "a": 2, "c": 3, "a": {"d": 4}})", "t.json");
        QCOMPARE(QString::fromStdString(thrice.dump()), QStringLiteral(R"({"a":{"d":4},"b":{"x":2},"c":3})"));
        std::string repeats = "{";
        for (int i = 0; i < 100000; ++i)
            repeats += (i ? ",\"k" : "\"k") + std::to_string(i % 60000) + "\": " + std::to_string(i);
        repeats += "}";
        const auto kept = planner::parseJsonText(repeats, "repeats.json");
        QCOMPARE(kept.size(), std::size_t(60000));
        int at = 0;
        for (const auto &[key, value] : kept.items()) {
            QCOMPARE(QString::fromStdString(key), QStringLiteral("k%1").arg(at));
            QCOMPARE(value.get<int>(), at < 40000 ? at + 60000 : at);
            ++at;
        }
        // Syntax errors still name the byte.
        const auto error = mizan::test::errorOf([] { (void)planner::parseJsonText(R"({"a": 1,})", "bad.json"); });
        QVERIFY(error);
        QVERIFY2(QString::fromStdString(error->message()).startsWith(QStringLiteral("invalid JSON at byte 8")), error->what());
    }
};

QTEST_GUILESS_MAIN(TestMapEdit)
#include "tst_mapedit.moc"
