// The libtorch forward passes (models/torch): KV-cache decoding against full recomputation,
// zero-copy weights, token choice and generation, steps run with separate weight sources,
// errors, and Mixtral's two weight layouts. Fixtures: demo checkpoints written into temporary
// folders (float32, 2 layers, hidden 64, a vocabulary of 256).

// libtorch before Qt: Qt's `slots` macro breaks torch/torch.h.
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include "loader/checkpoint.h"
#include "loader/torch/torchtensor.h"
#include "models/demo.h"
#include "models/describe.h"
#include "models/resources.h"
#include "models/torch/forward.h"
#include "tests/reference/reference.h"
#include "planner/error.h"
#include "testutil.h"
#include "tinydemo.h"

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <memory>
#include <set>

using namespace mizan;
using namespace mizan::models::torchfwd;
using mizan::test::errorOf;

namespace {

// The demo models of the tests, by row name.
models::DemoOptions demoOptions(const std::string &row)
{
    std::string preset = row;
    if (row == "llama-3.1-8b tied" || row == "llama-2-7b" || row == "llama-3.1-8b")
        preset = row.substr(0, row.find(' '));
    else if (row == "mistral-7b window 3")
        preset = "mistral-7b";
    else if (row == "mixtral-8x7b v4")
        preset = "mixtral-8x7b";
    models::DemoOptions o = test::tinyDemoOptions(preset, 2, 256, 7);
    if (row == "llama-3.1-8b tied")
        o.config["tie_word_embeddings"] = true;
    if (row == "mistral-7b window 3")
        o.config["sliding_window"] = 3;
    if (row == "mixtral-8x7b v4")
        o.layout = models::TransformersLayout::V4;
    return o;
}

const char *const kRows[] = {"llama-3.1-8b",   "llama-2-7b",   "llama-3.1-8b tied", "mistral-7b",
                             "mistral-7b window 3", "qwen2-7b", "mixtral-8x7b", "mixtral-8x7b v4", "gpt2"};

struct Demo {
    QTemporaryDir dir;
    loader::Checkpoint checkpoint;
    std::unique_ptr<CausalLM> model;
    nlohmann::json config;
};

std::unique_ptr<Demo> writeDemo(const models::DemoOptions &options)
{
    auto demo = std::make_unique<Demo>();
    if (!demo->dir.isValid())
        qFatal("no temporary folder");
    models::writeDemo(demo->dir.path().toStdString(), options);
    demo->checkpoint = loader::open(demo->dir.path().toStdString());
    demo->config = nlohmann::json(demo->checkpoint.config);
    demo->model = CausalLM::fromCheckpoint(demo->checkpoint);
    return demo;
}

std::unique_ptr<Demo> writeDemo(const std::string &row)
{
    return writeDemo(demoOptions(row));
}

torch::Tensor idsOf(const std::vector<std::int64_t> &ids)
{
    return torch::tensor(ids, torch::kInt64).unsqueeze(0);
}

double maxDiff(const torch::Tensor &a, const torch::Tensor &b)
{
    return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

// A source that hands out copies of another's tensors (weights "on another device").
class CopyingSource : public WeightSource {
public:
    explicit CopyingSource(WeightSource &inner) : m_inner(inner) {}
    torch::Tensor get(const std::string &name) override
    {
        ++m_calls;
        return m_inner.get(name).clone();
    }
    int calls() const { return m_calls; }

private:
    WeightSource &m_inner;
    int m_calls = 0;
};

void rewriteConfig(const Demo &demo, const nlohmann::json &config)
{
    std::ofstream out(demo.dir.filePath("config.json").toStdString(), std::ios::trunc);
    out << config.dump(2);
}

const std::vector<std::int64_t> kPrompt{3, 17, 250, 42, 9, 128, 77, 5};

} // namespace

class TestForward : public QObject {
    Q_OBJECT

private:
    void addRows()
    {
        QTest::addColumn<QString>("row");
        for (const char *row : kRows)
            QTest::newRow(row) << QString::fromLatin1(row);
    }

private Q_SLOTS:
    void initTestCase()
    {
        torch::set_num_threads(1); // deterministic and polite on a shared machine
    }

