// The demo model shipped in resources/demo/fortunes-llama/ (trained by tools/traindemo through
// scripts/train-demo.sh; the tests never train): it predicts held-out fortunes far better than
// chance, `mizan-cli run` over its hardware profile (two simulated GPUs, CPU RAM and disk, with
// prefetch) gives the tokens of the all-CPU run, what it writes is English-looking text, and its
// JSON files are exactly what the trainer writes.
// libtorch before Qt: Qt's `slots` keyword breaks libtorch's headers.
#include <torch/torch.h>

#include "demotext.h"
#include "loader/checkpoint.h"
#include "models/torch/forward.h"
#include "testutil.h"

#include <QtTest>

#include <QDirIterator>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include <cmath>
#include <numbers>

namespace {

namespace fwd = mizan::models::torchfwd;
using mizan::test::CliRun;
using mizan::test::runCli;
using mizan::test::text;

const QString kModel = QStringLiteral(MIZAN_SOURCE_DIR "/resources/demo/fortunes-llama");
const QString kProfile = QStringLiteral("fortunes-demo");
const char *const kPrompt = "The ";
constexpr int kNewTokens = 48;

QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

QString promptIds()
{
    QStringList ids;
    for (const std::int64_t id : mizan::demo::encode(kPrompt))
        ids << QString::number(id);
    return ids.join(QLatin1Char(','));
}

std::vector<std::int64_t> idsOf(const QJsonArray &a)
{
    std::vector<std::int64_t> ids;
    for (const auto &v : a)
        ids.push_back(v.toInteger());
    return ids;
}

} // namespace

class TestDemoModel : public QObject {
    Q_OBJECT
private:
    std::vector<std::int64_t> m_reference; // greedy ids of the all-CPU run

    CliRun run(const QStringList &placement) const
    {
        return runCli(QStringList{QStringLiteral("run"), kModel, QStringLiteral("--json"), QStringLiteral("--prompt-ids"), promptIds(),
                                  QStringLiteral("--max-new-tokens"), QString::number(kNewTokens)}
                      + placement);
    }

private Q_SLOTS:
    void initTestCase()
    {
        torch::set_num_threads(1);
        QVERIFY2(QFile::exists(kModel + QStringLiteral("/model.safetensors")), qPrintable(kModel + QStringLiteral(" has no model.safetensors")));
        const CliRun reference = run({QStringLiteral("--max-memory"), QStringLiteral("cpu=10GB")});
        QVERIFY2(reference.exitCode == 0, qPrintable(text(reference)));
        m_reference = idsOf(QJsonDocument::fromJson(reference.out).object().value(QStringLiteral("generated_ids")).toArray());
        QCOMPARE(m_reference.size(), std::size_t(kNewTokens));
    }

