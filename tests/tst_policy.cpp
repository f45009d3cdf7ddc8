// Policies (issue 14): parsing, globs, what each selects, how they become pins (the more specific
// rule wins), splitting no-split blocks, their errors, validation and plan files; on toy trees and
// on the Mixtral preset in both transformers layouts.
#include "models/describe.h"
#include "models/planoptions.h"
#include "models/resources.h"
#include "planner/cost.h"
#include "planner/error.h"
#include "planner/plan.h"
#include "planner/planerror.h"
#include "planner/planfile.h"
#include "planner/policy.h"
#include "planner/validate.h"
#include "testutil.h"

#include <nlohmann/json.hpp>

#include <QtTest>

#include <QTemporaryDir>

#include <map>
#include <set>

using namespace mizan;
using namespace mizan::planner;
using nlohmann::json;

namespace {

json leaf(const std::string &name, const std::string &cls, int in, int out, bool bias = true)
{
    json params = json::array({{{"name", "weight"}, {"shape", {out, in}}, {"dtype", "float32"}}});
    if (bias)
        params.push_back({{"name", "bias"}, {"shape", {out}}, {"dtype", "float32"}});
    return {{"name", name}, {"class", cls}, {"params", params}, {"buffers", json::array()}, {"children", json::array()}};
}

json node(const std::string &name, const std::string &cls, json children)
{
    return {{"name", name}, {"class", cls}, {"params", json::array()}, {"buffers", json::array()}, {"children", std::move(children)}};
}

// A toy mixture-of-experts model: embed (Embedding, 6400 B), `blocks` MoeBlock layers of 10064 B
// = attn (1088 B) + moe {gate (272 B), experts {0..3: Expert, 2176 B each = 8704 B}}, norm (64 B),
// lm_head (6400 B).
constexpr double kBlock = 10064, kAttn = 1088, kGate = 272, kExperts = 8704, kEmbed = 6400;
ModuleTree toyMoe(int blocks = 4)
{
    json layers = node("layers", "ModuleList", json::array());
    for (int i = 0; i < blocks; ++i) {
        json experts = node("experts", "ModuleList", json::array());
        for (int e = 0; e < 4; ++e)
            experts["children"].push_back(leaf(std::to_string(e), "Expert", 16, 32));
        layers["children"].push_back(node(std::to_string(i), "MoeBlock",
                                          {leaf("attn", "Linear", 16, 16), node("moe", "SparseMoe", {leaf("gate", "Linear", 16, 4), experts})}));
    }
    json embed = {{"name", "embed"}, {"class", "Embedding"}, {"params", {{{"name", "weight"}, {"shape", {100, 16}}, {"dtype", "float32"}}}},
                  {"buffers", json::array()}, {"children", json::array()}};
    json norm = {{"name", "norm"}, {"class", "RMSNorm"}, {"params", {{{"name", "weight"}, {"shape", {16}}, {"dtype", "float32"}}}},
                 {"buffers", json::array()}, {"children", json::array()}};
    return ModuleTree::fromJson(node("", "ToyMoeLM", {embed, layers, norm, leaf("lm_head", "Linear", 16, 100, false)}));
}

PlanOptions toyOptions(MaxMemory memory, std::vector<std::string> policies = {}, Strategy strategy = Strategy::Sequential)
{
    PlanOptions o;
    o.maxMemory = std::move(memory);
    o.noSplitClasses = {"MoeBlock"};
    o.strategy = strategy;
    for (const auto &p : policies)
        o.policies.push_back(parsePolicy(p));
    return o;
}

std::map<std::string, std::string> asMap(const DeviceMap &map)
{
    std::map<std::string, std::string> out;
    for (const auto &[k, d] : map)
        out[k] = d.toString();
    return out;
}

std::string keys(const DeviceMap &map)
{
    std::string s;
    for (const auto &[k, d] : map)
        s += (s.empty() ? "" : " ") + k + "=" + d.toString();
    return s;
}

QString joined(const std::vector<std::string> &names)
{
    QStringList list;
    for (const auto &n : names)
        list << QString::fromStdString(n);
    return list.join(' ');
}

const Placement &placementOf(const ModuleTree &tree, const Plan &plan, const std::string &name)
{
    return plan.placements[static_cast<std::size_t>(tree.find(name))];
}

// The devices of a block's keys that no policy placed (the rest of the block).
std::set<std::string> restDevices(const Plan &p, const std::string &block)
{
    std::set<std::string> out;
    for (const auto &[k, d] : p.deviceMap) {
        if (!nameWithin(k, block))
            continue;
        bool byPolicy = false;
        for (const auto &e : p.policies)
            for (const auto &n : e.names)
                byPolicy = byPolicy || nameWithin(k, n);
        if (!byPolicy)
            out.insert(d.toString());
    }
    return out;
}

models::ModelDescription mixtral(models::TransformersLayout layout = models::TransformersLayout::V5)
{
    models::DescribeOptions o;
    o.layout = layout;
    return models::describeConfig(models::presetConfig("mixtral-8x7b"), o);
}

PlanOptions presetOptions(const models::ModelDescription &model, const std::string &maxMemory, std::vector<std::string> policies,
                          std::int64_t headroomTokens = 0)
{
    models::PlanSettings s;
    s.maxMemory = parseMaxMemory(maxMemory);
    for (const auto &p : policies)
        s.policies.push_back(parsePolicy(p));
    s.headroomTokens = headroomTokens;
    return models::planOptionsFor(model, s);
}

} // namespace