    // Every demo row is a model the registry and the forward agree on, names and shapes.
    void checkpointMatchesSteps_data() { addRows(); }
    void checkpointMatchesSteps()
    {
        QFETCH(QString, row);
        const auto demo = writeDemo(row.toStdString());
        checkCheckpoint(*demo->model, demo->checkpoint);
        const auto &steps = demo->model->steps();
        QCOMPARE(steps.size(), std::size_t(5)); // embedding, 2 blocks, norm, head
        QCOMPARE(steps.front().kind, StepKind::Embedding);
        QCOMPARE(steps[1].kind, StepKind::Block);
        QCOMPARE(steps[1].layer, 0);
        QCOMPARE(steps[3].kind, StepKind::Norm);
        QCOMPARE(steps.back().kind, StepKind::Head);
        QCOMPARE(steps.back().module, std::string("lm_head"));
        // The registry's module tree has a module for every step.
        const auto description = models::describe(demo->checkpoint);
        for (const auto &step : steps)
            QVERIFY2(description.tree.find(step.module) >= 0, step.module.c_str());
        QCOMPARE(demo->model->vocabSize(), std::int64_t(256));
    }

    // (a) Prefill then one position at a time, and a prefill in chunks, give the logits of one
    // full pass over the whole sequence; two sequences in one batch give each one's logits.
    // The runtime's forward passes against the separately written float64 reference
    // (tests/reference: no code shared): the same logits within 1e-5 for every family, for the
    // prompt as one prefill and decoded one position at a time with the KV cache.
    void matchesReference_data() { addRows(); }
    void matchesReference()
    {
        QFETCH(QString, row);
        const auto demo = writeDemo(row.toStdString());
        const CausalLM &model = *demo->model;
        auto source = checkpointSource(demo->checkpoint, torch::kFloat32, torch::kCPU);
        torch::Tensor expected;
        try {
            expected = testref::referenceLogits(demo->dir.path().toStdString(), kPrompt);
        } catch (const std::exception &e) {
            QFAIL(e.what());
        }
        QCOMPARE(expected.size(0), std::int64_t(kPrompt.size()));
        DecodeState state = model.newState();
        const torch::Tensor prefill = logits(model, idsOf(kPrompt), state, *source)[0];
        const double diff = maxDiff(prefill, expected);
        QVERIFY2(diff <= 1e-5, qPrintable(QString("prefill: max diff %1 from the reference").arg(diff)));

        DecodeState stepwise = model.newState();
        for (std::size_t i = 0; i < kPrompt.size(); ++i) {
            const torch::Tensor one = logits(model, idsOf({kPrompt[i]}), stepwise, *source)[0][0];
            const double d = maxDiff(one, expected[static_cast<std::int64_t>(i)]);
            QVERIFY2(d <= 1e-5, qPrintable(QString("decode position %1: max diff %2 from the reference").arg(i).arg(d)));
        }
    }

    void cachedDecodeEqualsFullPass_data() { addRows(); }
    void cachedDecodeEqualsFullPass()
    {
        QFETCH(QString, row);
        const auto demo = writeDemo(row.toStdString());
        const CausalLM &model = *demo->model;
        auto source = checkpointSource(demo->checkpoint, torch::kFloat32, torch::kCPU);

        DecodeState full = model.newState();
        const torch::Tensor reference = logits(model, idsOf(kPrompt), full, *source);
        QVERIFY(reference.sizes() == c10::IntArrayRef({1, std::int64_t(kPrompt.size()), 256}));
        QCOMPARE(full.position, std::int64_t(kPrompt.size()));
        // Not a degenerate model: positions see different contexts, logits are not flat.
        QVERIFY(maxDiff(reference[0][0], reference[0][1]) > 1e-4);
        QVERIFY(reference.abs().max().item<double>() > 1e-3);

        for (const std::vector<int> &chunks : {std::vector<int>{5, 1, 1, 1}, std::vector<int>{3, 2, 1, 2},
                                               std::vector<int>{1, 1, 1, 1, 1, 1, 1, 1}}) {
            DecodeState state = model.newState();
            std::vector<torch::Tensor> parts;
            std::size_t at = 0;
            for (int n : chunks) {
                const std::vector<std::int64_t> ids(kPrompt.begin() + static_cast<std::ptrdiff_t>(at),
                                                    kPrompt.begin() + static_cast<std::ptrdiff_t>(at + n));
                parts.push_back(logits(model, idsOf(ids), state, *source));
                at += static_cast<std::size_t>(n);
            }
            const double diff = maxDiff(torch::cat(parts, 1), reference);
            QVERIFY2(diff <= 1e-5, qPrintable(QString("chunks %1: max diff %2").arg(chunks.size()).arg(diff)));
        }

        // A batch of two sequences: row 1 gives the logits it gives alone.
        const std::vector<std::int64_t> other{1, 2, 3, 4, 5, 6, 7, 8};
        DecodeState batchState = model.newState();
        const torch::Tensor batch = logits(model, torch::stack({idsOf(kPrompt)[0], idsOf(other)[0]}), batchState, *source);
        DecodeState alone = model.newState();
        const torch::Tensor second = logits(model, idsOf(other), alone, *source);
        QVERIFY(maxDiff(batch[0], reference[0]) <= 1e-5);
        QVERIFY(maxDiff(batch[1], second[0]) <= 1e-5);
    }