    // A LLaMA over the byte vocabulary, small enough for the repository; its tokenizer.json is a
    // byte-level BPE without merges whose ids are the bytes (GPT-2's byte-to-symbol table).
    void files()
    {
        qint64 total = 0;
        for (QDirIterator it(kModel, QDir::Files); it.hasNext();)
            total += QFileInfo(it.next()).size();
        QVERIFY2(total > 0 && total < 10'000'000, qPrintable(QString::number(total)));

        const QJsonObject config = QJsonDocument::fromJson(readAll(kModel + QStringLiteral("/config.json"))).object();
        QCOMPARE(config.value(QStringLiteral("model_type")).toString(), QStringLiteral("llama"));
        QCOMPARE(config.value(QStringLiteral("architectures")).toArray().first().toString(), QStringLiteral("LlamaForCausalLM"));
        QCOMPARE(config.value(QStringLiteral("vocab_size")).toInteger(), mizan::demo::kVocabSize);
        QCOMPARE(config.value(QStringLiteral("bos_token_id")).toInteger(), mizan::demo::kBeginOfText);
        QCOMPARE(config.value(QStringLiteral("eos_token_id")).toInteger(), mizan::demo::kEndOfText);

        const QJsonObject tokenizer = QJsonDocument::fromJson(readAll(kModel + QStringLiteral("/tokenizer.json"))).object();
        const QJsonObject model = tokenizer.value(QStringLiteral("model")).toObject();
        QCOMPARE(model.value(QStringLiteral("type")).toString(), QStringLiteral("BPE"));
        QVERIFY(model.value(QStringLiteral("merges")).toArray().isEmpty());
        const QJsonObject vocab = model.value(QStringLiteral("vocab")).toObject();
        QCOMPARE(vocab.size(), 256);
        QSet<qint64> ids;
        for (auto it = vocab.begin(); it != vocab.end(); ++it)
            ids.insert(it.value().toInteger());
        QCOMPARE(ids.size(), 256);
        QCOMPARE(vocab.value(QStringLiteral("A")).toInteger(), 65);
        QCOMPARE(vocab.value(QStringLiteral("\u0120")).toInteger(), 32); // "Ġ": the space
        QCOMPARE(vocab.value(QStringLiteral("\u010a")).toInteger(), 10); // "Ċ": the newline
        QCOMPARE(vocab.value(QStringLiteral("\u00ff")).toInteger(), 255);
        const QJsonArray added = tokenizer.value(QStringLiteral("added_tokens")).toArray();
        QCOMPARE(added.size(), 2);
        QCOMPARE(added.at(0).toObject().value(QStringLiteral("content")).toString(), QLatin1String(mizan::demo::kBeginOfTextToken));
        QCOMPARE(added.at(0).toObject().value(QStringLiteral("id")).toInteger(), mizan::demo::kBeginOfText);
        QCOMPARE(added.at(1).toObject().value(QStringLiteral("content")).toString(), QLatin1String(mizan::demo::kEndOfTextToken));
        QCOMPARE(added.at(1).toObject().value(QStringLiteral("id")).toInteger(), mizan::demo::kEndOfText);
    }

