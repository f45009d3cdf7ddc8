// The load dtype as transformers means it (from_pretrained-style cases), the one builder of plan
// options from a model and settings (models::planOptionsFor) and of budgets from a hardware
// profile (models::budgetsFor).
#include "models/describe.h"
#include "models/resources.h"
#include "models/source.h"
#include "models/planoptions.h"
#include "planner/accelerate.h"
#include "planner/error.h"
#include "planner/plan.h"
#include "planner/validate.h"
#include "planner/planfile.h"

#include <nlohmann/json.hpp>

#include <QtTest>

#include <fstream>
#include <set>

using namespace mizan;
using json = nlohmann::json;

namespace {

// Small configs of the registry's families (the layouts of tst_models).
json configOf(const QString &family)
{
    if (family == "llama")
        return json::parse(R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 16, "intermediate_size": 40, "num_attention_heads": 4,
                               "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 32, "max_position_embeddings": 64})");
    if (family == "gpt2")
        return json::parse(R"({"architectures": ["GPT2LMHeadModel"], "n_embd": 16, "n_head": 4, "n_layer": 1, "n_positions": 8, "vocab_size": 32})");
    if (family == "t5")
        return json::parse(R"({"architectures": ["T5ForConditionalGeneration"], "d_model": 16, "d_kv": 4, "d_ff": 40, "num_heads": 4,
                               "num_layers": 2, "num_decoder_layers": 1, "vocab_size": 32, "feed_forward_proj": "gated-gelu",
                               "tie_word_embeddings": false, "relative_attention_num_buckets": 8})");
    return {};
}

// Llama-2-70b's config.json (meta-llama/Llama-2-70b-hf on the Hugging Face Hub).
json llama2_70b()
{
    return json::parse(R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu", "hidden_size": 8192,
                           "intermediate_size": 28672, "max_position_embeddings": 4096, "num_attention_heads": 64,
                           "num_hidden_layers": 80, "num_key_value_heads": 8, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
                           "tie_word_embeddings": false, "torch_dtype": "float16", "vocab_size": 32000})");
}

// A model the registry does not build: a BatchNorm with its int64 counter, from tensor names.
models::ModelDescription batchNormModel(DType stored)
{
    std::vector<std::pair<std::string, planner::Tensor>> tensors;
    auto add = [&](std::string name, DType d, std::vector<std::int64_t> shape, bool buffer) {
        planner::Tensor t;
        t.dtype = d;
        t.shape = std::move(shape);
        t.buffer = buffer;
        tensors.emplace_back(std::move(name), t);
    };
    add("bn.weight", stored, {8}, false);
    add("bn.running_mean", stored, {8}, true);
    add("bn.num_batches_tracked", DType::I64, {}, true);
    models::ModelDescription d;
    d.tree = planner::ModuleTree::fromTensorNames(tensors);
    return d;
}

models::ModelDescription modelOf(const QString &family, DType stored)
{
    if (family == "bn")
        return batchNormModel(stored);
    models::DescribeOptions o;
    o.dtype = stored; // a checkpoint stored in `stored`
    return models::describeConfig(configOf(family), o);
}

std::pair<int, const planner::Tensor *> findTensor(const planner::ModuleTree &tree, const std::string &name)
{
    const auto dot = name.rfind('.');
    const int owner = tree.find(name.substr(0, dot));
    if (owner < 0)
        return {-1, nullptr};
    const planner::Module &m = tree.module(owner);
    for (const auto *list : {&m.params, &m.buffers})
        for (const auto &t : *list)
            if (t.name == name.substr(dot + 1))
                return {owner, &t};
    return {-1, nullptr};
}

int layersOn(const planner::DeviceMap &map, const planner::Device &device)
{
    int n = 0;
    for (const auto &[key, d] : map)
        if (d == device && key.rfind("model.layers.", 0) == 0)
            ++n;
    return n;
}

void writeJson(const std::string &path, const json &j)
{
    std::ofstream(path) << j.dump(2);
}

} // namespace