    // The cache holds 2 (keys and values) x batch x key/value heads x positions x head size
    // float32 values per block, the sizes of the config the demo wrote.
    void cacheBytes()
    {
        const auto demo = writeDemo("llama-3.1-8b");
        const auto &c = demo->config;
        const std::int64_t kv = c["num_key_value_heads"], heads = c["num_attention_heads"], hidden = c["hidden_size"];
        const std::int64_t headDim = c.contains("head_dim") ? c["head_dim"].get<std::int64_t>() : hidden / heads;
        QVERIFY(kv < heads); // grouped-query attention kept by the demo
        auto source = checkpointSource(demo->checkpoint, torch::kFloat32, torch::kCPU);
        DecodeState state = demo->model->newState();
        QCOMPARE(state.bytes(), std::int64_t(0));
        logits(*demo->model, idsOf({1, 2, 3, 4, 5}), state, *source);
        QCOMPARE(state.bytes(0), 2 * 1 * kv * 5 * headDim * 4);
        QCOMPARE(state.bytes(), 2 * state.bytes(0));
        state.clear();
        QCOMPARE(state.position, std::int64_t(0));
        QCOMPARE(state.bytes(), std::int64_t(0));
    }

    // Steps after a forward whose state was not advanced are refused, not silently wrong.
    void missingAdvanceIsAnError()
    {
        const auto demo = writeDemo("llama-2-7b");
        auto source = checkpointSource(demo->checkpoint, torch::kFloat32, torch::kCPU);
        DecodeState state = demo->model->newState();
        torch::Tensor x = idsOf({1, 2, 3});
        x = demo->model->run(0, x, state, *source);
        demo->model->run(1, x, state, *source);
        const auto e = errorOf([&] { demo->model->run(1, x, state, *source); });
        QVERIFY(e);
        QCOMPARE(e->kind(), ErrorKind::InvalidArgument);
        QVERIFY(QString::fromStdString(e->message()).contains("advance()"));
    }

    // (b) float32 on the CPU: the tensor is the mmapped shard data; float16 is converted.
    void float32IsZeroCopy()
    {
        const auto demo = writeDemo("gpt2");
        auto source = checkpointSource(demo->checkpoint, torch::kFloat32, torch::kCPU);
        const auto &catalog = demo->checkpoint.catalog;
        for (const char *name : {"transformer.wte.weight", "transformer.h.1.mlp.c_fc.weight"}) {
            const auto &entry = catalog.tensors[static_cast<std::size_t>(catalog.find(name))];
            const torch::Tensor t = source->get(name);
            QCOMPARE(t.data_ptr(), static_cast<void *>(const_cast<std::byte *>(demo->checkpoint.tensorBytes(entry).data())));
            QCOMPARE(t.scalar_type(), torch::kFloat32);
        }
        QCOMPARE(source->stats().inPlace, std::int64_t(2));
        QCOMPARE(source->stats().converted, std::int64_t(0));
        // The tied head reads the stored embedding itself.
        QCOMPARE(source->storedName("lm_head.weight"), std::string("transformer.wte.weight"));
        QCOMPARE(source->get("lm_head.weight").data_ptr(), source->get("transformer.wte.weight").data_ptr());
        QCOMPARE(source->fileOf("lm_head.weight"),
                 catalog.shards[static_cast<std::size_t>(catalog.tensors[static_cast<std::size_t>(
                                                              catalog.find("transformer.wte.weight"))].shard)].path);
    }

