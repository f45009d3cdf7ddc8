// Export of device maps to llama.cpp, vLLM and mistral.rs (planner/export.h) and the comparison
// of two maps (planner/plandiff.h), on the module trees of bundled presets.
#include "models/planoptions.h"
#include "models/source.h"
#include "planner/error.h"
#include "planner/export.h"
#include "planner/plandiff.h"
#include "planner/validate.h"

#include <QtTest>

#include <algorithm>
#include <map>
#include <memory>
#include <regex>

using namespace mizan;
using planner::Device;
using planner::DeviceMap;

namespace {

struct Model {
    models::Source source;
    planner::PlanOptions options;
    const planner::ModuleTree &tree() const { return source.model.tree; }
};

const Model &modelOf(const QString &preset)
{
    static std::map<QString, std::unique_ptr<Model>> cache;
    auto &m = cache[preset];
    if (!m) {
        m = std::make_unique<Model>();
        m->source = models::openSource(preset.toStdString());
        m->options = models::planOptionsFor(m->source.model, {});
    }
    return *m;
}

// "model.embed_tokens=0;model.layers.{0-15}=0;model.layers.{16-31}=cpu;lm_head=disk": keys in
// this order, "{a-b}" standing for every number from a to b; "=0" is the whole model.
DeviceMap mapOf(const QString &spec)
{
    DeviceMap map;
    for (const QString &entry : spec.split(';', Qt::SkipEmptyParts)) {
        const auto eq = entry.lastIndexOf('=');
        const QString name = entry.left(eq);
        const Device device = Device::fromString(entry.mid(eq + 1).toStdString());
        const auto open = name.indexOf('{');
        if (open < 0) {
            map.emplace_back(name.toStdString(), device);
            continue;
        }
        const auto close = name.indexOf('}');
        const QStringList range = name.mid(open + 1, close - open - 1).split('-');
        for (int k = range[0].toInt(); k <= range[1].toInt(); ++k)
            map.emplace_back((name.left(open) + QString::number(k) + name.mid(close + 1)).toStdString(), device);
    }
    return map;
}

QStringList toList(const std::vector<std::string> &items)
{
    QStringList out;
    for (const auto &i : items)
        out << QString::fromStdString(i);
    return out;
}

QStringList noteKinds(const planner::EngineExport &e)
{
    QStringList out;
    for (const auto &n : e.notes)
        out << QString::fromStdString(n.kind);
    return out;
}

QString noteText(const planner::EngineExport &e, const QString &kind)
{
    for (const auto &n : e.notes)
        if (QString::fromStdString(n.kind) == kind)
            return QString::fromStdString(n.message);
    return {};
}

// The map must be one validate() accepts: the export relies on it.
bool validMap(const Model &m, const DeviceMap &map, QString *problem)
{
    for (const auto &i : planner::validate(m.tree(), map, m.options))
        if (i.severity == planner::Severity::Error) {
            *problem = QString::fromStdString(i.message());
            return false;
        }
    return true;
}

planner::EngineExport exportOf(const QString &preset, const QString &spec, planner::Engine engine)
{
    const Model &m = modelOf(preset);
    planner::ExportRequest request;
    request.engine = engine;
    return planner::exportMap(m.tree(), mapOf(spec), m.options, request);
}

const QString kLlamaTwoGpus = "model.embed_tokens=0;model.layers.{0-15}=0;model.layers.{16-31}=1;model.norm=1;model.rotary_emb=1;lm_head=1";
const QString kLlamaCpuTail = "model.embed_tokens=0;model.layers.{0-19}=0;model.layers.{20-31}=cpu;model.norm=cpu;model.rotary_emb=cpu;lm_head=cpu";
const QString kLlamaDisk =
    "model.embed_tokens=0;model.layers.{0-9}=0;model.layers.{10-19}=cpu;model.layers.{20-31}=disk;model.norm=disk;model.rotary_emb=disk;lm_head=disk";
const QString kLlamaGpuEnd = "model.embed_tokens=cpu;model.layers.{0-11}=cpu;model.layers.{12-31}=0;model.norm=0;model.rotary_emb=0;lm_head=0";
// Layer 5's MLP on the CPU, the rest of it on GPU 0.
const QString kLlamaSplit = "model.embed_tokens=0;model.layers.{0-4}=0;model.layers.5.self_attn=0;model.layers.5.mlp=cpu;"
                            "model.layers.5.input_layernorm=0;model.layers.5.post_attention_layernorm=0;model.layers.{6-31}=0;"
                            "model.norm=0;model.rotary_emb=0;lm_head=0";
// Mixtral (transformers v5 layout: mlp.gate + mlp.experts) with the experts of layers FIRST-LAST on the CPU.
QString mixtralExperts(int first, int last)
{
    QString spec = "model.embed_tokens=0;";
    for (int l = 0; l < 32; ++l) {
        const QString p = QString("model.layers.%1.").arg(l);
        spec += p + "self_attn=0;" + p + "mlp.gate=0;" + p + "mlp.experts=" + (l >= first && l <= last ? "cpu;" : "0;") + p +
                "input_layernorm=0;" + p + "post_attention_layernorm=0;";
    }
    return spec + "model.norm=0;model.rotary_emb=0;lm_head=0";
}
const QString kGpt2CpuTail = "transformer.wte=0;transformer.wpe=0;transformer.drop=0;transformer.h.{0-5}=0;transformer.h.{6-11}=cpu;"
                             "transformer.ln_f=0;lm_head=0";
const QString kGpt2SplitMlp = "transformer.wte=0;transformer.wpe=0;transformer.drop=0;transformer.h.{0-2}=0;transformer.h.3.ln_1=0;"
                              "transformer.h.3.attn=0;transformer.h.3.ln_2=0;transformer.h.3.mlp=cpu;transformer.h.{4-11}=0;"
                              "transformer.ln_f=0;lm_head=0";

} // namespace