class TestPolicy : public QObject {
    Q_OBJECT

private slots:
    // ---- text form --------------------------------------------------------------------------
    void parsesPolicies_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("canonical");
        QTest::addColumn<int>("selector");
        QTest::addColumn<QString>("pattern");
        QTest::addColumn<int>("count");
        QTest::addColumn<QString>("device");
        QTest::addColumn<bool>("forbid");
        using S = Policy::Selector;
        QTest::newRow("built-in experts") << "experts-on-cpu" << "experts-on-cpu" << int(S::Experts) << "" << 0 << "cpu" << false;
        QTest::newRow("built-in embeddings") << "embeddings-on-cpu" << "embeddings-on-cpu" << int(S::Embeddings) << "" << 0 << "cpu" << false;
        QTest::newRow("experts=cpu is the built-in") << "experts=cpu" << "experts-on-cpu" << int(S::Experts) << "" << 0 << "cpu" << false;
        QTest::newRow("experts of the first N") << "experts:18=cpu" << "experts:18=cpu" << int(S::Experts) << "" << 18 << "cpu" << false;
        QTest::newRow("experts forbidden") << "experts!=0" << "experts!=0" << int(S::Experts) << "" << 0 << "0" << true;
        QTest::newRow("class") << "class:MixtralBlockSparseTop2MLP=cpu" << "class:MixtralBlockSparseTop2MLP=cpu" << int(S::Class)
                               << "MixtralBlockSparseTop2MLP" << 0 << "cpu" << false;
        QTest::newRow("name glob") << "name:model.layers.*.mlp.experts=cpu" << "name:model.layers.*.mlp.experts=cpu" << int(S::Name)
                                   << "model.layers.*.mlp.experts" << 0 << "cpu" << false;
        QTest::newRow("name range") << "name:model.layers.{0..3}.mlp=disk" << "name:model.layers.{0..3}.mlp=disk" << int(S::Name)
                                    << "model.layers.{0..3}.mlp" << 0 << "disk" << false;
        QTest::newRow("first N") << "first:4=0" << "first:4=0" << int(S::First) << "" << 4 << "0" << false;
        QTest::newRow("cuda spelling") << "first:2=cuda:1" << "first:2=1" << int(S::First) << "" << 2 << "1" << false;
        QTest::newRow("spaces") << "  name:lm_head = disk " << "name:lm_head=disk" << int(S::Name) << "lm_head" << 0 << "disk" << false;
        QTest::newRow("embeddings forbidden") << "embeddings!=cpu" << "embeddings!=cpu" << int(S::Embeddings) << "" << 0 << "cpu" << true;
    }
    void parsesPolicies()
    {
        QFETCH(QString, text);
        QFETCH(QString, canonical);
        QFETCH(int, selector);
        QFETCH(QString, pattern);
        QFETCH(int, count);
        QFETCH(QString, device);
        QFETCH(bool, forbid);
        const Policy p = parsePolicy(text.toStdString());
        QCOMPARE(int(p.selector), selector);
        QCOMPARE(QString::fromStdString(p.pattern), pattern);
        QCOMPARE(p.count, std::int64_t(count));
        QCOMPARE(QString::fromStdString(p.device.toString()), device);
        QCOMPARE(p.forbid, forbid);
        QCOMPARE(QString::fromStdString(toString(p)), canonical);
        QVERIFY(parsePolicy(toString(p)) == p);
    }
    void badPoliciesAreRefused_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<int>("id");
        QTest::newRow("no target") << "experts" << int(MessageId::PolicySyntax);
        QTest::newRow("empty") << "" << int(MessageId::PolicySyntax);
        QTest::newRow("no selector") << "=cpu" << int(MessageId::PolicySyntax);
        QTest::newRow("unknown selector") << "module:lm_head=cpu" << int(MessageId::PolicySyntax);
        QTest::newRow("a pin, not a policy") << "model.layers.0=cpu" << int(MessageId::PolicySyntax);
        QTest::newRow("first 0") << "first:0=0" << int(MessageId::PolicySyntax);
        QTest::newRow("first word") << "first:four=0" << int(MessageId::PolicySyntax);
        QTest::newRow("experts 0") << "experts:0=cpu" << int(MessageId::PolicySyntax);
        QTest::newRow("no device") << "experts=" << int(MessageId::PolicySyntax);
        QTest::newRow("empty pattern") << "name:=cpu" << int(MessageId::PolicyBadPattern);
        QTest::newRow("unclosed brace") << "name:model.layers.{0..3.mlp=cpu" << int(MessageId::PolicyBadPattern);
        QTest::newRow("reversed range") << "name:model.layers.{3..1}=cpu" << int(MessageId::PolicyBadPattern);
        QTest::newRow("empty word") << "name:model.{mlp,}=cpu" << int(MessageId::PolicyBadPattern);
        QTest::newRow("bad device") << "class:Expert=gpu" << int(MessageId::PolicyBadDevice);
        QTest::newRow("negative device") << "first:2=-1" << int(MessageId::PolicyBadDevice);
    }
    void badPoliciesAreRefused()
    {
        QFETCH(QString, text);
        QFETCH(int, id);
        try {
            parsePolicy(text.toStdString());
            QFAIL("expected an error");
        } catch (const PlanError &e) {
            QCOMPARE(int(e.kind()), int(ErrorKind::InvalidArgument));
            QCOMPARE(int(e.messages().front().id), id);
            QCOMPARE(e.message(), toEnglish(e.messages()));
            QVERIFY2(e.message().find(text.trimmed().toStdString()) != std::string::npos, e.what());
        }
    }
    void builtInsAreListed()
    {
        QCOMPARE(joined(builtInPolicies()), QString("experts-on-cpu embeddings-on-cpu"));
        for (const auto &name : builtInPolicies())
            QCOMPARE(toString(parsePolicy(name)), name);
    }
    void globs_data()
    {
        QTest::addColumn<QString>("glob");
        QTest::addColumn<QString>("text");
        QTest::addColumn<bool>("dots");
        QTest::addColumn<bool>("matches");
        QTest::newRow("literal") << "lm_head" << "lm_head" << true << true;
        QTest::newRow("literal prefix only") << "lm_head" << "lm_head.weight" << true << false;
        QTest::newRow("star one component") << "model.layers.*.mlp" << "model.layers.12.mlp" << true << true;
        QTest::newRow("star stops at dots") << "model.*.mlp" << "model.layers.12.mlp" << true << false;
        QTest::newRow("double star crosses dots") << "model.**.mlp" << "model.layers.12.mlp" << true << true;
        QTest::newRow("double star at the end") << "model.**" << "model.layers.0.self_attn.q_proj" << true << true;
        QTest::newRow("question mark") << "layers.?" << "layers.7" << true << true;
        QTest::newRow("question mark not a dot") << "layers?7" << "layers.7" << true << false;
        QTest::newRow("range inside") << "layers.{0..3}.mlp" << "layers.3.mlp" << true << true;
        QTest::newRow("range outside") << "layers.{0..3}.mlp" << "layers.4.mlp" << true << false;
        QTest::newRow("range two digits") << "layers.{8..12}" << "layers.10" << true << true;
        QTest::newRow("range no leading zero") << "layers.{0..9}" << "layers.05" << true << false;
        QTest::newRow("range not a prefix") << "layers.{1..2}" << "layers.12" << true << false;
        QTest::newRow("words") << "model.layers.0.{mlp,block_sparse_moe}.experts" << "model.layers.0.block_sparse_moe.experts" << true << true;
        QTest::newRow("words miss") << "model.{mlp,attn}" << "model.norm" << true << false;
        QTest::newRow("class star") << "*Experts" << "MixtralExperts" << false << true;
        QTest::newRow("class star crosses dots") << "a*" << "a.b" << false << true;
        QTest::newRow("malformed matches nothing") << "layers.{0..3" << "layers.{0..3" << true << false;
    }
    void globs()
    {
        QFETCH(QString, glob);
        QFETCH(QString, text);
        QFETCH(bool, dots);
        QFETCH(bool, matches);
        QCOMPARE(globMatches(glob.toStdString(), text.toStdString(), dots), matches);
    }

    // ---- selection ----------------------------------------------------------------------------
    void selects_data()
    {
        QTest::addColumn<QString>("policy");
        QTest::addColumn<QString>("names");
        QTest::newRow("experts") << "experts-on-cpu" << "layers.0.moe.experts layers.1.moe.experts layers.2.moe.experts layers.3.moe.experts";
        QTest::newRow("experts of the first 2") << "experts:2=cpu" << "layers.0.moe.experts layers.1.moe.experts";
        QTest::newRow("embeddings") << "embeddings-on-cpu" << "embed";
        QTest::newRow("class, outermost") << "class:*=cpu" << "embed layers norm lm_head";
        QTest::newRow("class") << "class:Expert=cpu" << "layers.0.moe.experts.0 layers.0.moe.experts.1 layers.0.moe.experts.2 layers.0.moe.experts.3 "
                                                        "layers.1.moe.experts.0 layers.1.moe.experts.1 layers.1.moe.experts.2 layers.1.moe.experts.3 "
                                                        "layers.2.moe.experts.0 layers.2.moe.experts.1 layers.2.moe.experts.2 layers.2.moe.experts.3 "
                                                        "layers.3.moe.experts.0 layers.3.moe.experts.1 layers.3.moe.experts.2 layers.3.moe.experts.3";
        QTest::newRow("name") << "name:layers.*.moe.gate=0" << "layers.0.moe.gate layers.1.moe.gate layers.2.moe.gate layers.3.moe.gate";
        QTest::newRow("name range") << "name:layers.{1..2}=0" << "layers.1 layers.2";
        QTest::newRow("tensors") << "name:layers.0.**.bias=cpu" << "layers.0.attn.bias layers.0.moe.gate.bias layers.0.moe.experts.0.bias "
                                                                   "layers.0.moe.experts.1.bias layers.0.moe.experts.2.bias layers.0.moe.experts.3.bias";
        QTest::newRow("first") << "first:3=0" << "layers.0 layers.1 layers.2";
        QTest::newRow("first all") << "first:4=0" << "layers.0 layers.1 layers.2 layers.3";
    }
    void selects()
    {
        QFETCH(QString, policy);
        QFETCH(QString, names);
        QCOMPARE(joined(selectPolicy(toyMoe(), parsePolicy(policy.toStdString()), {"MoeBlock"})), names);
    }
    void blocksWithoutNoSplitClasses()
    {
        // No no-split class: the numbered children of the shallowest list.
        const ModuleTree tree = toyMoe(3);
        QCOMPARE(joined(selectPolicy(tree, parsePolicy("first:2=0"), {})), QString("layers.0 layers.1"));
        std::vector<std::string> names;
        for (int id : decoderBlocks(tree, {"MoeBlock"}))
            names.push_back(tree.module(id).name);
        QCOMPARE(joined(names), QString("layers.0 layers.1 layers.2"));
    }
    void selectionErrors_data()
    {
        QTest::addColumn<QString>("policy");
        QTest::addColumn<int>("id");
        QTest::addColumn<QString>("english");
        QTest::newRow("unknown class") << "class:MixtralBlockSparseTop2MLP=cpu" << int(MessageId::PolicyUnknownClass)
                                       << "policy \"class:MixtralBlockSparseTop2MLP=cpu\": no module of the model has that class; its classes: "
                                          "Embedding, Expert, Linear, ModuleList, MoeBlock, RMSNorm, SparseMoe, ToyMoeLM";
        QTest::newRow("pattern matches nothing") << "name:layers.*.block_sparse_moe.experts=cpu" << int(MessageId::PolicyMatchesNothing)
                                                 << "policy \"name:layers.*.block_sparse_moe.experts=cpu\" matches no module or tensor of "
                                                    "the model (\"layers.0\" holds attn, moe)";
        QTest::newRow("unknown top level") << "name:model.layers.*=cpu" << int(MessageId::PolicyMatchesNothing)
                                           << "(the model's top-level modules: embed, layers, norm, lm_head)";
        QTest::newRow("too many blocks") << "first:5=0" << int(MessageId::PolicyTooManyBlocks)
                                         << "policy \"first:5=0\" asks for the first 5 blocks but the model has 4";
        QTest::newRow("too many expert blocks") << "experts:9=cpu" << int(MessageId::PolicyTooManyBlocks)
                                                << "policy \"experts:9=cpu\" asks for the first 9 blocks but the model has 4";
    }
    void selectionErrors()
    {
        QFETCH(QString, policy);
        QFETCH(int, id);
        QFETCH(QString, english);
        try {
            selectPolicy(toyMoe(), parsePolicy(policy.toStdString()), {"MoeBlock"});
            QFAIL("expected an error");
        } catch (const PlanError &e) {
            QCOMPARE(int(e.kind()), int(ErrorKind::InvalidArgument));
            QCOMPARE(int(e.messages().front().id), id);
            QVERIFY2(QString::fromStdString(e.message()).contains(english), e.what());
        }
    }
    void modelsWithoutExpertsOrEmbeddings_data()
    {
        QTest::addColumn<QString>("policy");
        QTest::addColumn<int>("id");
        QTest::newRow("experts") << "experts-on-cpu" << int(MessageId::PolicyNoExperts);
        QTest::newRow("embeddings") << "embeddings-on-cpu" << int(MessageId::PolicyNoEmbeddings);
        QTest::newRow("blocks") << "first:1=0" << int(MessageId::PolicyNoBlocks);
    }
    void modelsWithoutExpertsOrEmbeddings()
    {
        QFETCH(QString, policy);
        QFETCH(int, id);
        const ModuleTree tree = ModuleTree::fromJson(node("", "Net", {leaf("fc", "Linear", 4, 4)}));
        try {
            selectPolicy(tree, parsePolicy(policy.toStdString()), {});
            QFAIL("expected an error");
        } catch (const PlanError &e) {
            QCOMPARE(int(e.kind()), int(ErrorKind::InvalidArgument));
            QCOMPARE(int(e.messages().front().id), id);
            QVERIFY2(e.message().find(policy.toStdString()) != std::string::npos, e.what());
        }
    }

    // ---- planning -----------------------------------------------------------------------------
    void expertsOnCpuSplitsTheBlocks()
    {
        const ModuleTree tree = toyMoe();
        const PlanOptions o = toyOptions({{Device::gpu(0), 100000}, {Device::cpu(), 100000}}, {"experts-on-cpu"});
        const Plan p = plan(tree, o);
        QCOMPARE(keys(p.deviceMap), std::string("embed=0 layers.0.attn=0 layers.0.moe.gate=0 layers.0.moe.experts=cpu "
                                                "layers.1.attn=0 layers.1.moe.gate=0 layers.1.moe.experts=cpu "
                                                "layers.2.attn=0 layers.2.moe.gate=0 layers.2.moe.experts=cpu "
                                                "layers.3.attn=0 layers.3.moe.gate=0 layers.3.moe.experts=cpu norm=0 lm_head=0"));
        QCOMPARE(p.usageOf(Device::cpu())->plannedBytes, 4 * kExperts);
        QCOMPARE(p.usageOf(Device::gpu(0))->plannedBytes, p.totalBytes - 4 * kExperts);
        // What the policy did, and why each module is where it is.
        QCOMPARE(p.policies.size(), std::size_t(1));
        QCOMPARE(p.policies[0].policy, std::string("experts-on-cpu"));
        QCOMPARE(p.policies[0].names.size(), std::size_t(4));
        QCOMPARE(p.policies[0].bytes, 4 * kExperts);
        QCOMPARE(joined(p.policies[0].splitBlocks), QString("layers.0 layers.1 layers.2 layers.3"));
        const Placement &experts = placementOf(tree, p, "layers.2.moe.experts");
        QCOMPARE(int(experts.kind), int(PlacementKind::Policy));
        QCOMPARE(experts.reason(), std::string("placed on CPU by policy \"experts-on-cpu\""));
        const Placement &block = placementOf(tree, p, "layers.2");
        QCOMPARE(int(block.kind), int(PlacementKind::Mixed));
        QCOMPARE(block.reason(), std::string("split by policy \"experts-on-cpu\"; the rest kept together on GPU 0 (parts on GPU 0, CPU)"));
        const Placement &attn = placementOf(tree, p, "layers.2.attn");
        QVERIFY2(attn.reason().starts_with("part of the rest of \"layers.2\", kept together on GPU 0 (a policy placed its other parts); fits on GPU 0"),
                 attn.reason().c_str());
        // The split is what the policy asked for: no validation issue.
        QVERIFY(validate(tree, p.deviceMap, o).empty());
    }
    void theRestOfABlockStaysTogether()
    {
        // GPU 0 has room for the embeddings and two rests (1360 B each) after reserving the largest
        // layer (a whole block): the rest of a block that does not fit moves to GPU 1 as one unit.
        const ModuleTree tree = toyMoe();
        const PlanOptions o = toyOptions({{Device::gpu(0), std::int64_t(kEmbed + kBlock + 2 * (kAttn + kGate) + 100)},
                                          {Device::gpu(1), 100000}, {Device::cpu(), 100000}},
                                         {"experts-on-cpu"});
        const Plan p = plan(tree, o);
        const auto m = asMap(p.deviceMap);
        QCOMPARE(QString::fromStdString(m.at("layers.1.moe.gate")), QString("0"));
        QCOMPARE(QString::fromStdString(m.at("layers.2.attn")), QString("1"));
        QCOMPARE(QString::fromStdString(m.at("layers.2.moe.gate")), QString("1"));
        for (int b = 0; b < 4; ++b) {
            const std::string block = "layers." + std::to_string(b);
            QCOMPARE(restDevices(p, block).size(), std::size_t(1));
            QCOMPARE(QString::fromStdString(m.at(block + ".moe.experts")), QString("cpu"));
        }
        QVERIFY(validate(tree, p.deviceMap, o).empty());
        // GPU 1 runs blocks whose experts are on the CPU: they compute there (the runtime's
        // WeightSource::runPart), nothing is brought in, so no room is kept for them.
        const DeviceUsage *g1 = p.usageOf(Device::gpu(1));
        QCOMPARE(g1->reservedLargestLayerBytes, std::int64_t(0));
        QVERIFY(g1->freeBytes >= 0);
    }
    void partsReserveMovesTheRestWhenTight_data()
    {
        QTest::addColumn<QString>("policy");
        QTest::addColumn<QString>("expertsOn");
        QTest::addColumn<qint64>("reserve"); // kept free on GPU 1 to bring the experts in
        QTest::addColumn<int>("restsOnGpu1");
        // On the CPU or on disk the experts compute on the CPU where they live (read in place from
        // disk): GPU 1 holds two rests and keeps nothing. (Before, experts on disk were brought in
        // for each block's forward: GPU 1 kept room for one block's experts, 8704 B, and then held
        // only one rest, 1360 B.)
        QTest::newRow("experts on cpu, computed there") << "experts-on-cpu" << "cpu" << qint64(0) << 2;
        QTest::newRow("experts on disk, computed on the cpu") << "name:layers.*.moe.experts=disk" << "disk" << qint64(0) << 2;
        // One expert on disk, the others with the block on a GPU: the disk one is brought in for
        // each block's forward, and GPU 1 keeps room for it (8704 / 4 B).
        QTest::newRow("one expert on disk, brought in") << "name:layers.*.moe.experts.0=disk" << "split" << qint64(kExperts / 4) << 1;
    }
    void partsReserveMovesTheRestWhenTight()
    {
        QFETCH(QString, policy);
        QFETCH(QString, expertsOn);
        QFETCH(qint64, reserve);
        QFETCH(int, restsOnGpu1);
        const ModuleTree tree = toyMoe();
        const PlanOptions o = toyOptions({{Device::gpu(0), std::int64_t(kEmbed + kBlock + 2 * (kAttn + kGate) + 100)},
                                          {Device::gpu(1), std::int64_t(kExperts + kAttn + kGate + 100)}, {Device::cpu(), 100000}},
                                         {policy.toStdString()});
        const Plan p = plan(tree, o);
        for (const auto &u : p.usage)
            if (u.budgetBytes >= 0)
                QVERIFY2(u.freeBytes >= 0, u.device.label().c_str());
        QCOMPARE(qint64(p.usageOf(Device::gpu(1))->reservedLargestLayerBytes), reserve);
        const auto m = asMap(p.deviceMap);
        int onGpu1 = 0;
        for (int b = 0; b < 4; ++b) {
            const std::string block = "layers." + std::to_string(b);
            if (expertsOn == "split")
                QCOMPARE(QString::fromStdString(m.at(block + ".moe.experts.0")), QString("disk"));
            else
                QCOMPARE(QString::fromStdString(m.at(block + ".moe.experts")), expertsOn);
            onGpu1 += m.count(block + ".attn") ? m.at(block + ".attn") == "1" : m.at(block) == "1";
        }
        QCOMPARE(onGpu1, restsOnGpu1);
        // (A policy may put the experts on disk with room on the CPU: a warning, not an error.)
        for (const auto &issue : validate(tree, p.deviceMap, o))
            if (issue.severity == Severity::Error)
                QFAIL(issue.message().c_str());
    }
    void firstBlocksOnAGpu()
    {
        const ModuleTree tree = toyMoe();
        const PlanOptions o = toyOptions({{Device::gpu(0), 100000}, {Device::gpu(1), 100000}, {Device::cpu(), 100000}}, {"first:2=1"});
        const Plan p = plan(tree, o);
        const auto m = asMap(p.deviceMap);
        QCOMPARE(QString::fromStdString(m.at("layers.0")), QString("1"));
        QCOMPARE(QString::fromStdString(m.at("layers.1")), QString("1"));
        QCOMPARE(QString::fromStdString(m.at("layers.2")), QString("0"));
        QCOMPARE(int(placementOf(tree, p, "layers.0").kind), int(PlacementKind::Policy));
        QVERIFY(p.policies[0].splitBlocks.empty());
        QVERIFY(validate(tree, p.deviceMap, o).empty());
    }
    void theMoreSpecificRuleWins_data()
    {
        QTest::addColumn<QString>("policies"); // space-separated
        QTest::addColumn<QString>("pins");     // space-separated, may be empty
        QTest::addColumn<QString>("map");
        QTest::newRow("blocks on GPU 1, their experts on the CPU")
            << "first:2=1 experts-on-cpu" << ""
            << "embed=0 layers.0.attn=1 layers.0.moe.gate=1 layers.0.moe.experts=cpu layers.1.attn=1 layers.1.moe.gate=1 "
               "layers.1.moe.experts=cpu layers.2.attn=0 layers.2.moe.gate=0 layers.2.moe.experts=cpu layers.3.attn=0 "
               "layers.3.moe.gate=0 layers.3.moe.experts=cpu norm=0 lm_head=0";
        QTest::newRow("the order does not matter")
            << "experts-on-cpu first:2=1" << ""
            << "embed=0 layers.0.attn=1 layers.0.moe.gate=1 layers.0.moe.experts=cpu layers.1.attn=1 layers.1.moe.gate=1 "
               "layers.1.moe.experts=cpu layers.2.attn=0 layers.2.moe.gate=0 layers.2.moe.experts=cpu layers.3.attn=0 "
               "layers.3.moe.gate=0 layers.3.moe.experts=cpu norm=0 lm_head=0";
        QTest::newRow("an inner rule with the outer device is dropped")
            << "first:1=1 name:layers.0.attn=1" << "" << "embed=0 layers.0=1 layers.1=0 layers.2=0 layers.3=0 norm=0 lm_head=0";
        QTest::newRow("three levels")
            << "first:1=1 experts-on-cpu name:layers.0.moe.experts.0=1" << ""
            << "embed=0 layers.0.attn=1 layers.0.moe.gate=1 layers.0.moe.experts.0=1 layers.0.moe.experts.1=cpu layers.0.moe.experts.2=cpu "
               "layers.0.moe.experts.3=cpu layers.1.attn=0 layers.1.moe.gate=0 layers.1.moe.experts=cpu layers.2.attn=0 "
               "layers.2.moe.gate=0 layers.2.moe.experts=cpu layers.3.attn=0 layers.3.moe.gate=0 layers.3.moe.experts=cpu norm=0 lm_head=0";
        QTest::newRow("a user pin carved around a policy")
            << "experts:1=cpu" << "layers.0=1" << "embed=0 layers.0.attn=1 layers.0.moe.gate=1 layers.0.moe.experts=cpu layers.1=0 "
                                                  "layers.2=0 layers.3=0 norm=0 lm_head=0";
        QTest::newRow("a policy carved around a tensor")
            << "first:1=1 name:layers.0.attn.bias=0" << ""
            << "embed=0 layers.0.attn.weight=1 layers.0.attn.bias=0 layers.0.moe=1 layers.1=0 layers.2=0 layers.3=0 norm=0 lm_head=0";
    }
    void theMoreSpecificRuleWins()
    {
        QFETCH(QString, policies);
        QFETCH(QString, pins);
        QFETCH(QString, map);
        const ModuleTree tree = toyMoe();
        std::vector<std::string> texts;
        for (const QString &p : policies.split(' ', Qt::SkipEmptyParts))
            texts.push_back(p.toStdString());
        PlanOptions o = toyOptions({{Device::gpu(0), 100000}, {Device::gpu(1), 100000}, {Device::cpu(), 100000}}, texts);
        for (const QString &p : pins.split(' ', Qt::SkipEmptyParts))
            o.pins.push_back(parsePin(p.toStdString()));
        const Plan p = plan(tree, o);
        QCOMPARE(QString::fromStdString(keys(p.deviceMap)), map);
        QVERIFY(!hasErrors(validate(tree, p.deviceMap, o)));
    }
    void forbiddingPolicies()
    {
        const ModuleTree tree = toyMoe();
        // A forbidden part of a no-split block moves the whole block (as a pin does).
        const PlanOptions o = toyOptions({{Device::gpu(0), 100000}, {Device::gpu(1), 100000}}, {"name:layers.{1..2}.moe.experts!=0"});
        const Plan p = plan(tree, o);
        QCOMPARE(keys(p.deviceMap), std::string("embed=0 layers.0=0 layers.1=1 layers.2=1 layers.3=0 norm=0 lm_head=0"));
        QVERIFY(validate(tree, p.deviceMap, o).empty());
    }
    void planErrors_data()
    {
        QTest::addColumn<QString>("policies");
        QTest::addColumn<QString>("pins");
        QTest::addColumn<int>("kind");
        QTest::addColumn<int>("id");
        QTest::addColumn<QString>("english");
        QTest::newRow("two policies, one module") << "first:1=0 name:layers.0=cpu" << "" << int(ErrorKind::InvalidArgument) << int(MessageId::PolicyConflict)
                                                  << "policies \"first:1=0\" and \"name:layers.0=cpu\" both place \"layers.0\": on GPU 0 and on CPU";
        QTest::newRow("a policy and a pin") << "embeddings-on-cpu" << "embed=0" << int(ErrorKind::InvalidArgument) << int(MessageId::PolicyPinConflict)
                                            << "policy \"embeddings-on-cpu\" places \"embed\" on CPU but it is pinned to GPU 0";
        QTest::newRow("a policy inside a forbidden module") << "experts:1=cpu" << "layers!=cpu" << int(ErrorKind::InvalidArgument)
                                                            << int(MessageId::PolicyPlacesForbidden)
                                                            << "policy \"experts:1=cpu\" places \"layers.0.moe.experts\" on CPU but \"layers\" is forbidden there";
        QTest::newRow("a policy forbidding a pinned module") << "class:Expert!=0" << "layers.1=0" << int(ErrorKind::InvalidArgument)
                                                             << int(MessageId::PolicyForbidsPlaced)
                                                             << "policy \"class:Expert!=0\" forbids \"layers.1.moe.experts.0\" on GPU 0 but \"layers.1\" is placed there";
        QTest::newRow("a device without budget") << "first:1=3" << "" << int(ErrorKind::InvalidArgument) << int(MessageId::PolicyDeviceWithoutBudget)
                                                 << "policy \"first:1=3\" -> GPU 3: that device has no budget (max memory lists GPU 0, CPU)";
        QTest::newRow("matches nothing") << "name:blocks.*=cpu" << "" << int(ErrorKind::InvalidArgument) << int(MessageId::PolicyMatchesNothing)
                                         << "policy \"name:blocks.*=cpu\" matches no module or tensor of the model";
        QTest::newRow("over budget") << "first:2=0" << "" << int(ErrorKind::Impossible) << int(MessageId::PinsOverBudget)
                                     << "pins need 19.66 KiB on GPU 0 but its budget is 19.53 KiB: over by 128 bytes (policy \"first:2=0\": 2 entries, 19.66 KiB)";
        QTest::newRow("pins and policies over budget")
            << "experts:2=0" << "layers.3=0" << int(ErrorKind::Impossible) << int(MessageId::PinsOverBudget)
            << "pins need 26.83 KiB on GPU 0 but its budget is 19.53 KiB: over by 7472 bytes (\"layers.3\" 9.83 KiB; policy \"experts:2=0\": 2 entries, 17.00 KiB)";
    }
    void planErrors()
    {
        QFETCH(QString, policies);
        QFETCH(QString, pins);
        QFETCH(int, kind);
        QFETCH(int, id);
        QFETCH(QString, english);
        std::vector<std::string> texts;
        for (const QString &p : policies.split(' ', Qt::SkipEmptyParts))
            texts.push_back(p.toStdString());
        PlanOptions o = toyOptions({{Device::gpu(0), 20000}, {Device::cpu(), 100000}}, texts);
        for (const QString &p : pins.split(' ', Qt::SkipEmptyParts))
            o.pins.push_back(parsePin(p.toStdString()));
        try {
            plan(toyMoe(), o);
            QFAIL("expected an error");
        } catch (const PlanError &e) {
            QCOMPARE(int(e.kind()), kind);
            QCOMPARE(int(e.messages().front().id), id);
            QCOMPARE(e.message(), toEnglish(e.messages()));
            QVERIFY2(QString::fromStdString(e.message()).contains(english), e.what());
        }
    }
    void userPinsInsideNoSplitStayRefused()
    {
        // A policy may split a no-split block; a pin still may not (unchanged).
        PlanOptions o = toyOptions({{Device::gpu(0), 100000}, {Device::cpu(), 100000}});
        o.pins = {parsePin("layers.0.moe.experts=cpu")};
        const auto error = test::errorOf([&] { plan(toyMoe(), o); });
        QVERIFY(error);
        QCOMPARE(int(error->kind()), int(ErrorKind::Impossible));
    }
    void headroomCountsSplitBlocksOnTheirGpu()
    {
        const ModuleTree tree = toyMoe();
        PlanOptions o = toyOptions({{Device::gpu(0), 200000}, {Device::cpu(), 200000}}, {"experts-on-cpu"});
        o.headroom.tokens = 8;
        o.headroom.hiddenSize = 16;
        o.headroom.numLayers = 4;
        o.headroom.numAttentionHeads = 2;
        const Plan p = plan(tree, o);
        // Every block runs on GPU 0 (its experts brought in): its KV cache is there.
        QCOMPARE(p.usageOf(Device::gpu(0))->headroomBytes, p.headroom.totalBytes(4));
    }
    void validationKnowsPolicies()
    {
        const ModuleTree tree = toyMoe();
        const PlanOptions o = toyOptions({{Device::gpu(0), 100000}, {Device::cpu(), 100000}}, {"experts-on-cpu"});
        const Plan p = plan(tree, o);
        QVERIFY(validate(tree, p.deviceMap, o).empty());
        // The map contradicts the policy.
        DeviceMap moved = p.deviceMap;
        for (auto &[k, d] : moved)
            if (k == "layers.1.moe.experts")
                d = Device::gpu(0);
        auto issues = validate(tree, moved, o);
        QCOMPARE(issues.size(), std::size_t(1));
        QCOMPARE(int(issues[0].kind), int(IssueKind::PolicyViolated));
        QCOMPARE(issues[0].message(), std::string("policy \"experts-on-cpu\" places \"layers.1.moe.experts\" on CPU but the map puts it on GPU 0"));
        QCOMPARE(issues[0].suggestedFix(), std::string("move it to CPU or remove the policy"));
        // Without the policy the same split is a no-split module cut.
        PlanOptions without = o;
        without.policies.clear();
        issues = validate(tree, p.deviceMap, without);
        QCOMPARE(issues.size(), std::size_t(4));
        QCOMPARE(int(issues[0].kind), int(IssueKind::NoSplitBroken));
        // A policy that cannot apply is an issue, not an exception.
        PlanOptions bad = o;
        bad.policies.push_back(parsePolicy("class:Nothing=cpu"));
        issues = validate(tree, p.deviceMap, bad);
        QVERIFY(!issues.empty());
        QCOMPARE(int(issues[0].kind), int(IssueKind::PolicyInvalid));
        QVERIFY(hasErrors(issues));
    }

    // ---- plan files ---------------------------------------------------------------------------
    void planFilesKeepPolicies()
    {
        QTemporaryDir dir;
        const ModuleTree tree = toyMoe();
        const PlanOptions o = toyOptions({{Device::gpu(0), 100000}, {Device::cpu(), 100000}}, {"experts-on-cpu", "name:layers.{0..1}.attn!=cpu"});
        const Plan p = plan(tree, o);
        const PlanFile f{identityOf(tree, "toy"), o, p.deviceMap, p.usage, {}};
        const auto j = planFileToJson(f);
        QCOMPARE(QString::fromStdString(j["policies"].dump()), QString(R"(["experts-on-cpu","name:layers.{0..1}.attn!=cpu"])"));
        const std::string path = (dir.path() + "/toy.mizan.json").toStdString();
        writePlanFile(path, f);
        const PlanFile back = readPlanFile(path);
        QVERIFY(back.options == o);
        QCOMPARE(planFileToJson(back).dump(), j.dump());
        // Without policies the file has no "policies" entry (as before), and reads back none.
        PlanFile plain = f;
        plain.options.policies.clear();
        const auto pj = planFileToJson(plain);
        QVERIFY(!pj.contains("policies"));
        QVERIFY(planFileFromJson(json::parse(pj.dump())).options.policies.empty());
    }
    void badPoliciesInPlanFiles_data()
    {
        QTest::addColumn<QString>("policies");
        QTest::addColumn<QString>("english");
        QTest::newRow("not a list") << R"("experts-on-cpu")" << "\"policies\" must be an array";
        QTest::newRow("not a string") << R"([3])" << "\"policies[0]\" must be a policy";
        QTest::newRow("not a policy") << R"(["experts-on-cpu", "experts"])" << "policies[1]: \"experts\" is not a policy";
    }
    void badPoliciesInPlanFiles()
    {
        QFETCH(QString, policies);
        QFETCH(QString, english);
        auto j = json::parse(planFileToJson(PlanFile{identityOf(toyMoe(), "toy"), toyOptions({{Device::gpu(0), 1}}), {{"", Device::gpu(0)}}, {}, {}}).dump());
        j["policies"] = json::parse(policies.toStdString());
        const auto error = test::errorOf([&] { planFileFromJson(j, "bad.mizan.json"); });
        QVERIFY(error);
        QCOMPARE(int(error->kind()), int(ErrorKind::InvalidHeader));
        QCOMPARE(error->file(), std::string("bad.mizan.json"));
        QVERIFY2(QString::fromStdString(error->message()).contains(english), error->what());
    }

    // ---- the Mixtral preset -------------------------------------------------------------------
    void mixtralExpertsOnCpu_data()
    {
        QTest::addColumn<int>("layout");
        QTest::addColumn<QString>("experts"); // the experts module of block N (%1)
        QTest::addColumn<QString>("gate");
        QTest::newRow("v5") << int(models::TransformersLayout::V5) << "model.layers.%1.mlp.experts" << "model.layers.%1.mlp.gate";
        QTest::newRow("v4") << int(models::TransformersLayout::V4) << "model.layers.%1.block_sparse_moe.experts"
                            << "model.layers.%1.block_sparse_moe.gate";
    }
    void mixtralExpertsOnCpu()
    {
        QFETCH(int, layout);
        QFETCH(QString, experts);
        QFETCH(QString, gate);
        const models::ModelDescription model = mixtral(static_cast<models::TransformersLayout>(layout));
        const ModuleTree &tree = model.tree;
        // 2 x RTX 3090 and 128 GiB of RAM.
        const PlanOptions o = presetOptions(model, "0=24GiB,1=24GiB,cpu=128GiB", {"experts-on-cpu"}, 4096);
        const Plan p = plan(tree, o);
        const auto m = asMap(p.deviceMap);
        // 32 x 8 experts x 3 x 4096 x 14336 bfloat16 weights.
        const double expertBytes = 32.0 * 8 * 3 * 4096 * 14336 * 2;
        QCOMPARE(p.policies.size(), std::size_t(1));
        QCOMPARE(p.policies[0].names.size(), std::size_t(32));
        QCOMPARE(p.policies[0].bytes, expertBytes);
        QCOMPARE(p.policies[0].splitBlocks.size(), std::size_t(32));
        QCOMPARE(p.usageOf(Device::cpu())->plannedBytes, expertBytes);
        for (int b = 0; b < 32; ++b) {
            const std::string e = experts.arg(b).toStdString();
            QCOMPARE(QString::fromStdString(m.at(e)), QString("cpu"));
            QCOMPARE(int(placementOf(tree, p, e).kind), int(PlacementKind::Policy));
            const std::string g = gate.arg(b).toStdString();
            QVERIFY2(m.count(g) && m.at(g) != "cpu" && m.at(g) != "disk", g.c_str());
            const std::string attn = "model.layers." + std::to_string(b) + ".self_attn";
            QVERIFY2(m.count(attn) && m.at(attn) == m.at(g), attn.c_str());
            QCOMPARE(restDevices(p, "model.layers." + std::to_string(b)).size(), std::size_t(1));
        }
        // The rest of every block (attention, router, norms: 2.99 GiB with the embeddings and the
        // head) fits on GPU 0 within its budget.
        for (const auto &u : p.usage)
            if (u.device.isGpu())
                QVERIFY2(u.freeBytes >= 0, u.device.label().c_str());
        QCOMPARE(p.usageOf(Device::gpu(0))->plannedBytes, p.totalBytes - expertBytes);
        QVERIFY(!hasErrors(validate(tree, p.deviceMap, o)));
        for (const auto &issue : validate(tree, p.deviceMap, o))
            QVERIFY2(issue.kind != IssueKind::NoSplitBroken, issue.message().c_str());
    }
    void optimalStrategyKeepsPolicies_data()
    {
        QTest::addColumn<QString>("policies");
        QTest::newRow("experts on the CPU") << "experts-on-cpu";
        QTest::newRow("experts of 18 blocks") << "experts:18=cpu";
        QTest::newRow("and the first blocks on GPU 1") << "experts-on-cpu first:4=1";
    }
    void optimalStrategyKeepsPolicies()
    {
        // --strategy optimal plans units; the rest of a block a policy splits is one unit there too.
        QFETCH(QString, policies);
        std::vector<std::string> texts;
        for (const QString &p : policies.split(' '))
            texts.push_back(p.toStdString());
        const auto model = mixtral();
        PlanOptions o = presetOptions(model, "0=24GiB,1=24GiB,cpu=128GiB", texts);
        o.strategy = Strategy::Optimal;
        const Plan p = plan(model.tree, o);
        const auto m = asMap(p.deviceMap);
        for (const auto &effect : p.policies)
            for (const auto &name : effect.names) {
                const bool experts = name.ends_with(".experts");
                QVERIFY2(!experts || m.at(name) == "cpu", name.c_str());
            }
        for (int b = 0; b < 32; ++b) // (first:4=1 places all of blocks 0-3 but their experts itself)
            QVERIFY(restDevices(p, "model.layers." + std::to_string(b)).size() <= 1);
        for (const auto &u : p.usage)
            if (u.budgetBytes >= 0)
                QVERIFY2(u.freeBytes >= 0, u.device.label().c_str());
        const auto issues = validate(model.tree, p.deviceMap, o);
        QVERIFY(!hasErrors(issues));
        for (const auto &issue : issues)
            QVERIFY2(issue.kind != IssueKind::NoSplitBroken, issue.message().c_str());
    }
    void expertsComputedOnTheCpuNeedNoRoomOnTheGpu()
    {
        // Mixtral 8x7B in float16 on one 4 GiB GPU: the rest of every block, the embeddings and the
        // head (2.99 GiB) fit. The experts on the CPU compute there, so the GPU keeps no room for
        // them: --strategy optimal keeps every rest on GPU 0 and moves no weight per token (with a
        // block's experts reserved, 2.7 GiB, only 13 rests fitted and 21 steps were brought in).
        const auto model = mixtral();
        PlanOptions o = presetOptions(model, "0=4GiB,cpu=100GiB", {"experts-on-cpu"});
        o.dtype = DType::F16;
        o.strategy = Strategy::Optimal;
        const Plan p = plan(model.tree, o);
        const DeviceUsage *gpu = p.usageOf(Device::gpu(0));
        QCOMPARE(gpu->reservedLargestLayerBytes, std::int64_t(0));
        QCOMPARE(gpu->plannedBytes + p.usageOf(Device::cpu())->plannedBytes, p.totalBytes);
        QCOMPARE(p.usageOf(Device::cpu())->plannedBytes, p.policies[0].bytes);
        QVERIFY(gpu->freeBytes >= 0);
        const Prediction speed = predict(model.tree, p.deviceMap, o, assumedSpeedModel());
        QCOMPARE(speed.bytesMovedPerToken, std::int64_t(0));
        QCOMPARE(speed.offloadedSteps, 0);
        QCOMPARE(speed.cpuExpertSteps, 32);
        QVERIFY(!hasErrors(validate(model.tree, p.deviceMap, o)));
    }
    void mixtralClassPolicies()
    {
        // The 4.x layout has one module per expert; v5 has one fused module for all of them.
        const auto v4 = mixtral(models::TransformersLayout::V4);
        QCOMPARE(selectPolicy(v4.tree, parsePolicy("class:MixtralBlockSparseTop2MLP=cpu"), v4.noSplitClasses).size(), std::size_t(256));
        const auto v5 = mixtral();
        QCOMPARE(selectPolicy(v5.tree, parsePolicy("class:MixtralExperts=cpu"), v5.noSplitClasses).size(), std::size_t(32));
        const auto error = test::errorOf([&] { selectPolicy(v5.tree, parsePolicy("class:MixtralBlockSparseTop2MLP=cpu"), v5.noSplitClasses); });
        QVERIFY(error);
        QVERIFY2(error->message().find("its classes: ") != std::string::npos && error->message().find("MixtralExperts") != std::string::npos,
                 error->message().c_str());
        // experts:N is llama.cpp's --n-cpu-moe N: the experts of the first N blocks.
        const PlanOptions o = presetOptions(v5, "0=24GiB,1=24GiB,cpu=128GiB", {"experts:18=cpu"});
        const Plan p = plan(v5.tree, o);
        const auto m = asMap(p.deviceMap);
        // 18 is what 2 x 24 GiB need for Mixtral 8x7B in bfloat16: the other 14 blocks whole on the GPUs.
        QCOMPARE(p.usageOf(Device::cpu())->plannedBytes, p.policies[0].bytes);
        for (int b = 0; b < 32; ++b) {
            const std::string block = "model.layers." + std::to_string(b);
            if (b < 18)
                QCOMPARE(QString::fromStdString(m.at(block + ".mlp.experts")), QString("cpu"));
            else
                QVERIFY2(m.count(block) && m.at(block) != "cpu", block.c_str());
        }
        QVERIFY(!hasErrors(validate(v5.tree, p.deviceMap, o)));
    }
};

QTEST_GUILESS_MAIN(TestPolicy)
#include "tst_policy.moc"