    void float16IsConverted()
    {
        auto options = demoOptions("llama-2-7b");
        options.dtype = DType::F16;
        const auto demo = writeDemo(options);
        auto source = checkpointSource(demo->checkpoint, torch::kFloat32, torch::kCPU);
        const std::string name = "model.layers.0.self_attn.q_proj.weight";
        const auto &entry = demo->checkpoint.catalog.tensors[static_cast<std::size_t>(demo->checkpoint.catalog.find(name))];
        QCOMPARE(entry.dtype, DType::F16);
        const torch::Tensor t = source->get(name);
        QCOMPARE(t.scalar_type(), torch::kFloat32);
        QVERIFY(torch::equal(t, loader::toTorch(demo->checkpoint, entry).to(torch::kFloat32)));
        QCOMPARE(source->stats().converted, std::int64_t(1));
        QCOMPARE(source->stats().convertedBytes, entry.byteSize);
        QCOMPARE(source->get(name).data_ptr(), t.data_ptr()); // kept: converted once
        QCOMPARE(source->stats().converted, std::int64_t(1));
        // The whole model runs on the converted weights.
        DecodeState state = demo->model->newState();
        const torch::Tensor out = logits(*demo->model, idsOf(kPrompt), state, *source);
        QCOMPARE(out.scalar_type(), torch::kFloat32);
        QVERIFY(torch::isfinite(out).all().item<bool>());
    }

    // bfloat16 compute runs and stays close to float32.
    void bfloat16Compute_data() { addRows(); }
    void bfloat16Compute()
    {
        QFETCH(QString, row);
        const auto demo = writeDemo(row.toStdString());
        auto f32 = checkpointSource(demo->checkpoint, torch::kFloat32, torch::kCPU);
        auto bf16 = checkpointSource(demo->checkpoint, torch::kBFloat16, torch::kCPU);
        DecodeState a = demo->model->newState(), b = demo->model->newState();
        const torch::Tensor exact = logits(*demo->model, idsOf(kPrompt), a, *f32);
        const torch::Tensor low = logits(*demo->model, idsOf(kPrompt), b, *bf16);
        QCOMPARE(low.scalar_type(), torch::kBFloat16);
        QCOMPARE(b.layers[0].key.scalar_type(), torch::kBFloat16);
        const double scale = exact.abs().max().item<double>();
        QVERIFY2(maxDiff(low, exact) <= 0.05 * scale, qPrintable(QString::number(maxDiff(low, exact) / scale)));
    }

    // (c) Greedy generation repeats itself; sampling repeats itself for a seed and differs
    // across seeds (near-uniform logits of random weights over 256 ids: 8 equal draws by chance
    // have a probability around 256^-8); top-k 1 is greedy.
    void generationIsDeterministic()
    {
        const auto demo = writeDemo("llama-3.1-8b");
        auto source = checkpointSource(demo->checkpoint, torch::kFloat32, torch::kCPU);
        const std::vector<std::int64_t> prompt{1, 2, 3};
        const auto greedy = generate(*demo->model, *source, prompt, 8);
        QCOMPARE(greedy.size(), std::size_t(8));
        QCOMPARE(generate(*demo->model, *source, prompt, 8), greedy);
        // Greedy generation is the argmax of a full recomputation at every step.
        std::vector<std::int64_t> sequence = prompt;
        for (std::int64_t id : greedy) {
            DecodeState state = demo->model->newState();
            const torch::Tensor out = logits(*demo->model, idsOf(sequence), state, *source);
            QCOMPARE(out[0][-1].argmax().item<std::int64_t>(), id);
            sequence.push_back(id);
        }
        const Sampling seed1{1.0f, 0, 1}, seed2{1.0f, 0, 2}, top1{1.0f, 1, 5};
        const auto a = generate(*demo->model, *source, prompt, 8, seed1);
        QCOMPARE(generate(*demo->model, *source, prompt, 8, seed1), a);
        QVERIFY(generate(*demo->model, *source, prompt, 8, seed2) != a);
        QCOMPARE(generate(*demo->model, *source, prompt, 8, top1), greedy);
    }

