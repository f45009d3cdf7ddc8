// The tests' reference forward passes (tests/reference/reference.h) checked on their own:
// causality, GQA against expanded heads, both Mixtral layouts and the MoE against a dense MLP,
// llama3 rope scaling edge cases, sliding windows, hand-computed tiny models (plain arithmetic,
// not the reference's code) and clear errors. Demo checkpoints come from models::writeDemo.

#include "reference/reference.h"

#include "models/demo.h"

#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <numeric>

using nlohmann::json;
using mizan::testref::ReferenceCheckpoint;
using mizan::testref::loadCheckpoint;
using mizan::testref::referenceLogits;
using mizan::testref::ropeInverseFrequencies;
using Weights = std::map<std::string, torch::Tensor>;

namespace {

// ---- small configs of every family (demo checkpoints written from them) ----------------------

json llamaConfig()
{
    return json{{"architectures", {"LlamaForCausalLM"}},
                {"model_type", "llama"},
                {"hidden_act", "silu"},
                {"hidden_size", 64},
                {"intermediate_size", 96},
                {"num_attention_heads", 4},
                {"num_key_value_heads", 2},
                {"num_hidden_layers", 2},
                {"max_position_embeddings", 256},
                {"rms_norm_eps", 1e-5},
                {"rope_theta", 10000.0},
                {"tie_word_embeddings", false},
                {"vocab_size", 101}};
}

json llama3Config()
{
    json c = llamaConfig();
    c["rope_theta"] = 500000.0;
    c["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", 8.0},
                         {"low_freq_factor", 1.0},
                         {"high_freq_factor", 4.0},
                         {"original_max_position_embeddings", 64}};
    return c;
}

json llamaTiedBiasConfig()
{
    json c = llamaConfig();
    c["num_key_value_heads"] = 4;
    c["tie_word_embeddings"] = true;
    c["attention_bias"] = true;
    c["mlp_bias"] = true;
    return c;
}

json mistralConfig()
{
    json c = llamaConfig();
    c["architectures"] = {"MistralForCausalLM"};
    c["model_type"] = "mistral";
    c["num_key_value_heads"] = 1;
    c["sliding_window"] = 4096;
    return c;
}

json qwen2Config()
{
    json c = llamaConfig();
    c["architectures"] = {"Qwen2ForCausalLM"};
    c["model_type"] = "qwen2";
    c["rms_norm_eps"] = 1e-6;
    c["rope_theta"] = 1000000.0;
    c["use_sliding_window"] = false;
    c["sliding_window"] = 4096;
    c["max_window_layers"] = 28;
    return c;
}

json mixtralConfig()
{
    return json{{"architectures", {"MixtralForCausalLM"}},
                {"model_type", "mixtral"},
                {"hidden_act", "silu"},
                {"hidden_size", 32},
                {"intermediate_size", 48},
                {"num_attention_heads", 4},
                {"num_key_value_heads", 2},
                {"num_hidden_layers", 2},
                {"num_local_experts", 4},
                {"num_experts_per_tok", 2},
                {"max_position_embeddings", 256},
                {"rms_norm_eps", 1e-5},
                {"rope_theta", 1000000.0},
                {"sliding_window", nullptr},
                {"tie_word_embeddings", false},
                {"vocab_size", 67}};
}

json gpt2Config()
{
    return json{{"architectures", {"GPT2LMHeadModel"}},
                {"model_type", "gpt2"},
                {"activation_function", "gelu_new"},
                {"layer_norm_epsilon", 1e-5},
                {"n_ctx", 64},
                {"n_embd", 32},
                {"n_head", 4},
                {"n_layer", 2},
                {"n_positions", 64},
                {"vocab_size", 89}};
}

json configNamed(const QString &name)
{
    if (name == "llama")
        return llamaConfig();
    if (name == "llama3")
        return llama3Config();
    if (name == "llama-tied-bias")
        return llamaTiedBiasConfig();
    if (name == "mistral")
        return mistralConfig();
    if (name == "qwen2")
        return qwen2Config();
    if (name == "mixtral")
        return mixtralConfig();
    if (name == "gpt2")
        return gpt2Config();
    qFatal("no config %s", qPrintable(name));
    return {};
}

double maxAbsDiff(const torch::Tensor &a, const torch::Tensor &b)
{
    return (a - b).abs().max().item<double>();
}

// Every tensor of `weights`, copied (so that tests can change them without touching the mapping).
Weights cloned(const Weights &weights)
{
    Weights out;
    for (const auto &[name, t] : weights)
        out.emplace(name, t.clone());
    return out;
}

bool endsWith(const std::string &s, const std::string &tail)
{
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// ---- plain arithmetic for the hand-computed cases (no torch) ---------------------------------

using Vec = std::vector<double>;
using Mat = std::vector<Vec>; // row-major: Mat[r][c]

Vec matVec(const Mat &w, const Vec &x) // nn.Linear: y_r = sum_c W[r][c] x[c]
{
    Vec y(w.size(), 0.0);
    for (std::size_t r = 0; r < w.size(); ++r)
        for (std::size_t c = 0; c < x.size(); ++c)
            y[r] += w[r][c] * x[c];
    return y;
}

Vec vecMat(const Vec &x, const Mat &w) // Conv1D: y_c = sum_r x[r] W[r][c]
{
    Vec y(w[0].size(), 0.0);
    for (std::size_t r = 0; r < w.size(); ++r)
        for (std::size_t c = 0; c < y.size(); ++c)
            y[c] += x[r] * w[r][c];
    return y;
}

Vec add(Vec a, const Vec &b)
{
    for (std::size_t i = 0; i < a.size(); ++i)
        a[i] += b[i];
    return a;
}

Vec scaled(Vec a, double s)
{
    for (double &v : a)
        v *= s;
    return a;
}

double dot(const Vec &a, const Vec &b)
{
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        s += a[i] * b[i];
    return s;
}

Vec rms(const Vec &x, const Vec &g, double eps)
{
    const double r = 1.0 / std::sqrt(dot(x, x) / static_cast<double>(x.size()) + eps);
    Vec y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i)
        y[i] = x[i] * r * g[i];
    return y;
}