class TestPlanOptions : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // ---- the load dtype as from_pretrained(torch_dtype=..., device_map=...) means it ------------

    void fromPretrainedDtypes_data()
    {
        QTest::addColumn<QString>("family");
        QTest::addColumn<int>("stored");   // what the checkpoint stores
        QTest::addColumn<int>("load");     // torch_dtype; -1 = as stored
        QTest::addColumn<QString>("tensor");
        QTest::addColumn<int>("expected"); // the dtype it is counted in
        const int f16 = int(DType::F16), bf16 = int(DType::BF16), f32 = int(DType::F32), f64 = int(DType::F64);
        const QString up = "model.layers.0.mlp.up_proj.weight", inv = "model.rotary_emb.inv_freq";
        const QString wo = "encoder.block.0.layer.1.DenseReluDense.wo.weight", wi = "encoder.block.0.layer.1.DenseReluDense.wi_0.weight";
        QTest::newRow("fp16 checkpoint as float32: 4 bytes") << "llama" << f16 << f32 << up << f32;
        QTest::newRow("fp32 checkpoint as float16: 2 bytes") << "llama" << f32 << f16 << up << f16;
        QTest::newRow("bf16 checkpoint as float16") << "llama" << bf16 << f16 << up << f16;
        QTest::newRow("fp16 checkpoint as bfloat16") << "llama" << f16 << bf16 << up << bf16;
        QTest::newRow("fp16 checkpoint as float64") << "llama" << f16 << f64 << up << f64;
        QTest::newRow("fp16 checkpoint as stored") << "llama" << f16 << -1 << up << f16;
        QTest::newRow("fp8 checkpoint as bfloat16") << "llama" << int(DType::F8_E4M3) << bf16 << up << bf16;
        QTest::newRow("int8 quantised target") << "llama" << bf16 << int(DType::I8) << up << int(DType::I8);
        // Rotary inv_freq is made in float32 (torch.arange(...).float()) whatever the default dtype;
        // Accelerate, called with dtype=torch_dtype, counts it at no more than that.
        QTest::newRow("rotary inv_freq under float16") << "llama" << f32 << f16 << inv << f16;
        QTest::newRow("rotary inv_freq under float32") << "llama" << f16 << f32 << inv << f32;
        QTest::newRow("rotary inv_freq under float64") << "llama" << f16 << f64 << inv << f32;
        // GPT-2's causal mask is bool; masked_bias is made in the default dtype.
        QTest::newRow("bool mask buffer kept") << "gpt2" << f16 << f32 << "transformer.h.0.attn.bias" << int(DType::Bool);
        QTest::newRow("default-dtype buffer follows") << "gpt2" << f16 << f32 << "transformer.h.0.attn.masked_bias" << f32;
        QTest::newRow("int64 buffer kept") << "bn" << f16 << f32 << "bn.num_batches_tracked" << int(DType::I64);
        QTest::newRow("float buffer of a checkpoint follows") << "bn" << f16 << f32 << "bn.running_mean" << f32;
        // _keep_in_fp32_modules: T5's wo stays float32 under float16 and bfloat16.
        QTest::newRow("T5 wo stays fp32 under float16") << "t5" << f32 << f16 << wo << f32;
        QTest::newRow("T5 wo stays fp32 under bfloat16") << "t5" << f32 << bf16 << wo << f32;
        QTest::newRow("T5 wi under float16") << "t5" << f32 << f16 << wi << f16;
        QTest::newRow("T5 wo as stored") << "t5" << f16 << -1 << wo << f32;
        QTest::newRow("T5 wo under float64 is not kept") << "t5" << f32 << f64 << wo << f64;
    }
    void fromPretrainedDtypes()
    {
        QFETCH(QString, family);
        QFETCH(int, stored);
        QFETCH(int, load);
        QFETCH(QString, tensor);
        QFETCH(int, expected);
        const models::ModelDescription model = modelOf(family, DType(stored));
        models::PlanSettings settings;
        settings.maxMemory = {{planner::Device::cpu(), std::int64_t(1) << 40}};
        if (load >= 0)
            settings.dtype = DType(load);
        const planner::PlanOptions options = models::planOptionsFor(model, settings);
        QCOMPARE(int(options.dtypeRule), int(planner::DtypeRule::Transformers));
        const auto [owner, t] = findTensor(model.tree, tensor.toStdString());
        QVERIFY2(t, qPrintable(tensor));
        QCOMPARE(int(planner::loadedDtype(model.tree, owner, *t, options)), expected);

        // plan() counts the owner as its tensors in their loaded dtypes (Accelerate's byte sizes).
        double want = 0;
        for (int id : model.tree.preorder(owner))
            for (const auto *list : {&model.tree.module(id).params, &model.tree.module(id).buffers})
                for (const auto &x : *list)
                    want += static_cast<double>(x.numel()) * planner::accel::dtypeByteSize(planner::loadedDtype(model.tree, id, x, options));
        const planner::Plan p = planner::plan(model.tree, options);
        QCOMPARE(p.placements[static_cast<std::size_t>(owner)].bytes, want);
        // aggregateSizes under the same options agrees on the whole model (storage bytes).
        std::int64_t storage = 0;
        std::set<int> ties;
        for (int id : model.tree.preorder())
            for (const auto *list : {&model.tree.module(id).params, &model.tree.module(id).buffers})
                for (const auto &x : *list)
                    if (x.tie < 0 || ties.insert(x.tie).second)
                        storage += storageBytes(planner::loadedDtype(model.tree, id, x, options), x.numel());
        QCOMPARE(planner::aggregateSizes(model.tree, options).totalBytes(), storage);
    }

    // Accelerate's own rule stays available for trees already in their loaded dtypes.
    void accelerateRuleNeverGrows()
    {
        const models::ModelDescription model = modelOf("llama", DType::F16);
        planner::PlanOptions o;
        o.maxMemory = {{planner::Device::cpu(), std::int64_t(1) << 40}};
        o.dtype = DType::F32;
        const double transformers = planner::plan(model.tree, o).totalBytes;
        o.dtypeRule = planner::DtypeRule::AccelerateNeverGrow;
        const double accelerate = planner::plan(model.tree, o).totalBytes;
        QCOMPARE(accelerate, planner::accel::computeModuleSizes(model.tree, DType::F32)[""]);
        QCOMPARE(transformers, planner::accel::computeModuleSizes(planner::instantiatedTree(model.tree, DType::F32), DType::F32)[""]);
        // The float16 weights take 4 bytes instead of 2; rotary inv_freq (float32) 4 either way.
        const double invFreq = 2.0 * 2 * 4; // inv_freq and original_inv_freq, head_dim 4 / 2 elements
        QCOMPARE(transformers - invFreq, 2 * (accelerate - invFreq));
    }

    // The issue's case: Llama-2-70b on 2 x 24 GiB + 64 GiB of RAM. Loaded in float32 its layers
    // take twice the bytes, so each GPU holds about half as many. The expected counts come from the
    // model's parameter counts and Accelerate's fill (first GPU keeps room for the largest layer).
    void llama70bInFloat32HalvesTheLayersPerGpu_data()
    {
        QTest::addColumn<int>("load");
        QTest::addColumn<int>("bytesPerElement");
        QTest::newRow("float16") << int(DType::F16) << 2;
        QTest::newRow("as stored (float16)") << -1 << 2;
        QTest::newRow("float32") << int(DType::F32) << 4;
    }
    void llama70bInFloat32HalvesTheLayersPerGpu()
    {
        QFETCH(int, load);
        QFETCH(int, bytesPerElement);
        const models::ModelDescription model = models::describeConfig(llama2_70b());
        const auto counts = planner::aggregateSizes(model.tree, std::nullopt).parameters;
        auto params = [&](const char *name) { return counts[static_cast<std::size_t>(model.tree.find(name))]; };
        const std::int64_t layer = params("model.layers.0") * bytesPerElement;
        const std::int64_t embed = params("model.embed_tokens") * bytesPerElement;
        QVERIFY(layer > params("lm_head") * bytesPerElement); // the largest layer is a decoder layer
        const std::int64_t gib24 = std::int64_t(24) << 30;
        QVERIFY(params("") * bytesPerElement / 2 > gib24); // balancing leaves the GPU budgets as given
        int gpu0 = 0, gpu1 = 0;
        for (std::int64_t used = embed; used + layer <= gib24 - layer; used += layer)
            ++gpu0;
        for (std::int64_t used = 0; used + layer <= gib24; used += layer)
            ++gpu1;

        models::PlanSettings settings;
        settings.maxMemory = {{planner::Device::gpu(0), gib24}, {planner::Device::gpu(1), gib24}, {planner::Device::cpu(), std::int64_t(64) << 30}};
        if (load >= 0)
            settings.dtype = DType(load);
        const planner::Plan p = planner::plan(model.tree, models::planOptionsFor(model, settings));
        QCOMPARE(layersOn(p.deviceMap, planner::Device::gpu(0)), gpu0);
        QCOMPARE(layersOn(p.deviceMap, planner::Device::gpu(1)), gpu1);
        if (bytesPerElement == 4) {
            QCOMPARE(gpu0, 6);
            QCOMPARE(gpu1, 7);
        } else {
            QCOMPARE(gpu0, 13);
            QCOMPARE(gpu1, 15);
        }
    }

    // ---- planOptionsFor -------------------------------------------------------------------------

    void optionsCarryTheSettings()
    {
        const models::ModelDescription model = modelOf("llama", DType::BF16);
        models::PlanSettings s;
        s.maxMemory = {{planner::Device::gpu(0), 1000}, {planner::Device::cpu(), 2000}};
        s.strategy = planner::Strategy::BalancedLow0;
        s.pins = {planner::parsePin("lm_head=cpu")};
        s.offloadBuffers = true;
        s.fallbackAllocation = true;
        s.cleanResult = false;
        planner::PlanOptions o = models::planOptionsFor(model, s);
        QVERIFY(o.maxMemory == s.maxMemory);
        QCOMPARE(o.noSplitClasses, model.noSplitClasses); // the model's defaults
        QCOMPARE(o.noSplitClasses, std::vector<std::string>{"LlamaDecoderLayer"});
        QVERIFY(!o.dtype);
        QCOMPARE(int(o.strategy), int(planner::Strategy::BalancedLow0));
        QVERIFY(o.pins == s.pins);
        QVERIFY(o.offloadBuffers && o.fallbackAllocation && !o.cleanResult);
        QVERIFY(!o.headroom.enabled());
        s.noSplitClasses = std::vector<std::string>{};
        QVERIFY(models::planOptionsFor(model, s).noSplitClasses.empty()); // an explicit empty list stays empty
    }

    void keepFp32OnlyWhereTransformersKeepsIt_data()
    {
        QTest::addColumn<int>("load");
        QTest::addColumn<bool>("kept");
        QTest::newRow("as stored") << -1 << true;
        QTest::newRow("float16") << int(DType::F16) << true;
        QTest::newRow("bfloat16") << int(DType::BF16) << true;
        QTest::newRow("int8") << int(DType::I8) << true;
        QTest::newRow("float32") << int(DType::F32) << false;
        QTest::newRow("float64") << int(DType::F64) << false;
    }
    void keepFp32OnlyWhereTransformersKeepsIt()
    {
        QFETCH(int, load);
        QFETCH(bool, kept);
        const models::ModelDescription t5 = modelOf("t5", DType::F32);
        models::PlanSettings s;
        if (load >= 0)
            s.dtype = DType(load);
        const auto o = models::planOptionsFor(t5, s);
        QCOMPARE(o.specialDtypes.empty(), !kept);
        if (kept)
            QVERIFY(o.specialDtypes == models::keepFp32SpecialDtypes(t5));
    }

    void headroomIsInTheLoadDtype_data()
    {
        QTest::addColumn<int>("stored");
        QTest::addColumn<int>("load");
        QTest::addColumn<int>("expected");
        QTest::newRow("load dtype") << int(DType::F16) << int(DType::F32) << int(DType::F32);
        QTest::newRow("as stored") << int(DType::BF16) << -1 << int(DType::BF16);
        QTest::newRow("quantised target: as stored") << int(DType::F16) << int(DType::I8) << int(DType::F16);
    }
    void headroomIsInTheLoadDtype()
    {
        QFETCH(int, stored);
        QFETCH(int, load);
        QFETCH(int, expected);
        const models::ModelDescription model = modelOf("llama", DType(stored));
        QCOMPARE(int(*models::storedDtype(model)), stored);
        models::PlanSettings s;
        if (load >= 0)
            s.dtype = DType(load);
        s.headroomTokens = 128;
        s.headroomBatch = 2;
        const auto o = models::planOptionsFor(model, s);
        QVERIFY(o.headroom.enabled());
        QCOMPARE(o.headroom.tokens, std::int64_t(128));
        QCOMPARE(o.headroom.batchSize, std::int64_t(2));
        QCOMPARE(o.headroom.hiddenSize, std::int64_t(16));
        QCOMPARE(int(o.headroom.dtype), expected);
    }

    void headroomNeedsAHiddenSize()
    {
        const models::ModelDescription model = batchNormModel(DType::F32);
        models::PlanSettings s;
        QVERIFY(!models::planOptionsFor(model, s).headroom.enabled());
        s.headroomTokens = 16;
        try {
            models::planOptionsFor(model, s);
            QFAIL("expected an error");
        } catch (const Error &e) {
            QCOMPARE(int(e.kind()), int(ErrorKind::InvalidArgument));
            QVERIFY(e.message().find("hidden size") != std::string::npos);
        }
    }

    void storedDtypeIgnoresKeptTensorsAndIntegers()
    {
        QCOMPARE(int(*models::storedDtype(modelOf("t5", DType::BF16))), int(DType::BF16));
        models::ModelDescription ints;
        planner::Tensor t;
        t.dtype = DType::I32;
        t.shape = {4};
        ints.tree = planner::ModuleTree::fromTensorNames({{"ids.weight", t}});
        QVERIFY(!models::storedDtype(ints));
    }

    // ---- hardware profile -> budgets --------------------------------------------------------------

    void budgetsLeaveDiskOut()
    {
        models::HardwareProfile profile;
        profile.name = "two-gpus";
        profile.devices = {{"0", 24000, "RTX A"}, {"1", 12000, ""}, {"cpu", 64000, "RAM"}, {"disk", 500000, "NVMe"}};
        const models::ProfileBudgets b = models::budgetsFor(profile);
        QCOMPARE(b.devices.size(), std::size_t(3));
        QVERIFY(b.devices[0].device == planner::Device::gpu(0));
        QCOMPARE(b.devices[0].capacityBytes, std::int64_t(24000));
        QCOMPARE(b.devices[0].label, std::string("RTX A"));
        QVERIFY(b.devices[0].simulated && b.devices[1].simulated);
        QVERIFY(b.devices[2].device == planner::Device::cpu());
        QVERIFY(!b.devices[2].simulated);
        QCOMPARE(b.diskCapacityBytes.value_or(-1), std::int64_t(500000));
        const planner::MaxMemory want = {{planner::Device::gpu(0), 24000}, {planner::Device::gpu(1), 12000}, {planner::Device::cpu(), 64000}};
        QVERIFY(b.maxMemory() == want);
        profile.devices.pop_back();
        QVERIFY(!models::budgetsFor(profile).diskCapacityBytes);
    }

    void bundledProfilesGiveBudgets()
    {
        const auto rtx = models::budgetsFor(models::hardwareProfile("rtx4090-64gb"));
        QVERIFY(!rtx.devices.empty());
        QCOMPARE(rtx.maxMemory().size(), rtx.devices.size());
        for (const auto &p : models::listHardware()) {
            QVERIFY2(p.error.empty(), p.error.c_str());
            for (const auto &d : models::budgetsFor(p).devices)
                QVERIFY(d.capacityBytes > 0);
        }
    }

    void profileWithADeviceTwiceIsRefused()
    {
        QTemporaryDir dir;
        QDir(dir.path()).mkpath("hardware");
        writeJson(dir.path().toStdString() + "/hardware/twice.json",
                  json::parse(R"({"devices": [{"device": 0, "capacity": "8GB"}, {"device": "cuda:0", "capacity": "8GB"}]})"));
        const QByteArray saved = qgetenv("MIZAN_RESOURCES");
        qputenv("MIZAN_RESOURCES", dir.path().toUtf8());
        std::string message;
        try {
            models::hardwareProfile("twice");
        } catch (const Error &e) {
            message = e.message();
        }
        const auto listed = models::listHardware();
        qputenv("MIZAN_RESOURCES", saved);
        QVERIFY2(message.find("devices[1]: device 0 is listed twice") != std::string::npos, message.c_str());
        QCOMPARE(listed.size(), std::size_t(1));
        QVERIFY(!listed[0].error.empty());
    }

    // ---- plan files keep the rule -----------------------------------------------------------------

    void planFilesKeepTheDtypeRule()
    {
        planner::PlanFile file;
        file.options.maxMemory = {{planner::Device::cpu(), 100}};
        file.options.dtype = DType::F32;
        file.options.dtypeRule = planner::DtypeRule::AccelerateNeverGrow;
        auto j = planner::planFileToJson(file);
        QCOMPARE(j["options"]["dtype_rule"].get<std::string>(), std::string("accelerate"));
        QCOMPARE(int(planner::planFileFromJson(j).options.dtypeRule), int(planner::DtypeRule::AccelerateNeverGrow));
        j["options"].erase("dtype_rule"); // a file written before the rule was recorded
        QCOMPARE(int(planner::planFileFromJson(j).options.dtypeRule), int(planner::DtypeRule::Transformers));
        j["options"]["dtype_rule"] = "bigger";
        try {
            planner::planFileFromJson(j, "x.mizan.json");
            QFAIL("expected an error");
        } catch (const Error &e) {
            QCOMPARE(e.file(), std::string("x.mizan.json"));
            QVERIFY(e.message().find("dtype_rule") != std::string::npos);
        }
    }
};

QTEST_GUILESS_MAIN(TestPlanOptions)
#include "tst_planoptions.moc"
