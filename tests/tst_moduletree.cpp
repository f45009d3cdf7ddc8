#include "planner/accelerate.h"
#include "planner/error.h"
#include "planner/moduletree.h"

#include <nlohmann/json.hpp>

#include <QtTest>

#include <map>
#include <set>
#include <random>
#include <type_traits>
#include <algorithm>
#include <cstdio>

using namespace mizan;
using namespace mizan::planner;

namespace {

Tensor t(DType d, std::vector<std::int64_t> shape, bool buffer = false)
{
    Tensor x;
    x.dtype = d;
    x.shape = std::move(shape);
    x.buffer = buffer;
    return x;
}

// Pre-order by recursion over the children lists, the definition preorder() must match.
void walk(const ModuleTree &tree, int id, std::vector<int> &out)
{
    out.push_back(id);
    for (int c : tree.module(id).children)
        walk(tree, c, out);
}

// A tree from full module names made in the given order (ensureModule: missing ancestors first,
// each a new last child), each module holding a float32 weight of 4 elements.
ModuleTree treeOf(const QStringList &modules)
{
    ModuleTree tree;
    for (const QString &name : modules) {
        Tensor w = t(DType::F32, {4});
        w.name = "weight";
        tree.addTensor(tree.ensureModule(name.toStdString()), w);
    }
    return tree;
}

std::vector<std::string> childNames(const ModuleTree &tree, const std::string &name)
{
    std::vector<std::string> out;
    for (int c : tree.module(tree.find(name)).children)
        out.push_back(tree.module(c).localName);
    return out;
}

// Does the flat layout say what the records say? Every field against its definition.
void checkFlatAgrees(const ModuleTree &tree)
{
    const auto flat = tree.flat();
    const FlatTree &f = *flat;
    QCOMPARE(f.size(), tree.size());
    std::vector<int> pre;
    walk(tree, ModuleTree::kRoot, pre);
    QCOMPARE(std::vector<int>(f.order.begin(), f.order.end()), pre);
    std::int64_t tensors = 0, tied = 0;
    for (int id = 0; id < tree.size(); ++id) {
        const Module &m = tree.module(id);
        const auto i = static_cast<std::size_t>(id);
        QCOMPARE(f.parent[i], m.parent);
        QCOMPARE(f.depth[i], m.depth);
        QCOMPARE(f.order[static_cast<std::size_t>(f.position[i])], id);
        std::vector<int> subtree;
        walk(tree, id, subtree);
        QCOMPARE(f.end[i] - f.position[i], static_cast<int>(subtree.size()));
        QCOMPARE(std::vector<int>(f.childrenOf(id), f.childrenOf(id) + f.childCount(id)), m.children);
        QCOMPARE(f.classNames[static_cast<std::size_t>(f.classId[i])], m.className);
        QCOMPARE(f.paramCount[i], static_cast<int>(m.params.size()));
        QCOMPARE(f.nameSize[i], static_cast<std::uint32_t>(m.name.size()));
        QCOMPARE(std::string(f.localName(id)), m.localName);
        QCOMPARE(f.tensorBegin[i], tensors);
        QCOMPARE(f.tensorsOf(id), static_cast<int>(m.params.size() + m.buffers.size()));
        for (int slot = 0; slot < f.tensorsOf(id); ++slot) {
            const Tensor &x = tree.tensor({id, slot});
            const std::size_t k = f.tensorAt(id, slot);
            QCOMPARE(f.numel[k], x.numel());
            QCOMPARE(f.dtype[k], x.dtype);
            QCOMPARE(f.tie[k], x.tie);
            QCOMPARE(f.localNameSize[k], static_cast<std::uint32_t>(x.name.size()));
            QCOMPARE((f.flags[k] & FlatTree::kBuffer) != 0, x.buffer);
            QCOMPARE((f.flags[k] & FlatTree::kPersistent) != 0, x.persistent);
            QCOMPARE((f.flags[k] & FlatTree::kFixedDtype) != 0, x.fixedDtype);
            tied += x.tie >= 0;
        }
        tensors += f.tensorsOf(id);
    }
    QCOMPARE(f.tensorBegin.back(), tensors);
    QCOMPARE(f.tensors(), tensors);
    QCOMPARE(f.tiedTensors, tied);
    // Class ids: one per distinct name.
    QCOMPARE(std::set<std::string>(f.classNames.begin(), f.classNames.end()).size(), f.classNames.size());
}

} // namespace