Vec layerNormPlain(const Vec &x, const Vec &g, const Vec &b, double eps)
{
    double mean = 0;
    for (double v : x)
        mean += v;
    mean /= static_cast<double>(x.size());
    double var = 0;
    for (double v : x)
        var += (v - mean) * (v - mean);
    var /= static_cast<double>(x.size());
    Vec y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i)
        y[i] = (x[i] - mean) / std::sqrt(var + eps) * g[i] + b[i];
    return y;
}

double silu(double v)
{
    return v / (1.0 + std::exp(-v));
}

double geluTanh(double v)
{
    return 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / std::numbers::pi) * (v + 0.044715 * v * v * v)));
}

Vec softmaxPlain(const Vec &s)
{
    const double m = *std::max_element(s.begin(), s.end());
    Vec p(s.size());
    double total = 0;
    for (std::size_t i = 0; i < s.size(); ++i)
        total += (p[i] = std::exp(s[i] - m));
    for (double &v : p)
        v /= total;
    return p;
}

// SwiGLU expert / MLP: down(silu(gate x) * up x).
Vec swiglu(const Mat &gate, const Mat &up, const Mat &down, const Vec &x)
{
    const Vec g = matVec(gate, x);
    const Vec u = matVec(up, x);
    Vec a(g.size());
    for (std::size_t i = 0; i < a.size(); ++i)
        a[i] = silu(g[i]) * u[i];
    return matVec(down, a);
}

torch::Tensor toTensor(const Mat &m)
{
    torch::Tensor t = torch::empty({static_cast<std::int64_t>(m.size()), static_cast<std::int64_t>(m[0].size())},
                                   torch::kFloat64);
    for (std::size_t r = 0; r < m.size(); ++r)
        for (std::size_t c = 0; c < m[r].size(); ++c)
            t[static_cast<std::int64_t>(r)][static_cast<std::int64_t>(c)] = m[r][c];
    return t;
}

torch::Tensor toTensor(const Vec &v)
{
    return torch::tensor(v, torch::kFloat64);
}

// A deterministic matrix of the given size with varied entries in about [-0.9, 0.9].
Mat handMatrix(std::size_t rows, std::size_t cols, int seed)
{
    Mat m(rows, Vec(cols));
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < cols; ++c)
            m[r][c] = 0.9 * std::sin(1.7 * static_cast<double>(seed) + 0.9 * static_cast<double>(r) + 2.3 * static_cast<double>(c)
                                     + 0.37 * static_cast<double>(r * c));
    return m;
}

} // namespace