    // Token choice on hand-made logits: greedy takes the maximum; top-k draws only among the k
    // largest, in proportion to their softmax; one seed draws one sequence.
    void chooseTokenRules()
    {
        const torch::Tensor scores = torch::tensor({0.0f, 5.0f, 0.0f, 5.0f - std::log(3.0f), -1.0f});
        QCOMPARE(chooseToken(scores, Sampling{}, nullptr), std::int64_t(1));
        torch::Generator gen = at::make_generator<at::CPUGeneratorImpl>(11);
        int counts[5] = {0, 0, 0, 0, 0};
        for (int i = 0; i < 4000; ++i)
            ++counts[chooseToken(scores, Sampling{1.0f, 2, 0}, &gen)];
        QCOMPARE(counts[0] + counts[2] + counts[4], 0);
        // exp(5) : exp(5 - ln 3) = 3 : 1, so about 3000 : 1000.
        QVERIFY2(counts[1] > 2800 && counts[1] < 3200, qPrintable(QString::number(counts[1])));
        QCOMPARE(chooseToken(scores, Sampling{1.0f, 0, 9}, nullptr), chooseToken(scores, Sampling{1.0f, 0, 9}, nullptr));
    }

    // (d) Every step run with its own weight source (devices simulated on the CPU: one hands
    // out copies) gives the logits of one source, bit for bit, in prefill and decode.
    void stepsWithSeparateSources_data() { addRows(); }
    void stepsWithSeparateSources()
    {
        QFETCH(QString, row);
        const auto demo = writeDemo(row.toStdString());
        const CausalLM &model = *demo->model;
        auto single = checkpointSource(demo->checkpoint, torch::kFloat32, torch::kCPU);
        std::vector<std::unique_ptr<CheckpointSource>> own;
        std::vector<std::unique_ptr<CopyingSource>> copying;
        for (std::size_t i = 0; i < model.steps().size(); ++i) {
            own.push_back(checkpointSource(demo->checkpoint, torch::kFloat32, torch::kCPU));
            copying.push_back(std::make_unique<CopyingSource>(*own.back()));
        }
        DecodeState one = model.newState(), split = model.newState();
        for (const auto &ids : {std::vector<std::int64_t>(kPrompt.begin(), kPrompt.begin() + 5),
                                std::vector<std::int64_t>{kPrompt[5]}, std::vector<std::int64_t>{kPrompt[6]}}) {
            const torch::Tensor expected = logits(model, idsOf(ids), one, *single);
            torch::Tensor x = idsOf(ids);
            for (std::size_t i = 0; i < model.steps().size(); ++i)
                x = model.run(i, x, split, i % 2 ? static_cast<WeightSource &>(*copying[i]) : *own[i]);
            split.advance(static_cast<std::int64_t>(ids.size()));
            QVERIFY(torch::equal(x, expected));
        }
        QVERIFY(copying[1]->calls() > 0);
    }

    // (e) Clear errors naming what is wrong.
    void configErrors_data()
    {
        QTest::addColumn<QString>("preset");
        QTest::addColumn<QString>("change");   // JSON merged into the preset config
        QTest::addColumn<int>("kind");
        QTest::addColumn<QString>("named");
        QTest::newRow("unknown model_type") << "t0pp" << "{}" << int(ErrorKind::UnsupportedFormat) << "\"t5\"";
        QTest::newRow("unknown family of a llama config")
            << "llama-2-7b" << R"({"model_type": "llama9", "architectures": ["Llama9ForCausalLM"]})"
            << int(ErrorKind::UnsupportedFormat) << "\"llama9\"";
        QTest::newRow("not a causal LM")
            << "llama-2-7b" << R"({"architectures": ["LlamaForSequenceClassification"]})"
            << int(ErrorKind::UnsupportedFormat) << "LlamaForSequenceClassification";
        QTest::newRow("yarn rope scaling")
            << "llama-3.1-8b" << R"({"rope_scaling": {"rope_type": "yarn", "factor": 4.0}})"
            << int(ErrorKind::UnsupportedFormat) << "rope_scaling.rope_type";
        QTest::newRow("dynamic rope scaling (old key)")
            << "llama-2-7b" << R"({"rope_scaling": {"type": "dynamic", "factor": 2.0}})"
            << int(ErrorKind::UnsupportedFormat) << "\"dynamic\"";
        QTest::newRow("llama3 scaling without a factor")
            << "llama-3.1-8b" << R"({"rope_scaling": {"factor": null}})"
            << int(ErrorKind::InvalidConfig) << "rope_scaling.factor";
        QTest::newRow("unknown activation") << "mistral-7b" << R"({"hidden_act": "mish"})"
                                            << int(ErrorKind::UnsupportedFormat) << "hidden_act";
        QTest::newRow("missing hidden size") << "qwen2-7b" << R"({"hidden_size": null})"
                                             << int(ErrorKind::InvalidConfig) << "hidden_size";
        QTest::newRow("bad head grouping") << "mixtral-8x7b" << R"({"num_key_value_heads": 5})"
                                           << int(ErrorKind::InvalidConfig) << "num_key_value_heads";
        QTest::newRow("gpt2 cross-attention") << "gpt2" << R"({"add_cross_attention": true})"
                                              << int(ErrorKind::UnsupportedFormat) << "add_cross_attention";
    }
    void configErrors()
    {
        QFETCH(QString, preset);
        QFETCH(QString, change);
        QFETCH(int, kind);
        QFETCH(QString, named);
        nlohmann::json config = models::presetConfig(preset.toStdString());
        config.merge_patch(nlohmann::json::parse(change.toStdString()));
        const auto e = errorOf([&] { CausalLM::fromConfig(config, "/demo/config.json"); });
        QVERIFY(e);
        QCOMPARE(int(e->kind()), kind);
        QCOMPARE(e->file(), std::string("/demo/config.json"));
        QVERIFY2(QString::fromStdString(e->message()).contains(named), e->message().c_str());
    }