class TestModuleTree : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void numericAwareOrdering_data()
    {
        QTest::addColumn<QString>("a");
        QTest::addColumn<QString>("b");
        QTest::addColumn<bool>("less");
        QTest::newRow("2<10") << "layers.2" << "layers.10" << true;
        QTest::newRow("10>2") << "layers.10" << "layers.2" << false;
        QTest::newRow("equal") << "layers.3" << "layers.3" << false;
        QTest::newRow("prefix") << "model" << "model.layers" << true;
        QTest::newRow("text") << "a.mlp" << "a.self_attn" << true;
        QTest::newRow("deep") << "h.9.attn" << "h.10.attn" << true;
        QTest::newRow("leading zero text vs num") << "x.01" << "x.2" << true;
    }
    void numericAwareOrdering()
    {
        QFETCH(QString, a);
        QFETCH(QString, b);
        QFETCH(bool, less);
        QCOMPARE(numericAwareLess(a.toStdString(), b.toStdString()), less);
    }

    void buildsPrefixesInFirstAppearanceWithNumericSiblings()
    {
        std::vector<std::pair<std::string, Tensor>> names;
        for (const char *n : {"lm_head.weight", "model.layers.10.mlp.w", "model.layers.2.mlp.w",
                              "model.layers.0.mlp.w", "model.embed_tokens.weight", "model.norm.weight"})
            names.emplace_back(n, t(DType::F16, {4}));
        const auto tree = ModuleTree::fromTensorNames(names);
        QCOMPARE(childNames(tree, ""), (std::vector<std::string>{"lm_head", "model"}));
        QCOMPARE(childNames(tree, "model"), (std::vector<std::string>{"layers", "embed_tokens", "norm"}));
        QCOMPARE(childNames(tree, "model.layers"), (std::vector<std::string>{"0", "2", "10"}));
        QVERIFY(tree.find("model.layers.10.mlp") > 0);
        QCOMPARE(tree.find("model.layers.10.mlp.w"), -1); // tensors are not modules
        QCOMPARE(tree.module(tree.find("model.layers.2.mlp")).params.front().name, std::string("w"));
    }

    // The name index (an open-addressing table that grows as modules are added): every module is
    // found by its full name in a tree of thousands, copies and moves keep it, and of two modules
    // with one name (a JSON tree may hold them) find() answers the first, as before.
    void findsEveryModuleByName()
    {
        ModuleTree tree;
        std::vector<int> ids;
        const int layers = tree.addChild(ModuleTree::kRoot, "layers");
        for (int i = 0; i < 3000; ++i) {
            const int layer = tree.addChild(layers, std::to_string(i), "Block");
            ids.push_back(tree.addChild(layer, "mlp"));
        }
        ModuleTree copy = tree;
        const ModuleTree moved = std::move(copy);
        for (const ModuleTree *t : std::initializer_list<const ModuleTree *>{&tree, &moved}) {
            QCOMPARE(t->find(""), ModuleTree::kRoot);
            QCOMPARE(t->find("layers"), layers);
            for (int i = 0; i < 3000; ++i) {
                QCOMPARE(t->find("layers." + std::to_string(i) + ".mlp"), ids[static_cast<std::size_t>(i)]);
                QCOMPARE(t->find("layers." + std::to_string(i)), t->module(ids[static_cast<std::size_t>(i)]).parent);
            }
            QCOMPARE(t->find("layers.3000"), -1);
            QCOMPARE(t->find("layers.0.mlp.x"), -1);
            QCOMPARE(t->find("mlp"), -1);
        }
        const int first = tree.addChild(ModuleTree::kRoot, "twice");
        for (int i = 0; i < 100; ++i) // growing the table re-enters both
            tree.addChild(first, std::to_string(i));
        const int second = tree.addChild(ModuleTree::kRoot, "twice");
        QVERIFY(second != first);
        QCOMPARE(tree.find("twice"), first);
        for (int i = 0; i < 5000; ++i)
            tree.addChild(second, std::to_string(i));
        QCOMPARE(tree.find("twice"), first);
        QCOMPARE(tree.find("twice.4999"), tree.size() - 1);
    }

    void aggregatesToEveryPrefix()
    {
        std::vector<std::pair<std::string, Tensor>> names{
            {"a.x.weight", t(DType::F32, {3, 4})},   // 48
            {"a.x.bias", t(DType::F32, {4})},        // 16
            {"a.y.weight", t(DType::F16, {10})},     // 20
            {"b.count", t(DType::I64, {}, true)},    // 8, buffer
        };
        const auto tree = ModuleTree::fromTensorNames(names);
        const auto s = aggregateSizes(tree);
        QCOMPARE(s.totalBytes(), 92);
        QCOMPARE(s.bytes[tree.find("a")], 84);
        QCOMPARE(s.bytes[tree.find("a.x")], 64);
        QCOMPARE(s.bytes[tree.find("b")], 8);
        QCOMPARE(s.parameters[0], 12 + 4 + 10);
        QCOMPARE(s.bufferBytes[0], 8);
        QCOMPARE(s.bytesByDtype.size(), std::size_t(3));
    }

    // The dtype a tensor is counted in under a load dtype, for both meanings of it.
    void dtypeOverride_data()
    {
        QTest::addColumn<int>("own");
        QTest::addColumn<bool>("fixed");   // made with an explicit dtype (rotary inv_freq)
        QTest::addColumn<int>("target");
        QTest::addColumn<int>("rule");
        QTest::addColumn<int>("expected");
        const int tf = int(DtypeRule::Transformers), acc = int(DtypeRule::AccelerateNeverGrow);
        // Accelerate's dtype argument: floating tensors shrink, never grow.
        QTest::newRow("acc f32->f16 shrinks") << int(DType::F32) << false << int(DType::F16) << acc << int(DType::F16);
        QTest::newRow("acc f16->f32 never grows") << int(DType::F16) << false << int(DType::F32) << acc << int(DType::F16);
        QTest::newRow("acc bf16->f16 same size keeps own") << int(DType::BF16) << false << int(DType::F16) << acc << int(DType::BF16);
        QTest::newRow("acc i64 kept") << int(DType::I64) << false << int(DType::F16) << acc << int(DType::I64);
        QTest::newRow("acc bool kept") << int(DType::Bool) << false << int(DType::F16) << acc << int(DType::Bool);
        QTest::newRow("acc u8 kept") << int(DType::U8) << false << int(DType::F8_E4M3) << acc << int(DType::U8);
        QTest::newRow("acc f32->f8") << int(DType::F32) << false << int(DType::F8_E4M3) << acc << int(DType::F8_E4M3);
        // transformers' torch_dtype: the model is instantiated in it.
        QTest::newRow("tf f16->f32 grows") << int(DType::F16) << false << int(DType::F32) << tf << int(DType::F32);
        QTest::newRow("tf f32->f16 shrinks") << int(DType::F32) << false << int(DType::F16) << tf << int(DType::F16);
        QTest::newRow("tf bf16->f16 converted") << int(DType::BF16) << false << int(DType::F16) << tf << int(DType::F16);
        QTest::newRow("tf f16->f64 grows") << int(DType::F16) << false << int(DType::F64) << tf << int(DType::F64);
        QTest::newRow("tf f8 checkpoint->bf16") << int(DType::F8_E4M3) << false << int(DType::BF16) << tf << int(DType::BF16);
        QTest::newRow("tf i64 kept") << int(DType::I64) << false << int(DType::F32) << tf << int(DType::I64);
        QTest::newRow("tf bool kept") << int(DType::Bool) << true << int(DType::F32) << tf << int(DType::Bool);
        // Complex tensors keep their dtype in the instantiated model; Accelerate, called with
        // dtype=torch_dtype, then counts them at no more than that.
        QTest::newRow("tf complex counted as Accelerate does") << int(DType::C64) << false << int(DType::F32) << tf << int(DType::F32);
        QTest::newRow("tf fixed f32 buffer, f16 load") << int(DType::F32) << true << int(DType::F16) << tf << int(DType::F16);
        QTest::newRow("tf fixed f32 buffer, f32 load") << int(DType::F32) << true << int(DType::F32) << tf << int(DType::F32);
        QTest::newRow("tf fixed f32 buffer, f64 load") << int(DType::F32) << true << int(DType::F64) << tf << int(DType::F32);
        QTest::newRow("tf default-dtype f16 buffer, f64 load") << int(DType::F16) << false << int(DType::F64) << tf << int(DType::F64);
        QTest::newRow("tf int8 quantised target") << int(DType::BF16) << false << int(DType::I8) << tf << int(DType::I8);
    }
    void dtypeOverride()
    {
        QFETCH(int, own);
        QFETCH(bool, fixed);
        QFETCH(int, target);
        QFETCH(int, rule);
        QFETCH(int, expected);
        Tensor x = t(DType(own), {4});
        x.fixedDtype = fixed;
        QCOMPARE(int(loadedDtype(x, DType(target), DtypeRule(rule))), expected);
        QCOMPARE(int(loadedDtype(x, std::nullopt, DtypeRule(rule))), own);
    }

    void overrideAppliesToSizes()
    {
        std::vector<std::pair<std::string, Tensor>> names{
            {"l.weight", t(DType::F32, {100})},
            {"bn.num_batches_tracked", t(DType::I64, {}, true)},
        };
        const auto tree = ModuleTree::fromTensorNames(names);
        QCOMPARE(aggregateSizes(tree, DType::F16).totalBytes(), 200 + 8);
        QCOMPARE(aggregateSizes(tree, DType::F64).totalBytes(), 800 + 8);
        QCOMPARE(aggregateSizes(tree, DType::F64, DtypeRule::AccelerateNeverGrow).totalBytes(), 400 + 8);
        // A special dtype wins over the load dtype.
        QCOMPARE(aggregateSizes(tree, DType::F16, DtypeRule::Transformers, {{"l.weight", DType::F32}}).totalBytes(), 400 + 8);
    }

    void instantiatedTreeKeepsStructure()
    {
        ModuleTree tree;
        const int rot = tree.addChild(ModuleTree::kRoot, "rotary", "Rotary");
        Tensor inv = t(DType::F32, {8}, true);
        inv.name = "inv_freq";
        inv.persistent = false;
        inv.fixedDtype = true;
        tree.addTensor(rot, inv);
        Tensor w = t(DType::F16, {4, 4});
        w.name = "weight";
        tree.addTensor(tree.addChild(ModuleTree::kRoot, "proj", "Linear"), w);
        const ModuleTree loaded = instantiatedTree(tree, DType::F32);
        QCOMPARE(loaded.size(), tree.size());
        QCOMPARE(loaded.find("proj"), tree.find("proj"));
        QCOMPARE(int(loaded.module(loaded.find("proj")).params[0].dtype), int(DType::F32));
        QCOMPARE(int(loaded.module(rot).buffers[0].dtype), int(DType::F32));
        QVERIFY(loaded.module(rot).buffers[0].fixedDtype);
        // fixed_dtype survives the JSON form.
        const ModuleTree again = ModuleTree::fromJson(tree.toJson());
        QVERIFY(again.module(again.find("rotary")).buffers[0].fixedDtype);
        QVERIFY(!again.module(again.find("proj")).params[0].fixedDtype);
        nlohmann::json bad = tree.toJson();
        bad["children"][0]["buffers"][0]["fixed_dtype"] = "yes";
        QVERIFY_THROWS_EXCEPTION(Error, ModuleTree::fromJson(bad));
    }

    void tiedTensorsCountedOnce()
    {
        ModuleTree tree;
        const int a = tree.addChild(ModuleTree::kRoot, "embed", "Embedding");
        const int b = tree.addChild(ModuleTree::kRoot, "head", "Linear");
        Tensor w = t(DType::F32, {10, 4});
        w.name = "weight";
        w.tie = 0;
        tree.addTensor(a, w);
        tree.addTensor(b, w);
        const auto s = aggregateSizes(tree);
        QCOMPARE(s.totalBytes(), 160);
        QCOMPARE(s.bytes[b], 0);
        QCOMPARE(tree.tensorCount(), 1);
    }

    void largestLayerHonoursNoSplit()
    {
        std::vector<std::pair<std::string, Tensor>> names;
        for (int i = 0; i < 3; ++i) {
            names.emplace_back("m.layers." + std::to_string(i) + ".a.weight", t(DType::F32, {30}));
            names.emplace_back("m.layers." + std::to_string(i) + ".b.weight", t(DType::F32, {20}));
        }
        names.emplace_back("m.embed.weight", t(DType::F32, {50}));
        auto tree = ModuleTree::fromTensorNames(names);
        auto s = aggregateSizes(tree);
        auto plain = largestLayer(tree, s, {});
        QCOMPARE(plain.bytes, 200);
        QCOMPARE(plain.names, std::vector<std::string>{"m.embed"});
        for (int c : tree.module(tree.find("m.layers")).children)
            tree.module(c).className = "Block";
        auto blocks = largestLayer(tree, s, {"Block"});
        QCOMPARE(blocks.bytes, 200);
        QCOMPARE(blocks.names, (std::vector<std::string>{"m.layers.0", "m.layers.1", "m.layers.2", "m.embed"}));
    }

    void jsonRoundTrip()
    {
        const auto j = nlohmann::json::parse(R"({"name":"","class":"M","params":[],"buffers":[],"children":[
            {"name":"l","class":"Linear","params":[{"name":"weight","shape":[2,3],"dtype":"float16","tie":"a"}],"buffers":[],"children":[]},
            {"name":"k","class":"Linear","params":[{"name":"weight","shape":[2,3],"dtype":"float16","tie":"a"}],
             "buffers":[{"name":"n","shape":[],"dtype":"int64"}],"children":[]}]})");
        const auto tree = ModuleTree::fromJson(j);
        QCOMPARE(tree.size(), 3);
        QCOMPARE(tree.module(1).params[0].tie, tree.module(2).params[0].tie);
        const auto again = ModuleTree::fromJson(tree.toJson());
        QCOMPARE(again.toJson(), tree.toJson());
        QCOMPARE(aggregateSizes(again).totalBytes(), 12 + 8);
    }

    void jsonRejectsBadInput()
    {
        try {
            ModuleTree::fromJson(nlohmann::json::parse(R"({"params":[{"name":"w","dtype":"float77"}]})"));
            QFAIL("accepted an unknown dtype");
        } catch (const Error &e) {
            QCOMPARE(e.kind(), ErrorKind::UnknownDtype);
            QVERIFY(e.message().find("float77") != std::string::npos);
        }
        QVERIFY_THROWS_EXCEPTION(Error, ModuleTree::fromJson(nlohmann::json::parse(R"({"children":[{"class":"X"}]})")));
    }

    void resolvesMapKeys_data()
    {
        // A tree with a root tensor, a module named like a tensor path, params and buffers.
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("module");   // the module the key resolves to; "-" = unresolved
        QTest::addColumn<int>("tensor");       // slot, -1 = the module itself
        QTest::addColumn<QString>("tensorName");
        QTest::newRow("root") << "" << "" << -1 << "";
        QTest::newRow("module") << "model.layers.0" << "model.layers.0" << -1 << "";
        QTest::newRow("deep module") << "model.layers.0.mlp" << "model.layers.0.mlp" << -1 << "";
        QTest::newRow("param") << "model.layers.0.mlp.weight" << "model.layers.0.mlp" << 0 << "weight";
        QTest::newRow("second param") << "model.layers.0.mlp.bias" << "model.layers.0.mlp" << 1 << "bias";
        QTest::newRow("buffer after params") << "model.layers.0.mlp.scale" << "model.layers.0.mlp" << 2 << "scale";
        QTest::newRow("root tensor") << "logit_bias" << "" << 0 << "logit_bias";
        QTest::newRow("unknown tensor") << "model.layers.0.mlp.gamma" << "-" << -1 << "";
        QTest::newRow("unknown owner") << "model.layers.7.mlp.weight" << "-" << -1 << "";
        QTest::newRow("unknown top level") << "lm_head" << "-" << -1 << "";
        QTest::newRow("partial component") << "model.lay" << "-" << -1 << "";
        QTest::newRow("trailing dot") << "model." << "-" << -1 << "";
    }
    void resolvesMapKeys()
    {
        QFETCH(QString, key);
        QFETCH(QString, module);
        QFETCH(int, tensor);
        QFETCH(QString, tensorName);
        const auto tree = ModuleTree::fromTensorNames({{"model.layers.0.mlp.weight", t(DType::F16, {4, 4})},
                                                       {"model.layers.0.mlp.bias", t(DType::F16, {4})},
                                                       {"model.layers.0.mlp.scale", t(DType::F32, {1}, true)},
                                                       {"logit_bias", t(DType::F32, {4})}});
        const auto target = tree.resolveKey(key.toStdString());
        if (module == QLatin1String("-")) {
            QVERIFY(!target);
            return;
        }
        QVERIFY(target);
        QCOMPARE(tree.module(target->module).name, module.toStdString());
        QCOMPARE(target->tensor, tensor);
        QCOMPARE(target->isTensor(), tensor >= 0);
        if (target->isTensor()) {
            QCOMPARE(tree.tensor(*target).name, tensorName.toStdString());
            QCOMPARE(tree.tensorName(target->module, tree.tensor(*target)), key.toStdString());
        }
    }

    // Modules holding many tensors (a checkpoint of N top-level tensors) are searched through an
    // index past 16 tensors: every key must resolve as a scan of the lists would (first match,
    // params before buffers, each module its own names), including tensors added after the index.
    void resolvesKeysOfModulesWithManyTensors_data()
    {
        QTest::addColumn<int>("count");
        for (int n : {1, 15, 16, 17, 40, 3000})
            QTest::newRow(qPrintable(QString::number(n) + " tensors")) << n;
    }
    void resolvesKeysOfModulesWithManyTensors()
    {
        QFETCH(int, count);
        ModuleTree tree;
        const int other = tree.addChild(ModuleTree::kRoot, "m");
        for (int i = 0; i < count; ++i) {
            for (int owner : {ModuleTree::kRoot, other}) {
                Tensor p = t(DType::F16, {i + 1});
                p.name = "p" + std::to_string(i);
                tree.addTensor(owner, p);
                Tensor b = t(DType::F32, {i + 2}, true);
                b.name = i % 3 == 0 ? "p" + std::to_string(i) : "b" + std::to_string(i); // some buffers named like a param
                tree.addTensor(owner, b);
            }
            if (i % 5 == 0) { // a second param of the same name: the first one wins
                Tensor again = t(DType::BF16, {7});
                again.name = "p" + std::to_string(i);
                tree.addTensor(ModuleTree::kRoot, again);
            }
        }
        // The scan this must agree with.
        auto scan = [&](int owner, const std::string &local) -> int {
            const Module &m = tree.module(owner);
            for (std::size_t i = 0; i < m.params.size(); ++i)
                if (m.params[i].name == local)
                    return static_cast<int>(i);
            for (std::size_t i = 0; i < m.buffers.size(); ++i)
                if (m.buffers[i].name == local)
                    return static_cast<int>(m.params.size() + i);
            return -1;
        };
        int checked = 0;
        for (int owner : {ModuleTree::kRoot, other}) {
            const std::string prefix = owner == other ? "m." : "";
            for (int i = 0; i <= count; ++i) // i == count: a name nobody has
                for (const std::string &local : {"p" + std::to_string(i), "b" + std::to_string(i)}) {
                    const int expected = scan(owner, local);
                    const auto target = tree.resolveKey(prefix + local);
                    QCOMPARE(target.has_value(), expected >= 0);
                    if (target) {
                        QCOMPARE(target->module, owner);
                        QCOMPARE(target->tensor, expected);
                        QCOMPARE(tree.tensor(*target).name, local);
                        ++checked;
                    }
                }
        }
        QVERIFY(checked >= 2 * count);
    }

    // preorder() counts ids when they already are the pre-order and walks otherwise: both must
    // give the recursive walk's order, for the whole tree and for every subtree.
    void preorderFollowsChildren_data()
    {
        QTest::addColumn<QStringList>("modules");
        QTest::addColumn<bool>("sortNumeric");
        QTest::newRow("built in order") << QStringList{"a", "a.x", "a.x.p", "a.y", "b", "b.z", "c"} << false;
        QTest::newRow("child added to an earlier parent") << QStringList{"a", "a.x", "b", "a.y", "b.z", "a.x.q"} << false;
        QTest::newRow("deep then shallow") << QStringList{"a.b.c.d", "e", "a.f"} << false;
        QTest::newRow("root only") << QStringList{} << false;
        QTest::newRow("numbered siblings reordered") << QStringList{"layers.0.w", "layers.10.w", "layers.2.w", "norm"} << true;
        QTest::newRow("numbered siblings already in order") << QStringList{"layers.0.w", "layers.1.w", "layers.2.w", "norm"} << true;
        QTest::newRow("reordered, then a child added") << QStringList{"l.1", "l.0", "m"} << true;
    }
    void preorderFollowsChildren()
    {
        QFETCH(QStringList, modules);
        QFETCH(bool, sortNumeric);
        ModuleTree tree = treeOf(modules);
        if (sortNumeric) {
            tree.sortNumericChildren();
            if (QTest::currentDataTag() == QLatin1String("reordered, then a child added"))
                tree.addChild(tree.find("l.1"), "late");
        }
        for (int from = 0; from < tree.size(); ++from) {
            std::vector<int> expected;
            walk(tree, from, expected);
            QCOMPARE(tree.preorder(from), expected);
        }
        const ModuleTree copy = tree;
        std::vector<int> expected;
        walk(copy, ModuleTree::kRoot, expected);
        QCOMPARE(copy.preorder(), expected);
    }

    // The size map answers a key resolved on the tree by id when the tree's names are paths (no
    // dotted or empty local name, no two alike in a module: what torch allows) and by name
    // otherwise. With paths, each module's and tensor's bytes are what Accelerate's
    // compute_module_sizes gives: every counted tensor added to its full name and to each dotted
    // prefix of it (computed here by brute force), asked by id before any look-up by name builds
    // the name index. Without, a tensor's bytes by id are its name's, shared names summed.
    // ModuleTree::namesArePaths, kept by addChild and addTensor, against its definition checked by
    // brute force: every local name plain (not empty, no dot) and no two full names alike.
    void namesArePathsFollowsAdds_data()
    {
        QTest::addColumn<QString>("ops"); // ";"-separated: "m PARENT LOCAL" a child, "p MODULE NAME" a param, "b ..." a buffer
        QTest::addColumn<bool>("paths");
        QTest::newRow("plain") << "m - a;m a b;p a.b w;b a.b r;p - x" << true;
        QTest::newRow("dotted module") << "m - a;m a b.c" << false;
        QTest::newRow("empty module name") << "m - a;m a -" << false;
        QTest::newRow("dotted tensor") << "m - a;p a w.x" << false;
        QTest::newRow("empty tensor name") << "m - a;p a -" << false;
        QTest::newRow("two children, one name") << "m - a;m a b;m a b" << false;
        QTest::newRow("tensor, then a child of its name") << "m - a;p a x;m a x" << false;
        QTest::newRow("buffer, then a child of its name") << "m - a;b a x;m a x" << false;
        QTest::newRow("child, then a tensor of its name") << "m - a;m a x;p a x" << false;
        QTest::newRow("param and buffer of one name") << "m - a;p a x;b a x" << false;
        QTest::newRow("two params of one name") << "m - a;p a x;p a y;p a x" << false;
        QTest::newRow("same local name, other parents") << "m - a;m - b;m a x;m b x;p a y;p b y" << true;
        QTest::newRow("40 params apart") << "m - a;p a 40" << true;
        QTest::newRow("40 params, the 30th repeats one") << "m - a;p a 40 29=3" << false;
        QTest::newRow("40 params, the 10th repeats one") << "m - a;p a 40 9=3" << false;
        QTest::newRow("40 params, then a buffer like one") << "m - a;p a 40;b a p7" << false;
        QTest::newRow("40 params, then a child like one") << "m - a;p a 40;m a p33" << false;
        QTest::newRow("20 children, then a tensor apart") << "m - a;c a 20;p a w" << true;
        QTest::newRow("20 children, then a tensor like one") << "m - a;c a 20;p a c18" << false;
        QTest::newRow("root: 20 children, a tensor like one") << "c - 20;p - c17" << false;
    }
    void namesArePathsFollowsAdds()
    {
        QFETCH(QString, ops);
        QFETCH(bool, paths);
        ModuleTree tree;
        auto moduleOf = [&](const std::string &name) { return name == "-" ? ModuleTree::kRoot : tree.find(name); };
        auto local = [](const std::string &name) { return name == "-" ? std::string() : name; };
        for (const QString &op : ops.split(';')) {
            const QStringList f = op.split(' ');
            const std::string kind = f[0].toStdString(), where = f[1].toStdString(), name = f[2].toStdString();
            QVERIFY(moduleOf(where) >= 0);
            if (kind == "m") {
                tree.addChild(moduleOf(where), local(name));
            } else if (kind == "c") {
                for (int i = 0; i < std::stoi(name); ++i)
                    tree.addChild(moduleOf(where), "c" + std::to_string(i));
            } else if (std::isdigit(static_cast<unsigned char>(name[0]))) {
                // N params p0..p(N-1); "i=j": the i-th named like the j-th.
                int repeat = -1, like = -1;
                if (f.size() > 3)
                    std::sscanf(f[3].toUtf8().constData(), "%d=%d", &repeat, &like);
                for (int i = 0; i < std::stoi(name); ++i) {
                    Tensor x = t(DType::F32, {1});
                    x.name = "p" + std::to_string(i == repeat ? like : i);
                    tree.addTensor(moduleOf(where), x);
                }
            } else {
                Tensor x = t(DType::F32, {1}, kind == "b");
                x.name = local(name);
                tree.addTensor(moduleOf(where), x);
            }
        }
        // The definition.
        bool plain = true;
        std::set<std::string> full;
        std::size_t names = 0;
        for (int id = 0; id < tree.size(); ++id) {
            const Module &m = tree.module(id);
            if (id != ModuleTree::kRoot) {
                plain = plain && !m.localName.empty() && m.localName.find('.') == std::string::npos;
                full.insert(m.name);
                ++names;
            }
            for (const auto *list : {&m.params, &m.buffers})
                for (const Tensor &x : *list) {
                    plain = plain && !x.name.empty() && x.name.find('.') == std::string::npos;
                    full.insert(tree.tensorName(id, x));
                    ++names;
                }
        }
        QCOMPARE(plain && full.size() == names, paths);
        QCOMPARE(tree.namesArePaths(), paths);
        // A copy keeps it; the size map resolves by id exactly then.
        const ModuleTree copy = tree;
        QCOMPARE(copy.namesArePaths(), paths);
    }

    // KeyResolver gives what resolveKey gives for every key, whatever the keys' order, repeats and
    // unknown names, in trees whose names are paths or not.
    void keyResolverMatchesLookups_data()
    {
        QTest::addColumn<int>("tree");
        QTest::addColumn<QString>("order");
        for (int tree : {0, 1, 2, 3})
            for (const char *order : {"tree", "reversed", "shuffled", "with repeats and unknowns"})
                QTest::newRow((QString("tree %1, %2").arg(tree).arg(order)).toUtf8().constData()) << tree << QString(order);
    }
    void keyResolverMatchesLookups()
    {
        QFETCH(int, tree);
        QFETCH(QString, order);
        ModuleTree m;
        std::vector<std::pair<std::string, Tensor>> named;
        auto add = [&](const std::string &name, bool buffer = false) {
            Tensor x = t(DType::F32, {2}, buffer);
            named.emplace_back(name, x);
        };
        if (tree == 0 || tree == 1) {
            add("model.embed_tokens.weight");
            for (int l = 0; l < 12; ++l)
                for (const char *p : {"self_attn.q_proj.weight", "self_attn.k_proj.weight", "mlp.up_proj.weight", "mlp.up_proj.bias", "input_layernorm.weight"})
                    add("model.layers." + std::to_string(l) + "." + p);
            add("model.norm.weight");
            add("lm_head.weight");
            if (tree == 1)
                for (int i = 0; i < 30; ++i)
                    add("w" + std::to_string(i)); // top-level tensors: an indexed root
            m = ModuleTree::fromTensorNames(named);
        } else if (tree == 2) {
            // Not paths: "a" is a tensor of the root and a module.
            add("a");
            add("a.b");
            add("a.c.d");
            add("e.f");
            m = ModuleTree::fromTensorNames(named);
        } else {
            // Ids not in pre-order: a child added to an earlier parent.
            m = treeOf({"x.y", "z", "x.w"});
        }
        QCOMPARE(m.namesArePaths(), tree != 2);
        // Keys: every module and tensor in the tree's order.
        std::vector<std::string> keys;
        for (int id : m.preorder()) {
            keys.push_back(m.module(id).name);
            for (const auto *list : {&m.module(id).params, &m.module(id).buffers})
                for (const Tensor &x : *list)
                    keys.push_back(m.tensorName(id, x));
        }
        if (order == "reversed")
            std::reverse(keys.begin(), keys.end());
        else if (order == "shuffled")
            std::shuffle(keys.begin(), keys.end(), std::mt19937(7));
        else if (order != "tree") {
            const std::vector<std::string> base = keys;
            keys.clear();
            for (std::size_t i = 0; i < base.size(); ++i) {
                keys.push_back(base[i]);
                if (i % 3 == 0)
                    keys.push_back(base[i]);
                if (i % 5 == 0)
                    keys.push_back(base[i] + ".nothing");
                if (i % 7 == 0 && i > 0)
                    keys.push_back(base[i - 1]);
            }
        }
        KeyResolver resolve(m);
        int found = 0;
        for (const std::string &key : keys) {
            const auto expected = m.resolveKey(key), got = resolve(key);
            QVERIFY2(expected == got, key.c_str());
            found += got.has_value();
        }
        QVERIFY(found > 0);
    }

    void sizeMapByIdMatchesNames_data()
    {
        QTest::addColumn<int>("shape");
        QTest::addColumn<bool>("paths");
        QTest::newRow("paths") << 0 << true;
        QTest::newRow("tied weights") << 1 << true;
        QTest::newRow("dotted tensor name") << 2 << false;
        QTest::newRow("tensor named like a child module") << 3 << false;
        QTest::newRow("tensor with an empty name") << 4 << false;
        QTest::newRow("two children with one name") << 5 << false;
        QTest::newRow("many tensors, two alike") << 6 << false;
        QTest::newRow("many tensors, all apart") << 7 << true;
    }
    void sizeMapByIdMatchesNames()
    {
        QFETCH(int, shape);
        QFETCH(bool, paths);
        ModuleTree tree = treeOf({"model.embed", "model.layers.0.mlp", "model.layers.1.mlp", "lm_head"});
        Tensor buf = t(DType::F16, {3}, true);
        buf.name = "buf";
        tree.addTensor(tree.find("model.layers.0"), buf);
        switch (shape) {
        case 1: {
            Tensor a = t(DType::F32, {8}), b = t(DType::F32, {8});
            a.name = b.name = "tied";
            a.tie = b.tie = 7;
            tree.addTensor(tree.find("model.embed"), a);
            tree.addTensor(tree.find("lm_head"), b);
            break;
        }
        case 2: {
            Tensor x = t(DType::F32, {5});
            x.name = "mlp.weight"; // full name model.layers.1.mlp.weight, a second key beside the module's own
            tree.addTensor(tree.find("model.layers.1"), x);
            break;
        }
        case 3: {
            Tensor x = t(DType::F32, {6});
            x.name = "mlp";
            tree.addTensor(tree.find("model.layers.0"), x);
            break;
        }
        case 4:
            tree.addTensor(ModuleTree::kRoot, t(DType::F32, {9})); // named "", like the root
            break;
        case 5: {
            Tensor w = t(DType::F32, {2});
            w.name = "weight";
            tree.addTensor(tree.addChild(tree.find("model"), "embed"), w);
            break;
        }
        case 6:
        case 7:
            for (int i = 0; i < 40; ++i) {
                Tensor x = t(DType::BF16, {i + 1});
                x.name = "p" + std::to_string(shape == 6 && i == 39 ? 3 : i);
                tree.addTensor(tree.find("model.embed"), x);
            }
            break;
        default:
            break;
        }
        std::map<std::string, double> expected;
        std::set<int> ties;
        for (bool buffers : {false, true})
            for (int id : tree.preorder()) {
                const auto &list = buffers ? tree.module(id).buffers : tree.module(id).params;
                for (std::size_t i = 0; i < list.size(); ++i) {
                    const Tensor &x = list[i];
                    if (x.tie >= 0 && !ties.insert(x.tie).second)
                        continue;
                    const std::string full = tree.tensorName(id, x);
                    const double bytes = static_cast<double>(x.numel()) * accelerateByteSize(x.dtype);
                    expected[""] += bytes;
                    for (std::size_t dot = full.find('.'); dot != std::string::npos; dot = full.find('.', dot + 1))
                        expected[full.substr(0, dot)] += bytes;
                    expected[full] += bytes;
                }
            }

        const accel::SizeMap sizes = accel::computeModuleSizes(tree);
        std::vector<std::pair<std::string, double>> byId, tensorsById;
        for (int id = 0; id < tree.size(); ++id) {
            const Module &m = tree.module(id);
            byId.emplace_back(m.name, sizes.ofKey(m.name, KeyTarget{id, -1}));
            for (std::size_t i = 0; i < m.params.size() + m.buffers.size(); ++i) {
                const Tensor &x = i < m.params.size() ? m.params[i] : m.buffers[i - m.params.size()];
                const std::string name = tree.tensorName(id, x);
                byId.emplace_back(name, sizes.ofKey(name, KeyTarget{id, static_cast<int>(i)}));
                tensorsById.push_back(byId.back());
            }
        }
        // The same counts without the map, by index (what validate() asks for where names are
        // paths), also under a load dtype.
        const auto flat = tree.flat();
        for (const std::optional<DType> load : {std::optional<DType>(), std::optional<DType>(DType::F16)}) {
            if (!paths)
                break;
            const accel::SizeMap withMap = accel::computeModuleSizes(tree, load);
            const accel::TreeBytes counted = accel::computeTreeBytes(tree, load);
            // Running sums where ids are the pre-order and nothing is tied (these rows: all but the
            // tied one), else bytes by id: both forms are checked.
            QCOMPARE(counted.before.empty(), !(flat->idsInPreorder && flat->tiedTensors == 0));
            QCOMPARE(counted.before.empty(), shape == 1);
            for (int id = 0; id < tree.size(); ++id) {
                QCOMPARE(counted.ofModule(id), withMap.ofKey(tree.module(id).name, KeyTarget{id, -1}));
                for (int slot = 0; slot < flat->tensorsOf(id); ++slot) {
                    const std::string name = tree.tensorName(id, tree.tensor({id, slot}));
                    QCOMPARE(counted.ofTensor(flat->tensorAt(id, slot)), withMap.ofKey(name, KeyTarget{id, slot}));
                }
            }
        }
        if (paths) {
            for (const auto &[name, bytes] : byId) {
                const double want = expected.count(name) ? expected[name] : 0.0;
                QCOMPARE(bytes, want);
                QCOMPARE(sizes.ofName(tree, name), want);
                QCOMPARE(sizes[name], want);
            }
            QCOMPARE(sizes.size(), expected.size());
        } else {
            for (const auto &[name, bytes] : tensorsById) {
                QCOMPARE(bytes, sizes[name]);
                QCOMPARE(sizes.ofName(tree, name), sizes[name]);
            }
        }
    }

    // The flat layout agrees with the records after every kind of change, and a layout taken
    // before a change stays as it was for its holder.
    void flatLayoutFollowsChanges()
    {
        std::vector<std::pair<std::string, Tensor>> named;
        for (const char *name : {"model.layers.10.mlp.weight", "model.layers.2.mlp.weight", "model.embed.weight",
                                 "model.layers.2.norm.bias", "lm_head.weight", "scale"})
            named.emplace_back(name, t(DType::BF16, {3, 5}));
        named.back().second = t(DType::F32, {}, true);
        ModuleTree tree = ModuleTree::fromTensorNames(named);
        QVERIFY(!tree.idsInPreorder()); // "10" was made before "2"
        QVERIFY(tree.layoutRecorded());
        checkFlatAgrees(tree);
        const auto before = tree.flat();
        QCOMPARE(tree.flat().get(), before.get()); // kept while the tree is unchanged

        const int layers = tree.find("model.layers");
        const int extra = tree.addChild(layers, "3", "Block");
        checkFlatAgrees(tree);
        QCOMPARE(before->size(), tree.size() - 1); // the old snapshot is untouched
        Tensor tied = t(DType::F16, {7, 2});
        tied.name = "shared";
        tied.tie = 0;
        tree.addTensor(extra, tied);
        tied.name = "shared_too";
        tree.addTensor(tree.find("model.embed"), tied);
        Tensor mask = t(DType::Bool, {9}, true);
        mask.name = "mask";
        mask.persistent = false;
        mask.fixedDtype = true;
        tree.addTensor(layers, mask);
        checkFlatAgrees(tree);
        QVERIFY(tree.layoutRecorded());

        tree.setClassName(tree.find("model.embed"), "Embedding");
        checkFlatAgrees(tree);
        QVERIFY(tree.layoutRecorded());
        tree.module(tree.find("model.layers.2")).className = "Block";
        tree.module(tree.find("model")).className = "Model";
        QVERIFY(!tree.layoutRecorded()); // a change it cannot follow: read from the records
        checkFlatAgrees(tree);
        QCOMPARE(tree.flat()->classId[static_cast<std::size_t>(tree.find("model.layers.2"))],
                 tree.flat()->classId[static_cast<std::size_t>(extra)]);
        QCOMPARE(tree.flat()->classesIn({"Block"})[static_cast<std::size_t>(tree.flat()->classId[static_cast<std::size_t>(extra)])], char(1));

        tree.module(tree.find("lm_head")).params[0].shape = {11, 13};
        tree.module(tree.find("lm_head")).params[0].dtype = DType::F32;
        checkFlatAgrees(tree);
        QCOMPARE(tree.flat()->numel[tree.flat()->tensorAt(tree.find("lm_head"), 0)], std::int64_t(143));

        const ModuleTree copy = tree;
        QCOMPARE(copy.flat().get(), tree.flat().get()); // a copy shares the layout until it changes
        static_assert(std::is_nothrow_move_constructible_v<ModuleTree>);
        ModuleTree moved = ModuleTree(copy);
        checkFlatAgrees(moved);
        tree.sortNumericChildren();
        checkFlatAgrees(tree);
        checkFlatAgrees(copy);
        const ModuleTree instantiated = instantiatedTree(tree, DType::F16);
        checkFlatAgrees(instantiated);
        QCOMPARE(instantiated.flat()->dtype[instantiated.flat()->tensorAt(tree.find("lm_head"), 0)], DType::F16);
    }

    // The layout made from the numbers recorded as the tree was built (layoutRecorded()) is the one
    // the records give, however the tensors came in and whatever the setters changed.
    void recordedLayout_data()
    {
        QTest::addColumn<QString>("order");
        QTest::newRow("module after module, params first") << "grouped";
        QTest::newRow("a buffer before a param") << "buffer first";
        QTest::newRow("a module's tensors in two runs") << "revisit";
        QTest::newRow("tensors of a later module first") << "backwards";
        QTest::newRow("numbered children sorted") << "sorted";
        QTest::newRow("a module deeper than 64") << "deep";
        QTest::newRow("70 modules before the tensors") << "many first";
        QTest::newRow("a child added to an earlier module") << "late child";
    }
    void recordedLayout()
    {
        QFETCH(QString, order);
        ModuleTree tree;
        const int model = tree.addChild(ModuleTree::kRoot, "model", "Model");
        const int a = tree.addChild(model, order == "sorted" ? "10" : "a", "Block");
        const int b = tree.addChild(model, order == "sorted" ? "9" : "b", "Block");
        const int head = tree.addChild(ModuleTree::kRoot, "head", "Linear");
        auto add = [&](int id, const char *name, bool buffer, int tie = -1) {
            Tensor x = t(DType::BF16, {static_cast<std::int64_t>(std::string_view(name).size()), 3}, buffer);
            x.name = name;
            x.tie = tie;
            tree.addTensor(id, x);
        };
        if (order == "many first")
            for (int i = 0; i < 70; ++i)
                tree.addChild(head, "x" + std::to_string(i), "Linear");
        add(model, "embed", false, 0);
        if (order == "backwards") {
            add(b, "w", false);
            add(a, "w", false);
        } else {
            if (order == "buffer first")
                add(a, "mask", true);
            add(a, "w", false);
            if (order == "revisit")
                add(b, "w", false);
            add(a, "bias", false);
            if (order != "buffer first")
                add(a, "mask", true);
        }
        add(b, "scale", false);
        add(head, "weight", false, 0);
        if (order == "deep")
            for (int i = 0, chain = head; i < 70; ++i)
                chain = tree.addChild(chain, "d" + std::to_string(i), "Linear");
        if (order == "late child")
            tree.addChild(model, "late", "Block");
        if (order == "sorted")
            tree.sortNumericChildren();
        QVERIFY(tree.layoutRecorded());
        checkFlatAgrees(tree);
        // The pre-order, the subtrees' ends and the tensor ranges are recorded as the tree is built
        // (shared with the layout) where the ids are the pre-order and no module is deeper than 64,
        // and where each tensor goes to one of the last 64 modules; else the layout makes them.
        {
            const auto f = tree.flat();
            const bool preorder = order != "sorted" && order != "deep" && order != "late child";
            QCOMPARE(f->order.data() == f->base->ids.data(), preorder);
            QCOMPARE(f->end.data() == f->base->end.data(), preorder);
            QCOMPARE(f->tensorBegin.data() == f->base->tensorBegin.data(), order != "many first");
        }

        // Changed by the setters: recorded still where the tensors came module after module.
        tree.setClassName(b, "Other");
        tree.setTie({head, 0}, -1);
        tree.setDtype({model, 0}, DType::F32);
        tree.setTie({a, 0}, 1);
        tree.setTie({b, 0}, 1);
        const bool grouped = order != "buffer first" && order != "revisit" && order != "backwards";
        QCOMPARE(tree.layoutRecorded(), grouped);
        checkFlatAgrees(tree);
        QCOMPARE(tree.flat()->tiedTensors, std::int64_t(3));
        QCOMPARE(tree.flat()->dtype[tree.flat()->tensorAt(model, 0)], DType::F32);

        // The recorded numbers are the layout's as they are where the tensors came module after
        // module: shared, not copied, by every layout made until the tree changes.
        const auto first = tree.flat();
        tree.dropFlat();
        QCOMPARE(tree.flat()->base.get() == first->base.get(), grouped);

        // A copy keeps recording; instantiating a dtype changes dtypes through the setters.
        ModuleTree copy = tree;
        copy.addChild(head, "extra", "Linear");
        QCOMPARE(copy.layoutRecorded(), grouped);
        checkFlatAgrees(copy);
        checkFlatAgrees(tree); // unchanged by the copy's change (the numbers were shared)
        QCOMPARE(first->size(), tree.size());
        const ModuleTree instantiated = instantiatedTree(tree, DType::F16);
        QCOMPARE(instantiated.layoutRecorded(), grouped);
        checkFlatAgrees(instantiated);
        QCOMPARE(instantiated.flat()->dtype[instantiated.flat()->tensorAt(model, 0)], DType::F16);
    }

    void namesWithinAScope_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("scope");
        QTest::addColumn<bool>("within");
        QTest::newRow("same") << "model.layers" << "model.layers" << true;
        QTest::newRow("below") << "model.layers.1.mlp" << "model.layers" << true;
        QTest::newRow("root scope") << "lm_head" << "" << true;
        QTest::newRow("root in root") << "" << "" << true;
        QTest::newRow("longer component") << "model.layers10" << "model.layers" << false;
        QTest::newRow("above") << "model" << "model.layers" << false;
        QTest::newRow("sibling") << "model.norm" << "model.layers" << false;
        QTest::newRow("root not in a module") << "" << "model" << false;
    }
    void namesWithinAScope()
    {
        QFETCH(QString, name);
        QFETCH(QString, scope);
        QFETCH(bool, within);
        QCOMPARE(nameWithin(name.toStdString(), scope.toStdString()), within);
    }
};

QTEST_GUILESS_MAIN(TestModuleTree)
#include "tst_moduletree.moc"