class TestReference : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    std::map<QString, ReferenceCheckpoint> m_demos;

    // The demo checkpoint of `name`'s config (written once), as the reference reads it.
    const ReferenceCheckpoint &demo(const QString &name, mizan::DType dtype = mizan::DType::F32)
    {
        const QString key = name + (dtype == mizan::DType::F32 ? QString() : QStringLiteral("-16"));
        auto it = m_demos.find(key);
        if (it != m_demos.end())
            return it->second;
        mizan::models::DemoOptions options;
        options.config = configNamed(name);
        options.dtype = dtype;
        options.seed = 7;
        const std::string dir = m_dir.filePath(key).toStdString();
        mizan::models::writeDemo(dir, options);
        return m_demos.emplace(key, loadCheckpoint(dir)).first->second;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        torch::set_num_threads(1);
    }

    // (a) Logits at position t depend on tokens 0..t only; later positions do see the change.
    void causality_data()
    {
        QTest::addColumn<QString>("family");
        QTest::addColumn<bool>("half");
        QTest::newRow("llama (GQA)") << "llama" << false;
        QTest::newRow("llama (llama3 rope)") << "llama3" << false;
        QTest::newRow("llama (tied, biases)") << "llama-tied-bias" << false;
        QTest::newRow("llama float16") << "llama" << true;
        QTest::newRow("mistral") << "mistral" << false;
        QTest::newRow("qwen2") << "qwen2" << false;
        QTest::newRow("mixtral") << "mixtral" << false;
        QTest::newRow("gpt2") << "gpt2" << false;
    }
    void causality()
    {
        QFETCH(QString, family);
        QFETCH(bool, half);
        const ReferenceCheckpoint &cp = demo(family, half ? mizan::DType::F16 : mizan::DType::F32);
        const std::int64_t vocab = cp.config.value("vocab_size", 0);
        const std::vector<std::int64_t> a{5, 17, 3, 42, 8, 11, 60, 2};
        std::vector<std::int64_t> b = a;
        b[5] = 31;
        b[7] = 0;
        const torch::Tensor la = referenceLogits(cp.config, cp.weights, a);
        const torch::Tensor lb = referenceLogits(cp.config, cp.weights, b);
        QCOMPARE(la.scalar_type(), torch::kFloat64);
        QCOMPARE(la.sizes().vec(), (std::vector<std::int64_t>{8, vocab}));
        QVERIFY(torch::isfinite(la).all().item<bool>());
        // The same prefix gives the same logits, the changed positions do not.
        QVERIFY2(maxAbsDiff(la.slice(0, 0, 5), lb.slice(0, 0, 5)) <= 1e-12, "a later token changed an earlier position");
        for (int t = 5; t < 8; ++t)
            QVERIFY2(maxAbsDiff(la[t], lb[t]) > 1e-6, qPrintable(QStringLiteral("position %1 did not change").arg(t)));
        // A prefix alone gives the logits of its positions in the longer sequence.
        const torch::Tensor prefix = referenceLogits(cp.config, cp.weights, {a.begin(), a.begin() + 3});
        QVERIFY(maxAbsDiff(prefix, la.slice(0, 0, 3)) <= 1e-12);
        // The one-line form over the checkpoint path reads the same.
        if (family == "gpt2")
            QVERIFY(torch::equal(referenceLogits(m_dir.filePath(family).toStdString(), a), la));
    }

    // (b) GQA is transformers' repeat_kv: kv head j serves query heads j*g .. j*g+g-1. Expanding
    // the k/v projections that way (repeat_interleave of each kv head's rows) and giving the config
    // as many kv heads as heads changes nothing; expanding them in the other order (tiling) does.
    void gqaEqualsExpandedHeads_data()
    {
        QTest::addColumn<QString>("family");
        QTest::newRow("llama") << "llama";
        QTest::newRow("qwen2 (k/v biases)") << "qwen2";
    }
    void gqaEqualsExpandedHeads()
    {
        QFETCH(QString, family);
        const ReferenceCheckpoint &cp = demo(family);
        const std::int64_t heads = cp.config["num_attention_heads"];
        const std::int64_t kv = cp.config["num_key_value_heads"];
        const std::int64_t group = heads / kv;
        QVERIFY(group >= 2);
        const std::int64_t headDim = cp.config["hidden_size"].get<std::int64_t>() / heads;

        auto expanded = [&](bool interleave) {
            Weights w = cloned(cp.weights);
            for (auto &[name, t] : w) {
                if (name.find("k_proj.") == std::string::npos && name.find("v_proj.") == std::string::npos)
                    continue;
                std::vector<std::int64_t> perHead{kv, headDim};
                for (std::int64_t i = 1; i < t.dim(); ++i)
                    perHead.push_back(t.size(i));
                torch::Tensor byHead = t.reshape(perHead);
                if (interleave) {
                    byHead = byHead.repeat_interleave(group, 0);
                } else {
                    std::vector<std::int64_t> reps(perHead.size(), 1);
                    reps[0] = group;
                    byHead = byHead.repeat(reps);
                }
                std::vector<std::int64_t> flat{heads * headDim};
                for (std::int64_t i = 1; i < t.dim(); ++i)
                    flat.push_back(t.size(i));
                t = byHead.reshape(flat).contiguous();
            }
            return w;
        };
        json full = cp.config;
        full["num_key_value_heads"] = heads;

        const std::vector<std::int64_t> ids{9, 4, 77, 23, 1, 50};
        const torch::Tensor gqa = referenceLogits(cp.config, cp.weights, ids);
        const torch::Tensor mha = referenceLogits(full, expanded(true), ids);
        QVERIFY2(maxAbsDiff(gqa, mha) <= 1e-12, qPrintable(QString::number(maxAbsDiff(gqa, mha))));
        const torch::Tensor tiled = referenceLogits(full, expanded(false), ids);
        QVERIFY(maxAbsDiff(gqa, tiled) > 1e-6);
    }

    // (c) Mixtral: the v4 layout (block_sparse_moe.experts.K.w1/w3/w2) made from the v5 one
    // (gate_up_proj = [w1; w3] along dim 1, down_proj = w2) gives the same logits; w1 and w3
    // swapped do not.
    void mixtralLayoutsAgree()
    {
        const ReferenceCheckpoint &cp = demo("mixtral");
        const std::int64_t E = cp.config["num_local_experts"];
        const std::int64_t I = cp.config["intermediate_size"];
        auto v4 = [&](bool swapGateUp) {
            Weights w;
            for (const auto &[name, t] : cp.weights) {
                const auto mlp = name.find(".mlp.");
                if (mlp == std::string::npos) {
                    w.emplace(name, t);
                    continue;
                }
                const std::string layer = name.substr(0, mlp) + ".block_sparse_moe.";
                if (endsWith(name, ".mlp.gate.weight")) {
                    w.emplace(layer + "gate.weight", t);
                } else if (endsWith(name, ".mlp.experts.gate_up_proj")) {
                    for (std::int64_t e = 0; e < E; ++e) {
                        const std::string x = layer + "experts." + std::to_string(e) + ".";
                        w.emplace(x + (swapGateUp ? "w3.weight" : "w1.weight"), t[e].slice(0, 0, I).contiguous());
                        w.emplace(x + (swapGateUp ? "w1.weight" : "w3.weight"), t[e].slice(0, I, 2 * I).contiguous());
                    }
                } else if (endsWith(name, ".mlp.experts.down_proj")) {
                    for (std::int64_t e = 0; e < E; ++e)
                        w.emplace(layer + "experts." + std::to_string(e) + ".w2.weight", t[e].contiguous());
                } else {
                    QTest::qFail(qPrintable(QString::fromStdString("unexpected tensor " + name)), __FILE__, __LINE__);
                }
            }
            return w;
        };
        const Weights four = v4(false);
        QCOMPARE(four.count("model.layers.1.block_sparse_moe.experts.3.w2.weight"), std::size_t(1));
        QCOMPARE(four.count("model.layers.0.mlp.gate.weight"), std::size_t(0));

        const std::vector<std::int64_t> ids{3, 14, 15, 9, 26, 53};
        const torch::Tensor five = referenceLogits(cp.config, cp.weights, ids);
        QVERIFY2(maxAbsDiff(five, referenceLogits(cp.config, four, ids)) <= 1e-12, "v4 and v5 layouts disagree");
        QVERIFY(maxAbsDiff(five, referenceLogits(cp.config, v4(true), ids)) > 1e-9);

        // Both layouts at once is ambiguous.
        Weights both = four;
        both.emplace("model.layers.0.mlp.gate.weight", cp.weights.at("model.layers.0.mlp.gate.weight"));
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, referenceLogits(cp.config, both, ids));
    }

    // (c) With every expert equal, the MoE is one dense SwiGLU MLP (a llama model with those
    // weights) when top-k = all experts, and also for top-2 since the chosen weights are
    // renormalised to sum 1. With distinct experts, top-2 and top-all differ.
    void mixtralEqualExpertsAreDense_data()
    {
        QTest::addColumn<int>("topK");
        QTest::newRow("top-k = all experts") << 4;
        QTest::newRow("top-2 (renormalised)") << 2;
        QTest::newRow("top-1") << 1;
    }
    void mixtralEqualExpertsAreDense()
    {
        QFETCH(int, topK);
        const ReferenceCheckpoint &cp = demo("mixtral");
        const std::int64_t E = cp.config["num_local_experts"];
        const std::int64_t I = cp.config["intermediate_size"];
        json moeConfig = cp.config;
        moeConfig["num_experts_per_tok"] = topK;

        Weights moe = cloned(cp.weights);
        Weights dense;
        for (const auto &[name, t] : cp.weights) {
            const auto mlp = name.find(".mlp.");
            if (mlp == std::string::npos) {
                dense.emplace(name, t);
                continue;
            }
            const std::string prefix = name.substr(0, mlp) + ".mlp.";
            if (endsWith(name, ".experts.gate_up_proj")) {
                moe[name] = t[0].unsqueeze(0).expand({E, -1, -1}).contiguous();
                dense.emplace(prefix + "gate_proj.weight", t[0].slice(0, 0, I));
                dense.emplace(prefix + "up_proj.weight", t[0].slice(0, I, 2 * I));
            } else if (endsWith(name, ".experts.down_proj")) {
                moe[name] = t[0].unsqueeze(0).expand({E, -1, -1}).contiguous();
                dense.emplace(prefix + "down_proj.weight", t[0]);
            }
        }
        json denseConfig = cp.config;
        denseConfig["model_type"] = "llama";
        denseConfig["architectures"] = {"LlamaForCausalLM"};
        for (const char *key : {"num_local_experts", "num_experts_per_tok", "sliding_window"})
            denseConfig.erase(key);

        const std::vector<std::int64_t> ids{1, 2, 3, 60, 33, 7, 19};
        const torch::Tensor sparse = referenceLogits(moeConfig, moe, ids);
        const torch::Tensor plain = referenceLogits(denseConfig, dense, ids);
        QVERIFY2(maxAbsDiff(sparse, plain) <= 1e-12, qPrintable(QString::number(maxAbsDiff(sparse, plain))));

        // Routing matters once the experts differ.
        json allConfig = cp.config;
        allConfig["num_experts_per_tok"] = E;
        if (topK < E)
            QVERIFY(maxAbsDiff(referenceLogits(moeConfig, cp.weights, ids), referenceLogits(allConfig, cp.weights, ids))
                    > 1e-9);
    }

    // (d) llama3 rope scaling: the inverse frequencies of Llama 3.1's parameters keep the short
    // wavelengths, divide the long ones by the factor and put the others strictly in between.
    void llama3Frequencies()
    {
        json c = llamaConfig();
        c["hidden_size"] = 4096;
        c["num_attention_heads"] = 32;
        c["rope_theta"] = 500000.0;
        const torch::Tensor plain = ropeInverseFrequencies(c);
        QCOMPARE(plain.size(0), std::int64_t(64));
        QVERIFY(plain[0].item<double>() == 1.0);
        QVERIFY(std::abs(plain[1].item<double>() - std::pow(500000.0, -2.0 / 128.0)) < 1e-15);
        c["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                             {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}};
        const torch::Tensor scaled = ropeInverseFrequencies(c);
        int kept = 0, divided = 0, between = 0;
        for (std::int64_t i = 0; i < 64; ++i) {
            const double f = plain[i].item<double>();
            const double s = scaled[i].item<double>();
            const double wavelength = 2 * std::numbers::pi / f;
            if (wavelength < 8192.0 / 4) {
                QVERIFY(s == f);
                ++kept;
            } else if (wavelength > 8192.0 / 1) {
                QVERIFY(s == f / 8);
                ++divided;
            } else {
                QVERIFY(s < f && s > f / 8);
                ++between;
            }
            if (i > 0)
                QVERIFY(s < scaled[i - 1].item<double>());
        }
        QVERIFY(kept > 0 && divided > 0 && between > 0);

        // low == high: a step at original / low, nothing in between, no NaN.
        c["rope_scaling"]["low_freq_factor"] = 2.0;
        c["rope_scaling"]["high_freq_factor"] = 2.0;
        const torch::Tensor step = ropeInverseFrequencies(c);
        QVERIFY(torch::isfinite(step).all().item<bool>());
        for (std::int64_t i = 0; i < 64; ++i) {
            const double f = plain[i].item<double>();
            QVERIFY(step[i].item<double>() == (2 * std::numbers::pi / f < 4096.0 ? f : f / 8));
        }

        // v5 configs keep theta and scaling in rope_parameters.
        json v5 = llamaConfig();
        v5["hidden_size"] = 4096;
        v5["num_attention_heads"] = 32;
        v5.erase("rope_theta");
        v5["rope_parameters"] = c["rope_scaling"];
        v5["rope_parameters"]["rope_theta"] = 500000.0;
        QVERIFY(torch::equal(ropeInverseFrequencies(v5), step));
    }

    // (d) llama3 scaling against no scaling where they are mathematically equal:
    // - any factor, original_max_position_embeddings so large that every wavelength is below
    //   original / high_freq_factor: nothing changes (bitwise);
    // - factor 1 with thresholds that put frequencies in all three bands: low band f / 1 = f,
    //   middle band (1 - s) f + s f = f up to rounding;
    // - low == high and original so small that every wavelength is above original / low: every
    //   frequency divided by the factor, as "linear" scaling does (bitwise);
    // and the usual parameters do change the logits.
    void llama3RopeEdgeCases()
    {
        const ReferenceCheckpoint &cp = demo("llama");
        const std::vector<std::int64_t> ids{7, 70, 3, 33, 12, 99, 45, 6};
        const torch::Tensor none = referenceLogits(cp.config, cp.weights, ids);
        auto withScaling = [&](json scaling) {
            json c = cp.config;
            c["rope_scaling"] = std::move(scaling);
            return referenceLogits(c, cp.weights, ids);
        };
        auto llama3 = [](double factor, double low, double high, double original) {
            return json{{"rope_type", "llama3"}, {"factor", factor}, {"low_freq_factor", low},
                        {"high_freq_factor", high}, {"original_max_position_embeddings", original}};
        };

        // head_dim 16, theta 1e4: wavelengths 2 pi * 1e4^(2i/16), i = 0..7, from 6.28 to 19870.
        const torch::Tensor inv = ropeInverseFrequencies(cp.config);
        const double longest = 2 * std::numbers::pi / inv[-1].item<double>();
        QVERIFY(longest > 19000 && longest < 20000);

        QVERIFY(torch::equal(withScaling(llama3(8, 1, 4, 1e9)), none));

        // Bands for original 1024, low 1, high 4: below 256 kept, above 1024 divided, between.
        int bands[3] = {0, 0, 0};
        for (std::int64_t i = 0; i < inv.size(0); ++i) {
            const double w = 2 * std::numbers::pi / inv[i].item<double>();
            ++bands[w < 256 ? 0 : w > 1024 ? 2 : 1];
        }
        QVERIFY(bands[0] > 0 && bands[1] > 0 && bands[2] > 0);
        QVERIFY(maxAbsDiff(withScaling(llama3(1, 1, 4, 1024)), none) <= 1e-12);
        QVERIFY(maxAbsDiff(withScaling(llama3(8, 1, 4, 1024)), none) > 1e-9);

        const torch::Tensor linear = withScaling(json{{"rope_type", "linear"}, {"factor", 4.0}});
        QVERIFY(maxAbsDiff(linear, none) > 1e-9);
        QVERIFY(torch::equal(withScaling(llama3(4, 2, 2, 1)), linear));
        // The older spelling "type" names the same scaling.
        QVERIFY(torch::equal(withScaling(json{{"type", "linear"}, {"factor", 4.0}}), linear));
    }

    // Mistral's sliding window: key s is seen from query t when t - window < s <= t. A window of
    // 3 leaves positions 0..2 as with full attention and changes the later ones.
    void slidingWindow()
    {
        const ReferenceCheckpoint &cp = demo("mistral");
        const std::vector<std::int64_t> ids{8, 1, 94, 20, 5, 77};
        json full = cp.config;
        full["sliding_window"] = nullptr;
        json window = cp.config;
        window["sliding_window"] = 3;
        const torch::Tensor a = referenceLogits(full, cp.weights, ids);
        const torch::Tensor b = referenceLogits(window, cp.weights, ids);
        QVERIFY(torch::equal(referenceLogits(cp.config, cp.weights, ids), a)); // 4096 > 6 tokens
        QVERIFY(maxAbsDiff(a.slice(0, 0, 3), b.slice(0, 0, 3)) <= 1e-12);
        for (int t = 3; t < 6; ++t)
            QVERIFY(maxAbsDiff(a[t], b[t]) > 1e-9);
        // Window 4: position 3 still sees 0..3 (full attention), position 4 no longer sees 0.
        window["sliding_window"] = 4;
        const torch::Tensor c4 = referenceLogits(window, cp.weights, ids);
        QVERIFY(maxAbsDiff(a.slice(0, 0, 4), c4.slice(0, 0, 4)) <= 1e-12);
        QVERIFY(maxAbsDiff(a[4], c4[4]) > 1e-9);

        // Qwen2: the window applies from max_window_layers on, and only with use_sliding_window.
        const ReferenceCheckpoint &qwen = demo("qwen2");
        json q = qwen.config;
        q["sliding_window"] = 2;
        const torch::Tensor qFull = referenceLogits(qwen.config, qwen.weights, ids);
        QVERIFY(torch::equal(referenceLogits(q, qwen.weights, ids), qFull));
        q["use_sliding_window"] = true;
        q["max_window_layers"] = 2; // = num_hidden_layers: no layer slides
        QVERIFY(torch::equal(referenceLogits(q, qwen.weights, ids), qFull));
        q["max_window_layers"] = 1; // layer 1 slides
        const torch::Tensor qSlide = referenceLogits(q, qwen.weights, ids);
        QVERIFY(maxAbsDiff(qSlide.slice(0, 0, 2), qFull.slice(0, 0, 2)) <= 1e-12);
        QVERIFY(maxAbsDiff(qSlide[5], qFull[5]) > 1e-9);
        q.erase("use_sliding_window");
        q["layer_types"] = {"full_attention", "sliding_attention"};
        QVERIFY(torch::equal(referenceLogits(q, qwen.weights, ids), qSlide));
    }

    // (e) A 1-layer llama (hidden 4, one head, vocab 5, intermediate 3) with weights set by hand,
    // two positions, computed step by step with plain arithmetic.
    void handComputedLlama()
    {
        const Mat E{{0.5, -1.0, 0.25, 2.0}, {1.5, 0.5, -0.5, -1.0}, {-0.75, 1.25, 1.0, 0.0},
                    {0.2, 0.4, -1.6, 0.8}, {-2.0, 0.1, 0.3, -0.3}};
        const Vec g1{1.0, 0.5, 1.5, -1.0}, g2{0.75, 1.25, -0.5, 1.0}, gN{1.1, 0.9, -1.2, 0.6};
        const Mat Wq{{0.3, -0.2, 0.5, 0.1}, {-0.4, 0.6, 0.2, -0.3}, {0.7, 0.1, -0.5, 0.4}, {0.2, -0.8, 0.3, 0.9}};
        const Mat Wk{{-0.5, 0.4, 0.1, 0.6}, {0.3, 0.3, -0.7, 0.2}, {0.8, -0.1, 0.4, -0.6}, {-0.2, 0.5, 0.9, 0.1}};
        const Mat Wv{{0.6, 0.2, -0.3, 0.4}, {-0.1, 0.7, 0.5, -0.2}, {0.4, -0.6, 0.8, 0.3}, {0.9, 0.1, -0.4, -0.5}};
        const Mat Wo{{0.2, 0.5, -0.6, 0.1}, {-0.7, 0.3, 0.4, 0.8}, {0.5, -0.2, 0.1, -0.4}, {0.3, 0.6, -0.9, 0.2}};
        const Mat Wg{{0.4, -0.3, 0.8, 0.2}, {-0.6, 0.5, 0.1, 0.7}, {0.3, 0.9, -0.2, -0.4}};
        const Mat Wu{{-0.2, 0.6, 0.3, -0.5}, {0.7, -0.1, 0.4, 0.2}, {0.5, 0.3, -0.8, 0.6}};
        const Mat Wd{{0.6, -0.4, 0.2}, {0.1, 0.8, -0.3}, {-0.5, 0.2, 0.7}, {0.3, -0.6, 0.4}};
        const Mat Wlm{{0.5, -0.3, 0.2, 0.8}, {-0.6, 0.4, 0.9, -0.1}, {0.2, 0.7, -0.5, 0.3},
                      {0.9, -0.2, 0.1, -0.7}, {-0.4, 0.6, 0.3, 0.5}};
        const double eps = 1e-6;
        const std::vector<std::int64_t> ids{3, 1};

        // Rotary: head_dim 4, theta 10000: inverse frequencies 1 and 10000^(-1/2) = 0.01; the pairs
        // (0, 2) and (1, 3) rotate by t * 1 and t * 0.01.
        auto rope = [](const Vec &x, double t) {
            const double a = t * 1.0, b = t * 0.01;
            return Vec{x[0] * std::cos(a) - x[2] * std::sin(a), x[1] * std::cos(b) - x[3] * std::sin(b),
                       x[2] * std::cos(a) + x[0] * std::sin(a), x[3] * std::cos(b) + x[1] * std::sin(b)};
        };
        std::array<Vec, 2> x, q, k, v;
        for (int t = 0; t < 2; ++t) {
            x[t] = E[ids[t]];
            const Vec h = rms(x[t], g1, eps);
            q[t] = rope(matVec(Wq, h), t);
            k[t] = rope(matVec(Wk, h), t);
            v[t] = matVec(Wv, h);
        }
        std::array<Vec, 2> attn;
        attn[0] = v[0]; // position 0 sees only itself
        const Vec p = softmaxPlain({dot(q[1], k[0]) / 2.0, dot(q[1], k[1]) / 2.0}); // 1 / sqrt(4)
        attn[1] = add(scaled(v[0], p[0]), scaled(v[1], p[1]));
        Mat expected(2);
        for (int t = 0; t < 2; ++t) {
            Vec y = add(x[t], matVec(Wo, attn[t]));
            y = add(y, swiglu(Wg, Wu, Wd, rms(y, g2, eps)));
            expected[t] = matVec(Wlm, rms(y, gN, eps));
        }

        const json config{{"model_type", "llama"}, {"hidden_size", 4}, {"intermediate_size", 3},
                          {"num_attention_heads", 1}, {"num_key_value_heads", 1}, {"num_hidden_layers", 1},
                          {"rms_norm_eps", eps}, {"rope_theta", 10000.0}, {"vocab_size", 5}};
        const Weights w{{"model.embed_tokens.weight", toTensor(E)},
                        {"model.layers.0.input_layernorm.weight", toTensor(g1)},
                        {"model.layers.0.self_attn.q_proj.weight", toTensor(Wq)},
                        {"model.layers.0.self_attn.k_proj.weight", toTensor(Wk)},
                        {"model.layers.0.self_attn.v_proj.weight", toTensor(Wv)},
                        {"model.layers.0.self_attn.o_proj.weight", toTensor(Wo)},
                        {"model.layers.0.post_attention_layernorm.weight", toTensor(g2)},
                        {"model.layers.0.mlp.gate_proj.weight", toTensor(Wg)},
                        {"model.layers.0.mlp.up_proj.weight", toTensor(Wu)},
                        {"model.layers.0.mlp.down_proj.weight", toTensor(Wd)},
                        {"model.norm.weight", toTensor(gN)},
                        {"lm_head.weight", toTensor(Wlm)}};
        const torch::Tensor got = referenceLogits(config, w, ids);
        const torch::Tensor want = toTensor(expected);
        QVERIFY2(maxAbsDiff(got, want) <= 1e-10, qPrintable(QString::number(maxAbsDiff(got, want))));
        QVERIFY(want.abs().max().item<double>() > 0.1); // not trivially small
    }

    // (e) A 1-layer GPT-2 (hidden 4, 2 heads, vocab 5, inner 6, tied head) by hand: Conv1D
    // weights are [in, out], positions are learned, gelu_new, LayerNorm with bias.
    void handComputedGpt2()
    {
        const Mat wte = handMatrix(5, 4, 1), wpe = handMatrix(3, 4, 2);
        const Mat cAttn = handMatrix(4, 12, 3), cProj = handMatrix(4, 4, 4);
        const Mat cFc = handMatrix(4, 6, 5), mProj = handMatrix(6, 4, 6);
        const Vec bAttn = handMatrix(1, 12, 7)[0], bProj = handMatrix(1, 4, 8)[0];
        const Vec bFc = handMatrix(1, 6, 9)[0], bMProj = handMatrix(1, 4, 10)[0];
        const Vec ln1g{1.0, 0.8, 1.2, 0.9}, ln1b{0.1, -0.1, 0.0, 0.2};
        const Vec ln2g{0.7, 1.1, 1.0, 1.3}, ln2b{-0.2, 0.0, 0.1, 0.05};
        const Vec lnfg{1.2, 0.9, 1.0, 0.8}, lnfb{0.0, 0.1, -0.1, 0.0};
        const double eps = 1e-5;
        const std::vector<std::int64_t> ids{4, 2};

        std::array<Vec, 2> x, q, k, v;
        for (int t = 0; t < 2; ++t) {
            x[t] = add(wte[ids[t]], wpe[t]);
            const Vec qkv = add(vecMat(layerNormPlain(x[t], ln1g, ln1b, eps), cAttn), bAttn);
            q[t] = Vec(qkv.begin(), qkv.begin() + 4);
            k[t] = Vec(qkv.begin() + 4, qkv.begin() + 8);
            v[t] = Vec(qkv.begin() + 8, qkv.end());
        }
        Mat expected(2);
        for (int t = 0; t < 2; ++t) {
            Vec attn(4, 0.0);
            for (int head = 0; head < 2; ++head) { // head h: features 2h, 2h+1
                Vec scores;
                for (int s = 0; s <= t; ++s)
                    scores.push_back((q[t][2 * head] * k[s][2 * head] + q[t][2 * head + 1] * k[s][2 * head + 1])
                                     / std::sqrt(2.0));
                const Vec p = softmaxPlain(scores);
                for (int s = 0; s <= t; ++s)
                    for (int j = 0; j < 2; ++j)
                        attn[2 * head + j] += p[s] * v[s][2 * head + j];
            }
            Vec y = add(x[t], add(vecMat(attn, cProj), bProj));
            Vec m = add(vecMat(layerNormPlain(y, ln2g, ln2b, eps), cFc), bFc);
            for (double &e : m)
                e = geluTanh(e);
            y = add(y, add(vecMat(m, mProj), bMProj));
            expected[t] = matVec(wte, layerNormPlain(y, lnfg, lnfb, eps)); // tied head
        }

        const json config{{"model_type", "gpt2"}, {"n_embd", 4}, {"n_head", 2}, {"n_layer", 1},
                          {"n_positions", 3}, {"n_inner", 6}, {"vocab_size", 5},
                          {"layer_norm_epsilon", eps}, {"activation_function", "gelu_new"}};
        const std::string h = "transformer.h.0.";
        const Weights w{{"transformer.wte.weight", toTensor(wte)}, {"transformer.wpe.weight", toTensor(wpe)},
                        {h + "ln_1.weight", toTensor(ln1g)}, {h + "ln_1.bias", toTensor(ln1b)},
                        {h + "attn.c_attn.weight", toTensor(cAttn)}, {h + "attn.c_attn.bias", toTensor(bAttn)},
                        {h + "attn.c_proj.weight", toTensor(cProj)}, {h + "attn.c_proj.bias", toTensor(bProj)},
                        {h + "ln_2.weight", toTensor(ln2g)}, {h + "ln_2.bias", toTensor(ln2b)},
                        {h + "mlp.c_fc.weight", toTensor(cFc)}, {h + "mlp.c_fc.bias", toTensor(bFc)},
                        {h + "mlp.c_proj.weight", toTensor(mProj)}, {h + "mlp.c_proj.bias", toTensor(bMProj)},
                        {"transformer.ln_f.weight", toTensor(lnfg)}, {"transformer.ln_f.bias", toTensor(lnfb)},
                        // GPT-2's causal-mask buffer as old checkpoints stored it: not a weight.
                        {h + "attn.bias", torch::ones({1, 1, 3, 3})}};
        const torch::Tensor got = referenceLogits(config, w, ids);
        const torch::Tensor want = toTensor(expected);
        QVERIFY2(maxAbsDiff(got, want) <= 1e-10, qPrintable(QString::number(maxAbsDiff(got, want))));
        QVERIFY(want.abs().max().item<double>() > 0.1);
    }

    // (e) Mixtral routing by hand: one layer, one token (attention of a single token at position 0
    // is its value), 3 experts, top-2 of the router's softmax, renormalised.
    void handComputedMixtralRouting()
    {
        const Mat E = handMatrix(5, 4, 11);
        const Vec g1{1.0, 0.9, 1.1, 0.8}, g2{1.2, 0.7, 1.0, 0.9}, gN{0.9, 1.0, 1.1, 1.2};
        const Mat Wq = handMatrix(4, 4, 12), Wk = handMatrix(2, 4, 13), Wv = handMatrix(2, 4, 14);
        const Mat Wo = handMatrix(4, 4, 15), router = handMatrix(3, 4, 16), Wlm = handMatrix(5, 4, 17);
        std::array<Mat, 3> gate, up, down;
        for (int e = 0; e < 3; ++e) {
            gate[e] = handMatrix(3, 4, 20 + e);
            up[e] = handMatrix(3, 4, 30 + e);
            down[e] = handMatrix(4, 3, 40 + e);
        }
        const double eps = 1e-5;
        const std::int64_t id = 2;

        // 2 heads of size 2 sharing 1 kv head: both heads' outputs are v.
        const Vec v = matVec(Wv, rms(E[id], g1, eps));
        Vec x = add(E[id], matVec(Wo, Vec{v[0], v[1], v[0], v[1]}));
        const Vec m = rms(x, g2, eps);
        const Vec p = softmaxPlain(matVec(router, m));
        std::array<int, 3> order{0, 1, 2};
        std::sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
        QVERIFY(p[order[1]] - p[order[2]] > 1e-3); // the top-2 is clear
        const double total = p[order[0]] + p[order[1]];
        for (int j = 0; j < 2; ++j) {
            const int e = order[j];
            x = add(x, scaled(swiglu(gate[e], up[e], down[e], m), p[e] / total));
        }
        const Vec expected = matVec(Wlm, rms(x, gN, eps));

        const json config{{"model_type", "mixtral"}, {"hidden_size", 4}, {"intermediate_size", 3},
                          {"num_attention_heads", 2}, {"num_key_value_heads", 1}, {"num_hidden_layers", 1},
                          {"num_local_experts", 3}, {"num_experts_per_tok", 2}, {"rms_norm_eps", eps},
                          {"vocab_size", 5}};
        std::vector<torch::Tensor> gateUp, downs;
        for (int e = 0; e < 3; ++e) {
            gateUp.push_back(torch::cat({toTensor(gate[e]), toTensor(up[e])}, 0));
            downs.push_back(toTensor(down[e]));
        }
        const std::string l = "model.layers.0.";
        const Weights w{{"model.embed_tokens.weight", toTensor(E)},
                        {l + "input_layernorm.weight", toTensor(g1)},
                        {l + "self_attn.q_proj.weight", toTensor(Wq)},
                        {l + "self_attn.k_proj.weight", toTensor(Wk)},
                        {l + "self_attn.v_proj.weight", toTensor(Wv)},
                        {l + "self_attn.o_proj.weight", toTensor(Wo)},
                        {l + "post_attention_layernorm.weight", toTensor(g2)},
                        {l + "mlp.gate.weight", toTensor(router)},
                        {l + "mlp.experts.gate_up_proj", torch::stack(gateUp)},
                        {l + "mlp.experts.down_proj", torch::stack(downs)},
                        {"model.norm.weight", toTensor(gN)},
                        {"lm_head.weight", toTensor(Wlm)}};
        const torch::Tensor got = referenceLogits(config, w, {id});
        const torch::Tensor want = toTensor(Mat{expected});
        QVERIFY2(maxAbsDiff(got, want) <= 1e-10, qPrintable(QString::number(maxAbsDiff(got, want))));
    }

    // (f) What the reference cannot compute is a clear std::runtime_error naming the problem.
    void errors_data()
    {
        QTest::addColumn<int>("which");
        QTest::addColumn<QString>("named");
        QTest::newRow("unknown model_type") << 0 << "\"bert\"";
        QTest::newRow("missing tensor") << 1 << "\"model.layers.1.mlp.up_proj.weight\"";
        QTest::newRow("wrong shape") << 2 << "\"model.layers.0.self_attn.k_proj.weight\"";
        QTest::newRow("unused tensor") << 3 << "\"model.layers.0.self_attn.q_proj.bias\"";
        QTest::newRow("unknown rope_type") << 4 << "\"yarn\"";
        QTest::newRow("token outside the vocabulary") << 5 << "101";
        QTest::newRow("no tokens") << 6 << "no token ids";
        QTest::newRow("unknown activation") << 7 << "\"relu2\"";
        QTest::newRow("missing config key") << 8 << "\"hidden_size\"";
        QTest::newRow("tied head absent, not tied") << 9 << "\"lm_head.weight\"";
    }
    void errors()
    {
        QFETCH(int, which);
        QFETCH(QString, named);
        const ReferenceCheckpoint &cp = demo("llama");
        json config = cp.config;
        Weights w = cp.weights;
        std::vector<std::int64_t> ids{1, 2, 3};
        switch (which) {
        case 0: config["model_type"] = "bert"; break;
        case 1: w.erase("model.layers.1.mlp.up_proj.weight"); break;
        case 2: w["model.layers.0.self_attn.k_proj.weight"] = torch::zeros({64, 64}); break;
        case 3: w["model.layers.0.self_attn.q_proj.bias"] = torch::zeros({64}); break;
        case 4: config["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 2.0}}; break;
        case 5: ids.push_back(101); break;
        case 6: ids.clear(); break;
        case 7: config["hidden_act"] = "relu2"; break;
        case 8: config.erase("hidden_size"); break;
        case 9: w.erase("lm_head.weight"); break;
        default: QFAIL("no such case");
        }
        try {
            referenceLogits(config, w, ids);
            QFAIL("no exception");
        } catch (const std::runtime_error &e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(named), e.what());
        }
    }
};

QTEST_GUILESS_MAIN(TestReference)
#include "tst_reference.moc"