    // The rope scalings that are implemented build.
    void implementedRopeScalings()
    {
        nlohmann::json config = models::presetConfig("llama-2-7b");
        for (const char *scaling : {R"({"rope_type": "linear", "factor": 2.0})", R"({"type": "default"})"}) {
            config["rope_scaling"] = nlohmann::json::parse(scaling);
            QVERIFY(CausalLM::fromConfig(config)->family() == "llama");
        }
    }

    void missingTensorIsNamed()
    {
        // A tied demo stores no lm_head.weight; untied, its config asks for one.
        const auto demo = writeDemo("llama-3.1-8b tied");
        QCOMPARE(demo->checkpoint.catalog.find("lm_head.weight"), -1);
        nlohmann::json config = demo->config;
        config["tie_word_embeddings"] = false;
        rewriteConfig(*demo, config);
        const loader::Checkpoint untied = loader::open(demo->dir.path().toStdString());
        const auto model = CausalLM::fromCheckpoint(untied);
        const auto checked = errorOf([&] { checkCheckpoint(*model, untied); });
        QVERIFY(checked);
        QCOMPARE(checked->kind(), ErrorKind::NotFound);
        QVERIFY(QString::fromStdString(checked->message()).contains("\"lm_head.weight\""));
        QCOMPARE(checked->file(), untied.path);
        auto source = checkpointSource(untied, torch::kFloat32, torch::kCPU);
        const auto ran = errorOf([&] { generate(*model, *source, {1, 2}, 1); });
        QVERIFY(ran);
        QCOMPARE(ran->kind(), ErrorKind::NotFound);
        QVERIFY(QString::fromStdString(ran->message()).contains("\"lm_head.weight\""));
    }

    void wrongShapeIsNamed()
    {
        const auto demo = writeDemo("qwen2-7b");
        nlohmann::json config = demo->config;
        config["intermediate_size"] = config["intermediate_size"].get<std::int64_t>() + 1;
        const auto model = CausalLM::fromConfig(config, "config.json");
        const std::string name = "model.layers.0.mlp.gate_proj.weight";
        const auto &catalog = demo->checkpoint.catalog;
        const std::string shard =
            catalog.shards[static_cast<std::size_t>(catalog.tensors[static_cast<std::size_t>(catalog.find(name))].shard)].path;
        const auto checked = errorOf([&] { checkCheckpoint(*model, demo->checkpoint); });
        QVERIFY(checked);
        QCOMPARE(checked->kind(), ErrorKind::BadShape);
        QVERIFY2(QString::fromStdString(checked->message()).contains("\"" + QString::fromStdString(name) + "\""),
                 checked->message().c_str());
        QCOMPARE(checked->file(), shard);
        auto source = checkpointSource(demo->checkpoint, torch::kFloat32, torch::kCPU);
        const auto ran = errorOf([&] { generate(*model, *source, {1, 2}, 1); });
        QVERIFY(ran);
        QCOMPARE(ran->kind(), ErrorKind::BadShape);
        QVERIFY(QString::fromStdString(ran->message()).contains("\"" + QString::fromStdString(name) + "\""));
        QCOMPARE(ran->file(), shard);
    }