    // The trainer's path through the forward: CausalLM::run records autograd history when the
    // source hands out tensors that require grad, and every weight gets a gradient; logits() and
    // generate() (inference) record none and leave grad mode as they found it.
    void forwardTrainsAndInfersWithoutGrad()
    {
        const nlohmann::json config = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"vocab_size", 258},
                                        {"hidden_size", 16}, {"intermediate_size", 24}, {"num_hidden_layers", 2},
                                        {"num_attention_heads", 4}, {"num_key_value_heads", 2}};
        const auto model = fwd::CausalLM::fromConfig(config);
        torch::manual_seed(7);
        std::map<std::string, torch::Tensor> params;
        for (const auto &step : model->steps())
            for (std::size_t i = 0; i < step.tensors.size(); ++i)
                params[step.tensors[i]] = (torch::randn(step.shapes[i]) * 0.2).set_requires_grad(true);
        struct Source final : fwd::WeightSource {
            std::map<std::string, torch::Tensor> &p;
            explicit Source(std::map<std::string, torch::Tensor> &params) : p(params) {}
            torch::Tensor get(const std::string &name) override { return p.at(name); }
        } source(params);

        QVERIFY(torch::GradMode::is_enabled());
        const torch::Tensor ids = torch::tensor(mizan::demo::encode("Fortune favours the bold."), torch::kInt64).unsqueeze(0);
        fwd::DecodeState state = model->newState();
        torch::Tensor x = ids.slice(1, 0, -1);
        for (std::size_t i = 0; i < model->steps().size(); ++i)
            x = model->run(i, x, state, source);
        QVERIFY(x.requires_grad());
        torch::nn::functional::cross_entropy(x.reshape({-1, x.size(-1)}), ids.slice(1, 1).reshape({-1})).backward();
        for (const auto &[name, t] : params)
            QVERIFY2(t.grad().defined() && t.grad().abs().sum().item<double>() > 0, name.c_str());

        fwd::DecodeState fresh = model->newState();
        QVERIFY(!fwd::logits(*model, ids, fresh, source).requires_grad());
        QVERIFY(torch::GradMode::is_enabled());
        QCOMPARE(fwd::generate(*model, source, {256, 70}, 3).size(), std::size_t(3));
        QVERIFY(torch::GradMode::is_enabled());
    }

    // The JSON files in the repository are byte for byte what `mizan-train-demo` writes with its
    // defaults (the options scripts/train-demo.sh trains with), so config and trainer cannot drift.
    void metadataIsWhatTheTrainerWrites()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const CliRun r = mizan::test::runProgram(QStringLiteral(MIZAN_BINARY_DIR "/tools/traindemo/mizan-train-demo"),
                                                 {QStringLiteral("--metadata-only"), QStringLiteral("--out"), dir.path()},
                                                 QProcessEnvironment::systemEnvironment());
        QVERIFY2(r.exitCode == 0, qPrintable(text(r)));
        for (const char *name : {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"}) {
            const QByteArray shipped = readAll(kModel + QLatin1Char('/') + QLatin1String(name));
            QVERIFY2(!shipped.isEmpty(), name);
            QVERIFY2(readAll(dir.filePath(QLatin1String(name))) == shipped, name);
        }
    }

    // Fortunes the model never saw (tests/data/fortunes-heldout.txt, left out of training by the
    // trainer): cross-entropy in bits per byte through the project's forward pass, with the
    // windows and the counting of tools/traindemo (windows of max_position_embeddings tokens,
    // <|begin_of_text|> fortune <|end_of_text|>, only byte targets counted). A uniform guess costs
    // 8 bits per byte; the shipped model measured 2.455 (README, "The demo model").
    void heldoutBitsPerByte()
    {
        const QByteArray heldout = readAll(QString::fromStdString(mizan::testdata::path("fortunes-heldout.txt")));
        QVERIFY2(heldout.size() > 2000, "tests/data/fortunes-heldout.txt is missing or short");
        const auto fortunes = mizan::demo::splitFortunes(std::string_view(heldout.constData(), static_cast<std::size_t>(heldout.size())));
        QVERIFY(fortunes.size() >= 20);
        const std::vector<std::int64_t> stream = mizan::demo::tokenStream(fortunes);

        const mizan::loader::Checkpoint checkpoint = mizan::loader::open(kModel.toStdString());
        const auto model = fwd::CausalLM::fromCheckpoint(checkpoint);
        const auto weights = fwd::checkpointSource(checkpoint, torch::kFloat32, torch::kCPU);
        const std::int64_t context = checkpoint.config.at("max_position_embeddings").get<std::int64_t>();
        torch::NoGradGuard noGrad;
        double nats = 0;
        std::int64_t bytes = 0;
        for (std::size_t start = 0; start + 1 < stream.size(); start += static_cast<std::size_t>(context)) {
            const std::size_t end = std::min(stream.size(), start + static_cast<std::size_t>(context));
            if (end - start < 2)
                break;
            const std::vector<std::int64_t> window(stream.begin() + static_cast<std::ptrdiff_t>(start),
                                                   stream.begin() + static_cast<std::ptrdiff_t>(end));
            fwd::DecodeState state = model->newState();
            const torch::Tensor ids = torch::tensor(window, torch::kInt64).unsqueeze(0);
            const torch::Tensor logits = fwd::logits(*model, ids, state, *weights)[0];
            QVERIFY(!logits.requires_grad());
            const torch::Tensor logProbs = torch::log_softmax(logits.slice(0, 0, -1), -1);
            const torch::Tensor targets = ids[0].slice(0, 1);
            const torch::Tensor picked = logProbs.gather(1, targets.unsqueeze(1)).squeeze(1);
            const torch::Tensor isByte = targets < mizan::demo::kByteTokens;
            nats -= picked.masked_select(isByte).sum().item<double>();
            bytes += isByte.sum().item<std::int64_t>();
        }
        const double bitsPerByte = nats / static_cast<double>(bytes) / std::numbers::ln2;
        qInfo("held-out: %lld bytes, %.4f bits per byte", static_cast<long long>(bytes), bitsPerByte);
        QVERIFY2(bitsPerByte < 2.55, qPrintable(QString::number(bitsPerByte)));
    }

    // Dispatched over the demo profile (layers on two simulated GPUs, in CPU RAM and on disk),
    // with every prefetch depth: the greedy tokens of the all-CPU run.
    void dispatchedLikeSingleDevice_data()
    {
        QTest::addColumn<QString>("prefetch");
        QTest::newRow("prefetch 0") << QStringLiteral("0");
        QTest::newRow("prefetch 1") << QStringLiteral("1");
        QTest::newRow("prefetch 2") << QStringLiteral("2");
    }
    void dispatchedLikeSingleDevice()
    {
        QFETCH(QString, prefetch);
        const CliRun r = run({QStringLiteral("--hardware"), kProfile, QStringLiteral("--prefetch"), prefetch});
        QVERIFY2(r.exitCode == 0, qPrintable(text(r)));
        const QJsonObject j = QJsonDocument::fromJson(r.out).object();
        QSet<QString> devices;
        const QJsonObject map = j.value(QStringLiteral("device_map")).toObject();
        for (const auto &v : map)
            devices.insert(v.isDouble() ? QString::number(v.toInt()) : v.toString());
        QCOMPARE(devices, (QSet<QString>{QStringLiteral("0"), QStringLiteral("1"), QStringLiteral("cpu"), QStringLiteral("disk")}));
        QCOMPARE(idsOf(j.value(QStringLiteral("generated_ids")).toArray()), m_reference);
    }

    // What it writes after "The " is English-looking text: bytes (no special token before the
    // end), printable ASCII, mostly letters and spaces, several words of two letters or more.
    void writesText()
    {
        std::string out;
        for (const std::int64_t id : m_reference) {
            if (id == mizan::demo::kEndOfText)
                break;
            QVERIFY2(id < mizan::demo::kByteTokens, qPrintable(QString::number(id)));
            out.push_back(static_cast<char>(id));
        }
        qInfo("greedy continuation of \"%s\": %s", kPrompt, QByteArray::fromStdString(out).toPercentEncoding(" ,.;:'!?-").constData());
        QVERIFY2(out.size() >= 16, out.c_str());
        int printable = 0, lettersOrSpaces = 0;
        for (const char c : out) {
            printable += (c >= 0x20 && c < 0x7f) || c == '\n';
            lettersOrSpaces += std::isalpha(static_cast<unsigned char>(c)) || c == ' ' || c == '\n';
        }
        QCOMPARE(printable, static_cast<int>(out.size()));
        QVERIFY2(lettersOrSpaces * 10 >= static_cast<int>(out.size()) * 8, out.c_str());
        // Words of English: most of them occur in the held-out fortunes too.
        const QRegularExpression nonLetters(QStringLiteral("[^A-Za-z]+"));
        const QString heldout = QString::fromUtf8(readAll(QString::fromStdString(mizan::testdata::path("fortunes-heldout.txt")))).toLower();
        const QStringList known = heldout.split(nonLetters, Qt::SkipEmptyParts);
        const QSet<QString> vocabulary(known.begin(), known.end());
        QVERIFY(vocabulary.size() > 500);
        int words = 0, english = 0;
        for (const QString &w : QString::fromStdString(out).toLower().split(nonLetters, Qt::SkipEmptyParts)) {
            if (w.size() < 2)
                continue;
            ++words;
            english += vocabulary.contains(w);
        }
        QVERIFY2(words >= 5, out.c_str());
        QVERIFY2(english * 4 >= words * 3, qPrintable(QStringLiteral("%1 of %2 words known: %3").arg(english).arg(words).arg(QString::fromStdString(out))));
    }
};

QTEST_GUILESS_MAIN(TestDemoModel)
#include "tst_demomodel.moc"