class TestExport : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void mapsOfTheTestsAreValid_data()
    {
        QTest::addColumn<QString>("preset");
        QTest::addColumn<QString>("spec");
        QTest::newRow("two gpus") << "llama-3.1-8b" << kLlamaTwoGpus;
        QTest::newRow("cpu tail") << "llama-3.1-8b" << kLlamaCpuTail;
        QTest::newRow("disk") << "llama-3.1-8b" << kLlamaDisk;
        QTest::newRow("gpu end") << "llama-3.1-8b" << kLlamaGpuEnd;
        QTest::newRow("split") << "llama-3.1-8b" << kLlamaSplit;
        QTest::newRow("mixtral experts") << "mixtral-8x7b" << mixtralExperts(0, 31);
        QTest::newRow("gpt2 tail") << "gpt2" << kGpt2CpuTail;
        QTest::newRow("gpt2 split") << "gpt2" << kGpt2SplitMlp;
    }
    void mapsOfTheTestsAreValid()
    {
        QFETCH(QString, preset);
        QFETCH(QString, spec);
        QString problem;
        QVERIFY2(validMap(modelOf(preset), mapOf(spec), &problem), qPrintable(problem));
    }

    void findsTheDecoderLayers_data()
    {
        QTest::addColumn<QString>("preset");
        QTest::addColumn<QString>("prefix");
        QTest::addColumn<int>("count");
        QTest::newRow("llama") << "llama-3.1-8b" << "model.layers" << 32;
        QTest::newRow("llama 405b") << "llama-3.1-405b" << "model.layers" << 126;
        QTest::newRow("mixtral") << "mixtral-8x7b" << "model.layers" << 32;
        QTest::newRow("gpt2") << "gpt2" << "transformer.h" << 12;
        QTest::newRow("falcon") << "falcon-7b" << "transformer.h" << 32;
        QTest::newRow("gpt-neox") << "gpt-neox-20b" << "gpt_neox.layers" << 44;
        QTest::newRow("opt") << "opt-30b" << "model.decoder.layers" << 48;
        QTest::newRow("bloom") << "bloom-176b" << "transformer.h" << 70;
    }
    void findsTheDecoderLayers()
    {
        QFETCH(QString, preset);
        QFETCH(QString, prefix);
        QFETCH(int, count);
        const Model &m = modelOf(preset);
        const auto stack = planner::findLayerStack(m.tree(), m.options.noSplitClasses);
        QCOMPARE(QString::fromStdString(stack.prefix), prefix);
        QCOMPARE(static_cast<int>(stack.layers.size()), count);
        // Without no-split classes: the structural rule finds the same stack.
        const auto guessed = planner::findLayerStack(m.tree(), {});
        QCOMPARE(QString::fromStdString(guessed.prefix), prefix);
    }

    void refusesTwoStacks()
    {
        const Model &m = modelOf("t0pp");
        try {
            planner::findLayerStack(m.tree(), m.options.noSplitClasses);
            QFAIL("no error");
        } catch (const Error &e) {
            QCOMPARE(e.kind(), ErrorKind::InvalidArgument);
            QVERIFY2(QString(e.what()).contains("encoder.block, decoder.block"), e.what());
        }
    }

    void integerRegexMatchesExactlyTheSet_data()
    {
        QTest::addColumn<QList<int>>("numbers");
        QTest::addColumn<QString>("regex");
        QTest::newRow("0-31") << QList<int>{0, 31} << "[0-9]|[12][0-9]|3[01]";
        QTest::newRow("20-31") << QList<int>{20, 31} << "2[0-9]|3[01]";
        QTest::newRow("6-11") << QList<int>{6, 11} << "[6-9]|1[01]";
        QTest::newRow("5") << QList<int>{5, 5} << "5";
        QTest::newRow("9-10") << QList<int>{9, 10} << "9|10";
        QTest::newRow("99-100") << QList<int>{99, 100} << "99|100";
        QTest::newRow("0-125") << QList<int>{0, 125} << "[0-9]|[1-9][0-9]|1[01][0-9]|12[0-5]";
        QTest::newRow("105-250") << QList<int>{105, 250} << "10[5-9]|1[1-9][0-9]|2[0-4][0-9]|250";
    }
    void integerRegexMatchesExactlyTheSet()
    {
        QFETCH(QList<int>, numbers);
        QFETCH(QString, regex);
        std::vector<int> set;
        for (int k = numbers[0]; k <= numbers[1]; ++k)
            set.push_back(k);
        const std::string r = planner::integerSetRegex(set);
        QCOMPARE(QString::fromStdString(r), regex);
        const std::regex re("^(" + r + ")$");
        for (int k = 0; k < 1000; ++k)
            QVERIFY2(std::regex_search(std::to_string(k), re) == (k >= numbers[0] && k <= numbers[1]), qPrintable(QString::number(k)));
        QVERIFY(!std::regex_search(std::string("07"), re) || numbers[0] == 7);
    }

    // llama.cpp's load_tensors() arithmetic: -ngl counts the output layer first; -ts in float.
    void llamaCppLayerDevices_data()
    {
        QTest::addColumn<int>("ngl");
        QTest::addColumn<QList<float>>("split");
        QTest::addColumn<int>("mainGpu");
        QTest::addColumn<QString>("expected"); // per unit 0..4 (4 = output): "c" CPU, else the GPU
        QTest::newRow("none") << 0 << QList<float>{1} << -1 << "ccccc";
        QTest::newRow("output only") << 1 << QList<float>{1} << -1 << "cccc0";
        QTest::newRow("last two and output") << 3 << QList<float>{1} << -1 << "cc000";
        QTest::newRow("all, one gpu") << 5 << QList<float>{} << 1 << "11111";
        QTest::newRow("more than all") << 99 << QList<float>{2, 3} << -1 << "00111";
        QTest::newRow("ratios") << 5 << QList<float>{3, 1, 1} << -1 << "00012";
        QTest::newRow("zero share") << 4 << QList<float>{2, 0, 2} << -1 << "c0022";
    }
    void llamaCppLayerDevices()
    {
        QFETCH(int, ngl);
        QFETCH(QList<float>, split);
        QFETCH(int, mainGpu);
        QFETCH(QString, expected);
        const auto d = planner::llamaCppLayerDevices(4, ngl, std::vector<float>(split.begin(), split.end()), mainGpu);
        QString got;
        for (int x : d)
            got += x < 0 ? QString("c") : QString::number(x);
        QCOMPARE(got, expected);
    }

    void llamaCpp_data()
    {
        QTest::addColumn<QString>("preset");
        QTest::addColumn<QString>("spec");
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QStringList>("notes");
        QTest::newRow("all on one gpu") << "llama-3.1-8b" << "=0" << QStringList{"-ngl", "33", "-sm", "none"}
                                        << QStringList{"input-on-cpu", "fit"};
        QTest::newRow("all on gpu 1") << "llama-3.1-8b" << "=1" << QStringList{"-ngl", "33", "-sm", "none", "-mg", "1"}
                                      << QStringList{"input-on-cpu", "fit"};
        QTest::newRow("two gpus") << "llama-3.1-8b" << kLlamaTwoGpus << QStringList{"-ngl", "33", "-ts", "16,17"}
                                  << QStringList{"input-on-cpu", "device-order", "fit"};
        QTest::newRow("gpus in reverse order")
            << "llama-3.1-8b" << "model.embed_tokens=1;model.layers.{0-15}=1;model.layers.{16-31}=0;model.norm=0;model.rotary_emb=0;lm_head=0"
            << QStringList{"-ngl", "33", "-ts", "0,33", "-ot", "^blk\\.(1[6-9]|2[0-9]|3[01])\\.=CUDA0", "-ot", "^(output|output_norm)\\.=CUDA0"}
            << QStringList{"input-on-cpu", "layer-order", "device-order", "buffer-names", "fit"};
        QTest::newRow("cpu tail") << "llama-3.1-8b" << kLlamaCpuTail
                                  << QStringList{"-ngl", "33", "-sm", "none", "-ot", "^blk\\.(2[0-9]|3[01])\\.=CPU", "-ot",
                                                 "^(output|output_norm)\\.=CPU"}
                                  << QStringList{"input-on-cpu", "layer-order", "fit"};
        QTest::newRow("gpu layers last") << "llama-3.1-8b" << kLlamaGpuEnd << QStringList{"-ngl", "21", "-sm", "none"}
                                         << QStringList{"ngl-semantics", "fit"};
        QTest::newRow("disk") << "llama-3.1-8b" << kLlamaDisk
                              << QStringList{"-ngl", "33", "-sm", "none", "-ot", "^blk\\.([12][0-9]|3[01])\\.=CPU", "-ot",
                                             "^(output|output_norm)\\.=CPU"}
                              << QStringList{"input-on-cpu", "disk-as-cpu", "layer-order", "fit"};
        QTest::newRow("split in a layer") << "llama-3.1-8b" << kLlamaSplit
                                          << QStringList{"-ngl", "33", "-sm", "none", "-ot", "^blk\\.5\\.(ffn_down|ffn_gate|ffn_up)\\.=CPU"}
                                          << QStringList{"input-on-cpu", "split-layer", "fit"};
        QTest::newRow("all experts on cpu") << "mixtral-8x7b" << mixtralExperts(0, 31) << QStringList{"-ngl", "33", "-sm", "none", "--cpu-moe"}
                                            << QStringList{"input-on-cpu", "split-layer", "experts-on-cpu", "fit"};
        QTest::newRow("first experts on cpu") << "mixtral-8x7b" << mixtralExperts(0, 7)
                                              << QStringList{"-ngl", "33", "-sm", "none", "--n-cpu-moe", "8"}
                                              << QStringList{"input-on-cpu", "split-layer", "experts-on-cpu", "fit"};
        QTest::newRow("middle experts on cpu")
            << "mixtral-8x7b" << mixtralExperts(8, 15)
            << QStringList{"-ngl", "33", "-sm", "none", "-ot", "^blk\\.([89]|1[0-5])\\.(ffn_(gate_up|gate|up)_exps|ffn_down_exps)\\.=CPU"}
            << QStringList{"input-on-cpu", "split-layer", "fit"};
        QTest::newRow("gpt2 cpu tail") << "gpt2" << kGpt2CpuTail
                                       << QStringList{"-ngl", "13", "-sm", "none", "-ot", "^blk\\.([6-9]|1[01])\\.=CPU"}
                                       << QStringList{"input-on-cpu", "layer-order", "fit"};
        QTest::newRow("gpt2 mlp on cpu") << "gpt2" << kGpt2SplitMlp
                                         << QStringList{"-ngl", "13", "-sm", "none", "-ot", "^blk\\.3\\.(ffn_down|ffn_up)\\.=CPU"}
                                         << QStringList{"input-on-cpu", "split-layer", "fit"};
        QTest::newRow("all on cpu") << "llama-3.1-8b" << "=cpu" << QStringList{"-ngl", "0"} << QStringList{};
    }
    void llamaCpp()
    {
        QFETCH(QString, preset);
        QFETCH(QString, spec);
        QFETCH(QStringList, args);
        QFETCH(QStringList, notes);
        const auto e = exportOf(preset, spec, planner::Engine::LlamaCpp);
        QCOMPARE(toList(e.args), args);
        QCOMPARE(noteKinds(e), notes);
        QCOMPARE(toList(e.program), (QStringList{"llama-server", "-m", "MODEL.gguf"}));
        QVERIFY(e.env.empty() && e.files.empty());
    }

    void llamaCppNotesSayWhat()
    {
        auto e = exportOf("llama-3.1-8b", kLlamaSplit, planner::Engine::LlamaCpp);
        QCOMPARE(noteText(e, "split-layer"),
                 QString("layer 5: split inside the layer (self_attn, input_layernorm, post_attention_layernorm on GPU 0; mlp on CPU)"));
        QVERIFY2(noteText(e, "input-on-cpu").startsWith("the map puts the input embeddings (model.embed_tokens, 1002.00 MiB) on GPU 0"),
                 qPrintable(noteText(e, "input-on-cpu")));
        e = exportOf("mixtral-8x7b", mixtralExperts(0, 7), planner::Engine::LlamaCpp);
        QCOMPARE(noteText(e, "split-layer"),
                 QString("layers 0-7: split inside the layer (self_attn, mlp.gate, input_layernorm, post_attention_layernorm on GPU 0; "
                         "mlp.experts on CPU)"));
        e = exportOf("llama-3.1-8b", kLlamaDisk, planner::Engine::LlamaCpp);
        QVERIFY2(noteText(e, "disk-as-cpu").startsWith("the map offloads 5.85 GiB to disk (model.layers.20, model.layers.21, "
                                                        "model.layers.22, ... (15 entries)): llama.cpp memory-maps"),
                 qPrintable(noteText(e, "disk-as-cpu")));
        QCOMPARE(e.commandLine(), QString("llama-server -m MODEL.gguf -ngl 33 -sm none -ot '^blk\\.([12][0-9]|3[01])\\.=CPU' "
                                          "-ot '^(output|output_norm)\\.=CPU'")
                                      .toStdString());
    }

    // transformers 4.x's Mixtral (block_sparse_moe.experts.N.w1/w2/w3): GGUF stores the experts of
    // a layer as one tensor per projection, so experts of one layer on two devices cannot be kept.
    void mixtralV4ExpertsAreOneGgufTensor()
    {
        models::DescribeOptions v4;
        v4.layout = models::TransformersLayout::V4;
        const models::ModelDescription model = models::describeConfig(models::presetConfig("mixtral-8x7b"), v4);
        planner::PlanOptions options = models::planOptionsFor(model, {});
        auto mapWith = [](int firstOnCpu) {
            QString spec = "model.embed_tokens=0;";
            for (int l = 0; l < 32; ++l) {
                const QString p = QString("model.layers.%1.").arg(l);
                spec += p + "self_attn=0;" + p + "block_sparse_moe.gate=0;";
                for (int e = 0; e < 8; ++e)
                    spec += p + QString("block_sparse_moe.experts.%1=").arg(e) + (l == 0 && e >= firstOnCpu ? "cpu;" : "0;");
                spec += p + "input_layernorm=0;" + p + "post_attention_layernorm=0;";
            }
            return mapOf(spec + "model.norm=0;model.rotary_emb=0;lm_head=0");
        };
        planner::ExportRequest request;
        // Every expert of layer 0 on the CPU: --n-cpu-moe 1.
        auto e = planner::exportMap(model.tree, mapWith(0), options, request);
        QCOMPARE(toList(e.args), (QStringList{"-ngl", "33", "-sm", "none", "--n-cpu-moe", "1"}));
        // Experts 3-7 of layer 0 on the CPU: each projection goes where most of its bytes are.
        e = planner::exportMap(model.tree, mapWith(3), options, request);
        QCOMPARE(toList(e.args), (QStringList{"-ngl", "33", "-sm", "none", "--n-cpu-moe", "1"}));
        QCOMPARE(noteText(e, "merged-tensor"),
                 QString("layer 0: the map splits what GGUF stores as one tensor, ffn_down_exps (block_sparse_moe.experts.0.w2, "
                         "block_sparse_moe.experts.1.w2, block_sparse_moe.experts.2.w2, block_sparse_moe.experts.3.w2, "
                         "block_sparse_moe.experts.4.w2, block_sparse_moe.experts.5.w2, block_sparse_moe.experts.6.w2, "
                         "block_sparse_moe.experts.7.w2: 336.00 MiB on GPU 0, 560.00 MiB on CPU); it goes to CPU, where most of it is"));
        // Experts 5-7: most bytes stay on GPU 0, nothing to override.
        e = planner::exportMap(model.tree, mapWith(5), options, request);
        QCOMPARE(toList(e.args), (QStringList{"-ngl", "33", "-sm", "none"}));
        QVERIFY(noteKinds(e).contains("merged-tensor"));
    }

    // The exported -ngl/-ts, run through llama.cpp's own arithmetic, put every layer the map
    // puts on a GPU on that GPU (a plan made by the planner, not written by hand).
    void llamaCppReproducesAPlannedSplit()
    {
        const Model &m = modelOf("llama-3.1-70b");
        planner::PlanOptions options = m.options;
        options.maxMemory = planner::parseMaxMemory("0=48GiB,1=48GiB,2=48GiB,cpu=200GiB");
        const planner::Plan plan = planner::plan(m.tree(), options);
        planner::ExportRequest request;
        const auto e = planner::exportMap(m.tree(), plan.deviceMap, options, request);
        const auto args = toList(e.args);
        QCOMPARE(args.value(0), QString("-ngl"));
        QCOMPARE(args.value(2), QString("-ts"));
        QVERIFY2(!args.contains("-ot"), qPrintable(args.join(' ')));
        std::vector<float> split;
        for (const QString &s : args.value(3).split(','))
            split.push_back(s.toFloat());
        const auto devices = planner::llamaCppLayerDevices(80, args.value(1).toInt(), split);
        const auto stack = planner::findLayerStack(m.tree(), options.noSplitClasses);
        const auto where = planner::tensorDevices(m.tree(), plan.deviceMap);
        for (int l = 0; l < 80; ++l) {
            const int id = stack.layers[static_cast<std::size_t>(l)];
            const int q = m.tree().find(m.tree().module(id).name + ".self_attn.q_proj");
            QVERIFY(q >= 0);
            const auto d = where[static_cast<std::size_t>(q)][0];
            QVERIFY(d && d->isGpu());
            QCOMPARE(devices[static_cast<std::size_t>(l)], d->index);
        }
    }

    void vllm_data()
    {
        QTest::addColumn<QString>("preset");
        QTest::addColumn<QString>("spec");
        QTest::addColumn<QStringList>("env");
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QStringList>("notes");
        QTest::newRow("one gpu") << "llama-3.1-8b" << "=0" << QStringList{} << QStringList{} << QStringList{};
        QTest::newRow("two gpus") << "llama-3.1-8b" << kLlamaTwoGpus << QStringList{"VLLM_PP_LAYER_PARTITION=16,16"}
                                  << QStringList{"--pipeline-parallel-size", "2"} << QStringList{"stage-order"};
        QTest::newRow("gpus 2 and 3") << "llama-3.1-8b"
                                      << "model.embed_tokens=2;model.layers.{0-9}=2;model.layers.{10-31}=3;model.norm=3;model.rotary_emb=3;lm_head=3"
                                      << QStringList{"CUDA_VISIBLE_DEVICES=2,3", "VLLM_PP_LAYER_PARTITION=10,22"}
                                      << QStringList{"--pipeline-parallel-size", "2"} << QStringList{"stage-order"};
        // 12 layers of 436,224,000 bytes (bfloat16) = 4.875 GiB, rounded up.
        QTest::newRow("cpu tail") << "llama-3.1-8b" << kLlamaCpuTail << QStringList{} << QStringList{"--cpu-offload-gb", "4.88"}
                                  << QStringList{"cpu-offload", "output-placement"};
        QTest::newRow("disk") << "llama-3.1-8b" << kLlamaDisk << QStringList{} << QStringList{"--cpu-offload-gb", "8.94"}
                              << QStringList{"cpu-offload", "disk-as-cpu", "output-placement"};
        QTest::newRow("experts on cpu") << "mixtral-8x7b" << mixtralExperts(0, 31) << QStringList{} << QStringList{"--cpu-offload-gb", "84.00"}
                                        << QStringList{"cpu-offload", "split-layer"};
        QTest::newRow("gpus out of order") << "llama-3.1-8b"
                                           << "model.embed_tokens=0;model.layers.{0-9}=0;model.layers.{10-19}=1;model.layers.{20-31}=0;"
                                              "model.norm=0;model.rotary_emb=0;lm_head=0"
                                           << QStringList{"VLLM_PP_LAYER_PARTITION=22,10"} << QStringList{"--pipeline-parallel-size", "2"}
                                           << QStringList{"not-contiguous", "output-placement", "stage-order"};
    }
    void vllm()
    {
        QFETCH(QString, preset);
        QFETCH(QString, spec);
        QFETCH(QStringList, env);
        QFETCH(QStringList, args);
        QFETCH(QStringList, notes);
        const auto e = exportOf(preset, spec, planner::Engine::Vllm);
        QStringList gotEnv;
        for (const auto &[k, v] : e.env)
            gotEnv << QString::fromStdString(k + "=" + v);
        QCOMPARE(gotEnv, env);
        QCOMPARE(toList(e.args), args);
        QCOMPARE(noteKinds(e), notes);
    }

    void vllmNeedsAGpu()
    {
        try {
            exportOf("llama-3.1-8b", "=cpu", planner::Engine::Vllm);
            QFAIL("no error");
        } catch (const Error &e) {
            QCOMPARE(e.kind(), ErrorKind::InvalidArgument);
            QVERIFY2(QString(e.what()).contains("nothing on a GPU"), e.what());
        }
    }

    void mistralRs_data()
    {
        QTest::addColumn<QString>("preset");
        QTest::addColumn<QString>("spec");
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("topology");
        QTest::addColumn<QStringList>("notes");
        const QString header = "# mistral.rs topology written by mizan-cli export: decoder layers START-END (END excluded) to a device\n";
        QTest::newRow("two gpus") << "llama-3.1-8b" << kLlamaTwoGpus << QStringList{"--topology", "topology.yaml"}
                                  << header + "0-16:\n  device: cuda[0]\n16-32:\n  device: cuda[1]\n"
                                              "'/^model\\.norm\\./':\n  device: cuda[1]\n'/^lm_head\\./':\n  device: cuda[1]\n"
                                  << QStringList{"regex-selectors", "device-order"};
        QTest::newRow("disk") << "llama-3.1-8b" << kLlamaDisk << QStringList{"--topology", "topology.yaml"}
                              << header + "0-10:\n  device: cuda[0]\n10-32:\n  device: cpu\n"
                                          "'/^model\\.norm\\./':\n  device: cpu\n'/^lm_head\\./':\n  device: cpu\n"
                              << QStringList{"regex-selectors", "disk-as-cpu", "device-order"};
        // Layer 5's MLP (336 MiB) on the CPU outweighs its attention (80 MiB) on GPU 0.
        QTest::newRow("split layer") << "llama-3.1-8b" << kLlamaSplit << QStringList{"--topology", "topology.yaml"}
                                     << header + "0-5:\n  device: cuda[0]\n5:\n  device: cpu\n6-32:\n  device: cuda[0]\n"
                                     << QStringList{"split-layer", "device-order"};
        QTest::newRow("all on cpu") << "gpt2" << "=cpu" << QStringList{"--topology", "topology.yaml", "--cpu"}
                                    << header + "0-12:\n  device: cpu\n" << QStringList{};
    }
    void mistralRs()
    {
        QFETCH(QString, preset);
        QFETCH(QString, spec);
        QFETCH(QStringList, args);
        QFETCH(QString, topology);
        QFETCH(QStringList, notes);
        const auto e = exportOf(preset, spec, planner::Engine::MistralRs);
        QCOMPARE(toList(e.args), args);
        QCOMPARE(e.files.size(), std::size_t(1));
        QCOMPARE(QString::fromStdString(e.files.front().first), QString("topology.yaml"));
        QCOMPARE(QString::fromStdString(e.files.front().second), topology);
        QCOMPARE(noteKinds(e), notes);
    }

    void jsonAndShellQuoting()
    {
        const auto e = exportOf("llama-3.1-8b", kLlamaTwoGpus, planner::Engine::Vllm);
        QCOMPARE(QString::fromStdString(e.commandLine()),
                 QString("VLLM_PP_LAYER_PARTITION=16,16 vllm serve MODEL --pipeline-parallel-size 2"));
        const auto j = planner::exportToJson(e);
        QCOMPARE(QString::fromStdString(j["engine"].get<std::string>()), QString("vllm"));
        QCOMPARE(QString::fromStdString(j["env"]["VLLM_PP_LAYER_PARTITION"].get<std::string>()), QString("16,16"));
        QCOMPARE(j["layers"]["count"].get<int>(), 32);
        QCOMPARE(QString::fromStdString(planner::shellQuote("it's")), QString("'it'\\''s'"));
        QCOMPARE(QString::fromStdString(planner::shellQuote("")), QString("''"));
        QCOMPARE(QString::fromStdString(planner::shellQuote("-ts")), QString("-ts"));
    }

    // ---- diff ----

    void diff_data()
    {
        QTest::addColumn<QString>("preset");
        QTest::addColumn<QString>("a");
        QTest::addColumn<QString>("b");
        QTest::addColumn<QStringList>("moves"); // "name from to"
        QTest::addColumn<QStringList>("onlyInA");
        QTest::addColumn<QStringList>("onlyInB"); // {"*"}: every key of B that A does not have
        QTest::addColumn<QString>("summary");
        QTest::newRow("same, other keys") << "llama-3.1-8b" << "=0" << "model=0;lm_head=0" << QStringList{} << QStringList{""}
                                          << QStringList{"model", "lm_head"} << "no module moved";
        QStringList tail;
        for (int l = 20; l < 32; ++l)
            tail << QString("model.layers.%1 0 cpu").arg(l);
        tail << "model.norm 0 cpu" << "model.rotary_emb 0 cpu" << "lm_head 0 cpu";
        QTest::newRow("cpu tail") << "llama-3.1-8b" << "=0" << kLlamaCpuTail << tail << QStringList{""} << QStringList{"*"}
                                  << "15 modules moved (5.85 GiB): GPU 0 -5.85 GiB, CPU +5.85 GiB";
        QTest::newRow("split, one part moved") << "llama-3.1-8b" << "model=0;lm_head=0" << kLlamaSplit
                                               << QStringList{"model.layers.5.mlp 0 cpu"} << QStringList{"model"} << QStringList{"*"}
                                               << "1 module moved (336.00 MiB): GPU 0 -336.00 MiB, CPU +336.00 MiB";
    }
    void diff()
    {
        QFETCH(QString, preset);
        QFETCH(QString, a);
        QFETCH(QString, b);
        QFETCH(QStringList, moves);
        QFETCH(QStringList, onlyInA);
        QFETCH(QStringList, onlyInB);
        QFETCH(QString, summary);
        const Model &m = modelOf(preset);
        const DeviceMap ma = mapOf(a), mb = mapOf(b);
        QString problem;
        QVERIFY2(validMap(m, ma, &problem) && validMap(m, mb, &problem), qPrintable(problem));
        const auto d = planner::diffMaps(m.tree(), ma, m.options, mb, m.options);
        QStringList got;
        for (const auto &mv : d.moves)
            got << QString::fromStdString(mv.name + " " + mv.from.toString() + " " + mv.to.toString());
        QCOMPARE(got, moves);
        QCOMPARE(toList(d.keysOnlyInA), onlyInA);
        QStringList expectedOnlyInB = onlyInB;
        if (onlyInB == QStringList{"*"}) {
            expectedOnlyInB.clear();
            for (const auto &entry : mb)
                if (std::find_if(ma.begin(), ma.end(), [&](const auto &x) { return x.first == entry.first; }) == ma.end())
                    expectedOnlyInB << QString::fromStdString(entry.first);
        }
        QCOMPARE(toList(d.keysOnlyInB), expectedOnlyInB);
        QCOMPARE(QString::fromStdString(planner::diffSummary(d)), summary);
        QCOMPARE(d.identical(), moves.isEmpty());
        // Bytes per device: what each map puts there; the changes balance.
        double change = 0;
        for (const auto &c : d.devices)
            change += c.change();
        QCOMPARE(change, 0.0);
    }

    void diffMovesSingleTensors()
    {
        const Model &m = modelOf("gpt2");
        const DeviceMap a = mapOf("=0"), b = mapOf("transformer.wte=0;transformer.wpe=0;transformer.drop=0;transformer.h=0;"
                                                   "transformer.ln_f.weight=cpu;transformer.ln_f.bias=0;lm_head=0");
        QString problem;
        QVERIFY2(validMap(m, b, &problem), qPrintable(problem));
        const auto d = planner::diffMaps(m.tree(), a, m.options, b, m.options);
        QCOMPARE(d.moves.size(), std::size_t(1));
        QCOMPARE(QString::fromStdString(d.moves[0].name), QString("transformer.ln_f.weight"));
        QVERIFY(d.moves[0].tensor);
        QCOMPARE(d.moves[0].bytes, 768.0 * 4); // float32 (the preset's dtype), 768 elements
        QCOMPARE(QString::fromStdString(planner::diffSummary(d)), QString("1 tensor moved (3.00 KiB): GPU 0 -3.00 KiB, CPU +3.00 KiB"));
        const auto j = planner::planDiffToJson(d);
        QCOMPARE(j["moves"][0]["from"].get<int>(), 0);
        QCOMPARE(QString::fromStdString(j["moves"][0]["to"].get<std::string>()), QString("cpu"));
        QVERIFY(j["predicted"]["a"].is_null());
    }

    void diffNotesAnotherDtype()
    {
        const Model &m = modelOf("llama-3.1-8b");
        planner::PlanOptions half = m.options, wide = m.options;
        half.dtype = DType::BF16;
        wide.dtype = DType::F32;
        const auto d = planner::diffMaps(m.tree(), mapOf("=0"), half, mapOf("=0"), wide);
        QVERIFY(d.identical());
        QCOMPARE(d.notes.size(), std::size_t(1));
        QVERIFY2(QString::fromStdString(d.notes[0]).startsWith("A loads bfloat16 and B float32"), d.notes[0].c_str());
        QCOMPARE(d.devices.size(), std::size_t(1));
        QCOMPARE(d.devices[0].bytesAfter, 2 * d.devices[0].bytesBefore);
    }
};

QTEST_GUILESS_MAIN(TestExport)
#include "tst_export.moc"