    void badInputsAreErrors()
    {
        const auto demo = writeDemo("gpt2");
        auto source = checkpointSource(demo->checkpoint, torch::kFloat32, torch::kCPU);
        DecodeState state = demo->model->newState();
        for (const auto &ids : {idsOf({1, 256}), idsOf({-1}), torch::zeros({3}, torch::kInt64),
                                torch::zeros({1, 2}, torch::kFloat32)}) {
            const auto e = errorOf([&] { demo->model->run(0, ids, state, *source); });
            QVERIFY(e);
            QCOMPARE(e->kind(), ErrorKind::InvalidArgument);
        }
        // GPT-2 has 64 learned positions in this demo.
        state.position = 63;
        const auto past = errorOf([&] { demo->model->run(0, idsOf({1, 2}), state, *source); });
        QVERIFY(past);
        QVERIFY(QString::fromStdString(past->message()).contains("n_positions"));
        const auto step = errorOf([&] { demo->model->run(99, idsOf({1}), state, *source); });
        QVERIFY(step);
    }

    // (f) The 4.x layout of a Mixtral demo holds the same weights as the v5 layout of the same
    // seed, split per expert, and the forward gives the same logits from either.
    void mixtralLayoutsAgree()
    {
        const auto v5 = writeDemo("mixtral-8x7b");
        const auto v4 = writeDemo("mixtral-8x7b v4");
        QCOMPARE(v5->model->family(), std::string("mixtral"));
        QVERIFY(v4->checkpoint.catalog.find("model.layers.1.block_sparse_moe.experts.7.w3.weight") >= 0);
        QCOMPARE(v4->checkpoint.catalog.find("model.layers.1.mlp.experts.gate_up_proj"), -1);
        auto s5 = checkpointSource(v5->checkpoint, torch::kFloat32, torch::kCPU);
        auto s4 = checkpointSource(v4->checkpoint, torch::kFloat32, torch::kCPU);
        const torch::Tensor gateUp = s5->get("model.layers.1.mlp.experts.gate_up_proj");
        const std::int64_t inter = gateUp.size(1) / 2;
        QVERIFY(torch::equal(s4->get("model.layers.1.block_sparse_moe.experts.3.w1.weight"), gateUp[3].narrow(0, 0, inter)));
        QVERIFY(torch::equal(s4->get("model.layers.1.block_sparse_moe.experts.3.w3.weight"), gateUp[3].narrow(0, inter, inter)));
        QVERIFY(torch::equal(s4->get("model.layers.1.block_sparse_moe.experts.6.w2.weight"),
                             s5->get("model.layers.1.mlp.experts.down_proj")[6]));
        QVERIFY(torch::equal(s4->get("model.layers.0.block_sparse_moe.gate.weight"), s5->get("model.layers.0.mlp.gate.weight")));

        DecodeState a = v5->model->newState(), b = v4->model->newState();
        const torch::Tensor l5 = logits(*v5->model, idsOf(kPrompt), a, *s5);
        const torch::Tensor l4 = logits(*v4->model, idsOf(kPrompt), b, *s4);
        QVERIFY2(maxDiff(l5, l4) <= 1e-5, qPrintable(QString::number(maxDiff(l5, l4))));
        // Each layout's model reads its own names: the v5 model finds nothing in a v4 checkpoint.
        const auto e = errorOf([&] { checkCheckpoint(*v5->model, v4->checkpoint); });
        QVERIFY(e);
        QCOMPARE(e->kind(), ErrorKind::NotFound);
    }

    // A sliding window of 3 changes what positions past the third see, and nothing before.
    void slidingWindowMasks()
    {
        const auto full = writeDemo("mistral-7b");
        const auto windowed = writeDemo("mistral-7b window 3");
        auto a = checkpointSource(full->checkpoint, torch::kFloat32, torch::kCPU);
        auto b = checkpointSource(windowed->checkpoint, torch::kFloat32, torch::kCPU);
        DecodeState sa = full->model->newState(), sb = windowed->model->newState();
        const torch::Tensor la = logits(*full->model, idsOf(kPrompt), sa, *a);
        const torch::Tensor lb = logits(*windowed->model, idsOf(kPrompt), sb, *b);
        QVERIFY(maxDiff(la[0].narrow(0, 0, 3), lb[0].narrow(0, 0, 3)) <= 1e-6);
        QVERIFY(maxDiff(la[0].narrow(0, 3, 5), lb[0].narrow(0, 3, 5)) > 1e-5);
    }
};

QTEST_GUILESS_MAIN(TestForward)
#include "tst_forward.moc"
