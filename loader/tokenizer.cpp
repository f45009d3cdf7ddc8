#include "tokenizer.h"

#include "tokentext_p.h"

#include "planner/error.h"
#include "planner/fileio.h"
#include "planner/jsonfile.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

namespace mizan::loader {

using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

// ---- reading the JSON ---------------------------------------------------------------------------

// Field access that names the field in errors ("tokenizer.json: \"model.vocab\" must be an object").
struct Reader {
    std::string file;

    [[noreturn]] void fail(const std::string &where, const std::string &what) const
    {
        throw Error(ErrorKind::InvalidHeader, file, (where.empty() ? std::string() : "\"" + where + "\" ") + what);
    }
    const Json &object(const Json &value, const std::string &where) const
    {
        if (!value.is_object())
            fail(where, "must be an object, found " + planner::jsonTypeName(value));
        return value;
    }
    const Json &array(const Json &value, const std::string &where) const
    {
        if (!value.is_array())
            fail(where, "must be an array, found " + planner::jsonTypeName(value));
        return value;
    }
    std::string string(const Json &value, const std::string &where) const
    {
        if (!value.is_string())
            fail(where, "must be a string, found " + planner::jsonTypeName(value));
        std::string text = value.get<std::string>();
        if (tok::firstInvalidUtf8(text) != std::string_view::npos)
            fail(where, "is not valid UTF-8");
        return text;
    }
    // An optional member: the default when absent or null.
    std::string string(const Json &parent, const char *key, const std::string &where, std::string otherwise) const
    {
        const auto it = parent.find(key);
        return it == parent.end() || it->is_null() ? otherwise : string(*it, where + "." + key);
    }
    bool boolean(const Json &parent, const char *key, const std::string &where, bool otherwise) const
    {
        const auto it = parent.find(key);
        if (it == parent.end() || it->is_null())
            return otherwise;
        if (!it->is_boolean())
            fail(where + "." + key, "must be true or false, found " + planner::jsonTypeName(*it));
        return it->get<bool>();
    }
    std::int64_t integer(const Json &value, const std::string &where, std::int64_t min, std::int64_t max) const
    {
        std::string why;
        const auto n = planner::jsonInteger(value, min, max, &why);
        if (!n)
            fail(where, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", found " + why);
        return *n;
    }
    std::int64_t integer(const Json &parent, const char *key, const std::string &where, std::int64_t min,
                         std::int64_t max, std::int64_t otherwise) const
    {
        const auto it = parent.find(key);
        return it == parent.end() || it->is_null() ? otherwise : integer(*it, where + "." + key, min, max);
    }
    std::string type(const Json &value, const std::string &where) const
    {
        object(value, where);
        const auto it = value.find("type");
        if (it == value.end())
            fail(where, "has no \"type\"");
        return string(*it, where + ".type");
    }
    [[noreturn]] void unsupported(const std::string &where, const std::string &what) const
    {
        throw Error(ErrorKind::UnsupportedFormat, file, "\"" + where + "\": " + what + " is not supported");
    }
};

std::string at(const std::string &where, std::size_t index)
{
    return where + "[" + std::to_string(index) + "]";
}

// A Split / Replace pattern: {"String": "..."} or {"Regex": "..."}.
std::shared_ptr<tok::Regex> readPattern(const Reader &r, const Json &parent, const std::string &where)
{
    const auto it = parent.find("pattern");
    if (it == parent.end())
        r.fail(where, "has no \"pattern\"");
    r.object(*it, where + ".pattern");
    if (const auto s = it->find("String"); s != it->end())
        return std::make_shared<tok::Regex>(r.string(*s, where + ".pattern.String"), true, r.file, "\"" + where + ".pattern\"");
    if (const auto s = it->find("Regex"); s != it->end())
        return std::make_shared<tok::Regex>(r.string(*s, where + ".pattern.Regex"), false, r.file, "\"" + where + ".pattern\"");
    r.fail(where + ".pattern", "must have a \"String\" or a \"Regex\"");
}

// A "Sequence" stage: its `key` array read part by part with `readPart(item, where)` (null parts,
// i.e. JSON nulls, left out).
template<typename Sequence, typename ReadPart>
std::unique_ptr<Sequence> readSequence(const Reader &r, const Json &value, const std::string &where, const char *key,
                                       ReadPart readPart)
{
    auto out = std::make_unique<Sequence>();
    const auto it = value.find(key);
    if (it == value.end())
        r.fail(where, std::string("has no \"") + key + "\"");
    r.array(*it, where + "." + key);
    for (std::size_t i = 0; i < it->size(); ++i)
        if (auto part = readPart((*it)[i], at(where + "." + key, i)))
            out->parts.push_back(std::move(part));
    return out;
}

// ---- normalizers --------------------------------------------------------------------------------

struct Normalizer {
    virtual ~Normalizer() = default;
    virtual std::string apply(std::string text) const = 0;
};

struct NormalizerSequence : Normalizer {
    std::vector<std::unique_ptr<Normalizer>> parts;
    std::string apply(std::string text) const override
    {
        for (const auto &part : parts)
            text = part->apply(std::move(text));
        return text;
    }
};

struct ReplaceNormalizer : Normalizer {
    std::shared_ptr<tok::Regex> pattern;
    std::string content;
    std::string apply(std::string text) const override { return pattern->replaceAll(text, content); }
};

struct PrependNormalizer : Normalizer {
    std::string prefix;
    std::string apply(std::string text) const override { return prefix + text; }
};

struct UnicodeNormalizer : Normalizer {
    tok::NormalForm form = tok::NormalForm::NFC;
    std::string apply(std::string text) const override { return tok::normalizeUnicode(text, form); }
};

struct LowercaseNormalizer : Normalizer {
    std::string apply(std::string text) const override { return tok::lowerCase(text); }
};

struct StripNormalizer : Normalizer {
    bool left = true, right = true;
    std::string apply(std::string text) const override
    {
        std::string_view view = text;
        if (left)
            view = tok::trimStart(view);
        if (right)
            view = tok::trimEnd(view);
        return std::string(view);
    }
};

struct StripAccentsNormalizer : Normalizer {
    tok::Regex marks{"\\p{M}", false, {}, "StripAccents"};
    std::string apply(std::string text) const override { return marks.replaceAll(text, ""); }
};

std::unique_ptr<Normalizer> readNormalizer(const Reader &r, const Json &value, const std::string &where)
{
    if (value.is_null())
        return nullptr;
    const std::string type = r.type(value, where);
    if (type == "Sequence")
        return readSequence<NormalizerSequence>(r, value, where, "normalizers", [&](const Json &item, const std::string &itemWhere) {
            return readNormalizer(r, item, itemWhere);
        });
    if (type == "Replace") {
        auto out = std::make_unique<ReplaceNormalizer>();
        out->pattern = readPattern(r, value, where);
        out->content = r.string(value, "content", where, "");
        return out;
    }
    if (type == "Prepend") {
        auto out = std::make_unique<PrependNormalizer>();
        out->prefix = r.string(value, "prepend", where, "");
        return out;
    }
    if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD" || type == "Lowercase") {
        if (!tok::haveUnicodeNormalization())
            throw Error(ErrorKind::UnsupportedFormat, r.file,
                        "\"" + where + "\": the " + type + " normalizer needs ICU, which this build of Mizan lacks");
        if (type == "Lowercase")
            return std::make_unique<LowercaseNormalizer>();
        auto out = std::make_unique<UnicodeNormalizer>();
        out->form = type == "NFC" ? tok::NormalForm::NFC
                    : type == "NFD" ? tok::NormalForm::NFD
                    : type == "NFKC" ? tok::NormalForm::NFKC
                                     : tok::NormalForm::NFKD;
        return out;
    }
    if (type == "Strip") {
        auto out = std::make_unique<StripNormalizer>();
        out->left = r.boolean(value, "strip_left", where, true);
        out->right = r.boolean(value, "strip_right", where, true);
        return out;
    }
    if (type == "StripAccents")
        return std::make_unique<StripAccentsNormalizer>();
    r.unsupported(where, "the normalizer type \"" + type + "\"");
}

// ---- pre-tokenizers -----------------------------------------------------------------------------

using Pieces = std::vector<std::string>;

struct PreTokenizer {
    virtual ~PreTokenizer() = default;
    // Splits every piece further; `section` is the index of the text's section (0: the start of
    // the text, before any added token).
    virtual Pieces apply(const Pieces &pieces, std::size_t section) const = 0;
};

struct PreTokenizerSequence : PreTokenizer {
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    Pieces apply(const Pieces &pieces, std::size_t section) const override
    {
        Pieces out = pieces;
        for (const auto &part : parts)
            out = part->apply(out, section);
        return out;
    }
};

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// Splits `text` around the matches of `regex` as tokenizers' Split does; empty pieces are dropped.
void splitAround(const tok::Regex &regex, const std::string &text, SplitBehavior behavior, bool invert, Pieces &out)
{
    const auto matches = regex.findAll(text);
    if (invert) { // the matches are what is kept
        for (const auto &[b, e] : matches)
            if (e > b)
                out.push_back(text.substr(b, e - b));
        return;
    }
    // Alternating (text, is-match) spans covering the whole text.
    std::vector<std::pair<std::string, bool>> spans;
    std::size_t last = 0;
    for (const auto &[b, e] : matches) {
        if (b > last)
            spans.emplace_back(text.substr(last, b - last), false);
        if (e > b)
            spans.emplace_back(text.substr(b, e - b), true);
        last = std::max(last, e);
    }
    if (last < text.size())
        spans.emplace_back(text.substr(last), false);
    switch (behavior) {
    case SplitBehavior::Removed:
        for (auto &[piece, isMatch] : spans)
            if (!isMatch)
                out.push_back(std::move(piece));
        return;
    case SplitBehavior::Isolated:
        for (auto &span : spans)
            out.push_back(std::move(span.first));
        return;
    case SplitBehavior::MergedWithPrevious: {
        bool previousIsText = false;
        for (auto &[piece, isMatch] : spans) {
            if (isMatch && previousIsText)
                out.back() += piece;
            else
                out.push_back(std::move(piece));
            previousIsText = !isMatch;
        }
        return;
    }
    case SplitBehavior::MergedWithNext: {
        std::string pending;
        for (auto &[piece, isMatch] : spans) {
            if (isMatch) {
                if (!pending.empty())
                    out.push_back(std::move(pending));
                pending = std::move(piece);
            } else {
                out.push_back(pending + piece);
                pending.clear();
            }
        }
        if (!pending.empty())
            out.push_back(std::move(pending));
        return;
    }
    case SplitBehavior::Contiguous: {
        bool previousIsMatch = false;
        for (auto &[piece, isMatch] : spans) {
            if (isMatch && previousIsMatch)
                out.back() += piece;
            else
                out.push_back(std::move(piece));
            previousIsMatch = isMatch;
        }
        return;
    }
    }
}

struct SplitPreTokenizer : PreTokenizer {
    std::shared_ptr<tok::Regex> pattern;
    SplitBehavior behavior = SplitBehavior::Isolated;
    bool invert = false;
    Pieces apply(const Pieces &pieces, std::size_t) const override
    {
        Pieces out;
        for (const auto &piece : pieces)
            splitAround(*pattern, piece, behavior, invert, out);
        return out;
    }
};

// GPT-2's pre-tokenizer pattern, in the Unicode classes of the tokenizers library.
constexpr const char *kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct ByteLevelPreTokenizer : PreTokenizer {
    bool addPrefixSpace = false;
    std::shared_ptr<tok::Regex> pattern; // null: use_regex false
    Pieces apply(const Pieces &pieces, std::size_t) const override
    {
        const auto &chars = tok::byteLevelChars();
        Pieces out;
        for (const auto &input : pieces) {
            std::string text = addPrefixSpace && (input.empty() || input[0] != ' ') ? " " + input : input;
            Pieces words;
            if (pattern) {
                for (const auto &[b, e] : pattern->findAll(text))
                    if (e > b)
                        words.push_back(text.substr(b, e - b));
            } else {
                words.push_back(std::move(text));
            }
            for (const auto &word : words) {
                std::string mapped;
                mapped.reserve(word.size() * 2);
                for (unsigned char c : word)
                    mapped += chars[c];
                out.push_back(std::move(mapped));
            }
        }
        return out;
    }
};

enum class PrependScheme { Always, First, Never };

struct MetaspacePreTokenizer : PreTokenizer {
    std::string replacement = "\xE2\x96\x81"; // U+2581
    PrependScheme prepend = PrependScheme::Always;
    bool split = true;
    Pieces apply(const Pieces &pieces, std::size_t section) const override
    {
        Pieces out;
        for (const auto &piece : pieces) {
            std::string text;
            for (char c : piece) {
                if (c == ' ')
                    text += replacement;
                else
                    text += c;
            }
            const bool prefix = prepend == PrependScheme::Always || (prepend == PrependScheme::First && section == 0);
            if (prefix && text.rfind(replacement, 0) != 0)
                text = replacement + text;
            if (!split) {
                out.push_back(std::move(text));
                continue;
            }
            // Each replacement character starts a new piece (MergedWithNext).
            std::size_t start = 0;
            for (std::size_t pos = text.find(replacement, 1); pos != std::string::npos;
                 pos = text.find(replacement, pos + replacement.size())) {
                if (pos > start)
                    out.push_back(text.substr(start, pos - start));
                start = pos;
            }
            if (start < text.size())
                out.push_back(text.substr(start));
        }
        return out;
    }
};

// Whitespace, WhitespaceSplit, Digits: the matches of a fixed pattern.
struct MatchPreTokenizer : PreTokenizer {
    std::shared_ptr<tok::Regex> pattern;
    Pieces apply(const Pieces &pieces, std::size_t) const override
    {
        Pieces out;
        for (const auto &piece : pieces)
            for (const auto &[b, e] : pattern->findAll(piece))
                if (e > b)
                    out.push_back(piece.substr(b, e - b));
        return out;
    }
};

PrependScheme readPrependScheme(const Reader &r, const Json &value, const std::string &where)
{
    if (const auto it = value.find("prepend_scheme"); it != value.end() && !it->is_null()) {
        const std::string scheme = r.string(*it, where + ".prepend_scheme");
        if (scheme == "always") return PrependScheme::Always;
        if (scheme == "first") return PrependScheme::First;
        if (scheme == "never") return PrependScheme::Never;
        r.fail(where + ".prepend_scheme", "must be \"always\", \"first\" or \"never\", found \"" + scheme + "\"");
    }
    // Files written before prepend_scheme existed say add_prefix_space.
    return r.boolean(value, "add_prefix_space", where, true) ? PrependScheme::Always : PrependScheme::Never;
}

std::unique_ptr<PreTokenizer> readPreTokenizer(const Reader &r, const Json &value, const std::string &where)
{
    if (value.is_null())
        return nullptr;
    const std::string type = r.type(value, where);
    if (type == "Sequence")
        return readSequence<PreTokenizerSequence>(r, value, where, "pretokenizers", [&](const Json &item, const std::string &itemWhere) {
            return readPreTokenizer(r, item, itemWhere);
        });
    if (type == "ByteLevel") {
        auto out = std::make_unique<ByteLevelPreTokenizer>();
        out->addPrefixSpace = r.boolean(value, "add_prefix_space", where, false);
        if (r.boolean(value, "use_regex", where, true))
            out->pattern = std::make_shared<tok::Regex>(kGpt2Pattern, false, r.file, where);
        return out;
    }
    if (type == "Split") {
        auto out = std::make_unique<SplitPreTokenizer>();
        out->pattern = readPattern(r, value, where);
        out->invert = r.boolean(value, "invert", where, false);
        const std::string behavior = r.string(value, "behavior", where, "Isolated");
        static const std::map<std::string, SplitBehavior, std::less<>> behaviors = {
            {"Removed", SplitBehavior::Removed},
            {"Isolated", SplitBehavior::Isolated},
            {"MergedWithPrevious", SplitBehavior::MergedWithPrevious},
            {"MergedWithNext", SplitBehavior::MergedWithNext},
            {"Contiguous", SplitBehavior::Contiguous}};
        const auto it = behaviors.find(behavior);
        if (it == behaviors.end())
            r.fail(where + ".behavior", "must be Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous, found \""
                                            + behavior + "\"");
        out->behavior = it->second;
        return out;
    }
    if (type == "Metaspace") {
        auto out = std::make_unique<MetaspacePreTokenizer>();
        out->replacement = r.string(value, "replacement", where, out->replacement);
        if (tok::codePoints(out->replacement).size() != 1)
            r.fail(where + ".replacement", "must be one character");
        out->prepend = readPrependScheme(r, value, where);
        out->split = r.boolean(value, "split", where, true);
        return out;
    }
    if (type == "Whitespace" || type == "WhitespaceSplit" || type == "Digits") {
        auto out = std::make_unique<MatchPreTokenizer>();
        const std::string pattern = type == "Whitespace"        ? R"(\w+|[^\w\s]+)"
                                    : type == "WhitespaceSplit" ? R"(\S+)"
                                    : r.boolean(value, "individual_digits", where, false) ? R"(\p{N}|[^\p{N}]+)"
                                                                                         : R"(\p{N}+|[^\p{N}]+)";
        out->pattern = std::make_shared<tok::Regex>(pattern, false, r.file, where);
        return out;
    }
    r.unsupported(where, "the pre-tokenizer type \"" + type + "\"");
}

// ---- decoders -----------------------------------------------------------------------------------

struct Decoder {
    virtual ~Decoder() = default;
    virtual void apply(std::vector<std::string> &tokens) const = 0;
};

struct DecoderSequence : Decoder {
    std::vector<std::unique_ptr<Decoder>> parts;
    void apply(std::vector<std::string> &tokens) const override
    {
        for (const auto &part : parts)
            part->apply(tokens);
    }
};

struct ByteLevelDecoder : Decoder {
    const std::set<std::string, std::less<>> *addedContents = nullptr; // owned by the tokenizer
    void apply(std::vector<std::string> &tokens) const override
    {
        std::vector<std::string> out;
        std::string bytes;
        bool pending = false;
        const auto flush = [&] {
            if (pending)
                out.push_back(tok::lossyUtf8(bytes));
            bytes.clear();
            pending = false;
        };
        for (auto &token : tokens) {
            if (addedContents && addedContents->count(token)) {
                flush();
                out.push_back(std::move(token));
                continue;
            }
            pending = true;
            for (const auto cp : tok::codePoints(token)) {
                const int b = tok::byteLevelByte(tok::decodeAt(cp, 0));
                if (b >= 0)
                    bytes += static_cast<char>(b);
            }
        }
        flush();
        tokens = std::move(out);
    }
};

// "<0x41>" -> 0x41, -1 for anything else.
int byteFallbackValue(std::string_view token)
{
    if (token.size() != 6 || token.substr(0, 3) != "<0x" || token[5] != '>')
        return -1;
    int value = 0;
    for (char c : token.substr(3, 2)) {
        value <<= 4;
        if (c >= '0' && c <= '9') value |= c - '0';
        else if (c >= 'A' && c <= 'F') value |= c - 'A' + 10;
        else if (c >= 'a' && c <= 'f') value |= c - 'a' + 10;
        else return -1;
    }
    return value;
}

struct ByteFallbackDecoder : Decoder {
    void apply(std::vector<std::string> &tokens) const override
    {
        std::vector<std::string> out;
        std::string bytes;
        for (auto &token : tokens) {
            const int b = byteFallbackValue(token);
            if (b >= 0) {
                bytes += static_cast<char>(b);
                continue;
            }
            if (!bytes.empty()) {
                out.push_back(tok::lossyUtf8(bytes));
                bytes.clear();
            }
            out.push_back(std::move(token));
        }
        if (!bytes.empty())
            out.push_back(tok::lossyUtf8(bytes));
        tokens = std::move(out);
    }
};

struct FuseDecoder : Decoder {
    void apply(std::vector<std::string> &tokens) const override
    {
        std::string all;
        for (const auto &token : tokens)
            all += token;
        tokens.assign(1, std::move(all));
    }
};

struct StripDecoder : Decoder {
    std::string content; // one character
    std::int64_t start = 0, stop = 0;
    void apply(std::vector<std::string> &tokens) const override
    {
        for (auto &token : tokens) {
            const auto chars = tok::codePoints(token);
            std::size_t from = 0, to = chars.size();
            for (std::int64_t i = 0; i < start && from < to && chars[from] == content; ++i)
                ++from;
            for (std::int64_t i = 0; i < stop && to > from && chars[to - 1] == content; ++i)
                --to;
            std::string kept;
            for (std::size_t i = from; i < to; ++i)
                kept += chars[i];
            token = std::move(kept);
        }
    }
};

struct ReplaceDecoder : Decoder {
    std::shared_ptr<tok::Regex> pattern;
    std::string content;
    void apply(std::vector<std::string> &tokens) const override
    {
        for (auto &token : tokens)
            token = pattern->replaceAll(token, content);
    }
};

struct MetaspaceDecoder : Decoder {
    std::string replacement = "\xE2\x96\x81";
    bool stripFirstSpace = true; // prepend_scheme is not "never"
    void apply(std::vector<std::string> &tokens) const override
    {
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            std::string text;
            const std::string &token = tokens[i];
            for (std::size_t pos = 0; pos < token.size();) {
                if (token.compare(pos, replacement.size(), replacement) == 0) {
                    text += ' ';
                    pos += replacement.size();
                } else {
                    text += token[pos++];
                }
            }
            if (i == 0 && stripFirstSpace && !text.empty() && text[0] == ' ')
                text.erase(0, 1);
            tokens[i] = std::move(text);
        }
    }
};

struct BpeSuffixDecoder : Decoder {
    std::string suffix;
    void apply(std::vector<std::string> &tokens) const override
    {
        if (suffix.empty())
            return;
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            std::string &token = tokens[i];
            const std::string with = i + 1 == tokens.size() ? "" : " ";
            std::string out;
            for (std::size_t pos = 0; pos < token.size();) {
                if (token.compare(pos, suffix.size(), suffix) == 0) {
                    out += with;
                    pos += suffix.size();
                } else {
                    out += token[pos++];
                }
            }
            token = std::move(out);
        }
    }
};

std::unique_ptr<Decoder> readDecoder(const Reader &r, const Json &value, const std::string &where,
                                     const std::set<std::string, std::less<>> *addedContents)
{
    if (value.is_null())
        return nullptr;
    const std::string type = r.type(value, where);
    if (type == "Sequence")
        return readSequence<DecoderSequence>(r, value, where, "decoders", [&](const Json &item, const std::string &itemWhere) {
            return readDecoder(r, item, itemWhere, addedContents);
        });
    if (type == "ByteLevel") {
        auto out = std::make_unique<ByteLevelDecoder>();
        out->addedContents = addedContents;
        return out;
    }
    if (type == "ByteFallback")
        return std::make_unique<ByteFallbackDecoder>();
    if (type == "Fuse")
        return std::make_unique<FuseDecoder>();
    if (type == "Strip") {
        auto out = std::make_unique<StripDecoder>();
        out->content = r.string(value, "content", where, " ");
        if (tok::codePoints(out->content).size() != 1)
            r.fail(where + ".content", "must be one character");
        out->start = r.integer(value, "start", where, 0, 1 << 20, 0);
        out->stop = r.integer(value, "stop", where, 0, 1 << 20, 0);
        return out;
    }
    if (type == "Replace") {
        auto out = std::make_unique<ReplaceDecoder>();
        out->pattern = readPattern(r, value, where);
        out->content = r.string(value, "content", where, "");
        return out;
    }
    if (type == "Metaspace") {
        auto out = std::make_unique<MetaspaceDecoder>();
        out->replacement = r.string(value, "replacement", where, out->replacement);
        if (out->replacement.empty())
            r.fail(where + ".replacement", "must not be empty");
        out->stripFirstSpace = readPrependScheme(r, value, where) != PrependScheme::Never;
        return out;
    }
    if (type == "BPEDecoder") {
        auto out = std::make_unique<BpeSuffixDecoder>();
        out->suffix = r.string(value, "suffix", where, "</w>");
        return out;
    }
    r.unsupported(where, "the decoder type \"" + type + "\"");
}

// ---- the BPE model ------------------------------------------------------------------------------

struct Bpe {
    std::unordered_map<std::string, std::int64_t> vocab;
    // (left id, right id) -> (rank, merged id)
    std::unordered_map<std::uint64_t, std::pair<std::int64_t, std::int64_t>> merges;
    std::optional<std::int64_t> unk;
    std::string unkToken;
    bool fuseUnk = false;
    bool byteFallback = false;
    bool ignoreMerges = false;
    std::string prefix; // continuing_subword_prefix
    std::string suffix; // end_of_word_suffix
    std::array<std::int64_t, 256> byteIds{}; // <0xXX> ids (byte_fallback), -1 when absent

    mutable std::mutex cacheMutex;
    mutable std::unordered_map<std::string, std::vector<std::int64_t>> cache;
    static constexpr std::size_t kCacheEntries = 20'000;
    static constexpr std::size_t kCachedWordBytes = 256;

    static std::uint64_t key(std::int64_t a, std::int64_t b)
    {
        return (static_cast<std::uint64_t>(a) << 32) | static_cast<std::uint64_t>(b);
    }

    std::optional<std::int64_t> find(const std::string &token) const
    {
        const auto it = vocab.find(token);
        return it == vocab.end() ? std::nullopt : std::optional<std::int64_t>(it->second);
    }

    // The symbols of one word before merging: a vocabulary id per character (with the subword
    // prefix and word suffix where configured), bytes or unk for characters the vocabulary lacks.
    void initialSymbols(std::string_view word, std::vector<std::int64_t> &ids) const
    {
        const auto chars = tok::codePoints(word);
        bool lastWasUnk = false;
        for (std::size_t i = 0; i < chars.size(); ++i) {
            std::string piece(chars[i]);
            if (i > 0 && !prefix.empty())
                piece = prefix + piece;
            if (i + 1 == chars.size() && !suffix.empty())
                piece += suffix;
            if (const auto id = find(piece)) {
                ids.push_back(*id);
                lastWasUnk = false;
                continue;
            }
            if (byteFallback) {
                bool all = true;
                for (unsigned char c : chars[i])
                    all = all && byteIds[c] >= 0;
                if (all) {
                    for (unsigned char c : chars[i])
                        ids.push_back(byteIds[c]);
                    lastWasUnk = false;
                    continue;
                }
            }
            if (unk) {
                if (!(fuseUnk && lastWasUnk))
                    ids.push_back(*unk);
                lastWasUnk = true;
            }
        }
    }

    // Applies the merges, lowest rank first and leftmost among equals, in O(n log n).
    void merge(std::vector<std::int64_t> &ids) const
    {
        const std::size_t n = ids.size();
        if (n < 2)
            return;
        std::vector<std::int64_t> prev(n), next(n);
        std::vector<bool> alive(n, true);
        for (std::size_t i = 0; i < n; ++i) {
            prev[i] = static_cast<std::int64_t>(i) - 1;
            next[i] = i + 1 < n ? static_cast<std::int64_t>(i + 1) : -1;
        }
        struct Candidate {
            std::int64_t rank;
            std::int64_t pos;
            std::int64_t left, right, merged;
            bool operator>(const Candidate &o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
        };
        std::vector<Candidate> heap;
        const auto consider = [&](std::int64_t pos) {
            if (pos < 0 || next[pos] < 0)
                return;
            const auto it = merges.find(key(ids[pos], ids[next[pos]]));
            if (it != merges.end()) {
                heap.push_back({it->second.first, pos, ids[pos], ids[next[pos]], it->second.second});
                std::push_heap(heap.begin(), heap.end(), std::greater<>());
            }
        };
        for (std::size_t i = 0; i + 1 < n; ++i)
            consider(static_cast<std::int64_t>(i));
        while (!heap.empty()) {
            std::pop_heap(heap.begin(), heap.end(), std::greater<>());
            const Candidate c = heap.back();
            heap.pop_back();
            const std::int64_t right = next[c.pos];
            if (!alive[c.pos] || right < 0 || ids[c.pos] != c.left || ids[right] != c.right)
                continue; // stale: one side merged since
            ids[c.pos] = c.merged;
            alive[right] = false;
            next[c.pos] = next[right];
            if (next[right] >= 0)
                prev[next[right]] = c.pos;
            consider(prev[c.pos]);
            consider(c.pos);
        }
        std::vector<std::int64_t> out;
        for (std::int64_t i = 0; i >= 0; i = next[i])
            out.push_back(ids[i]);
        ids = std::move(out);
    }

    void encodeWord(const std::string &word, std::vector<std::int64_t> &out) const
    {
        if (word.empty())
            return;
        if (ignoreMerges)
            if (const auto id = find(word)) {
                out.push_back(*id);
                return;
            }
        if (word.size() < kCachedWordBytes) {
            std::lock_guard lock(cacheMutex);
            const auto it = cache.find(word);
            if (it != cache.end()) {
                out.insert(out.end(), it->second.begin(), it->second.end());
                return;
            }
        }
        std::vector<std::int64_t> ids;
        initialSymbols(word, ids);
        merge(ids);
        out.insert(out.end(), ids.begin(), ids.end());
        if (word.size() < kCachedWordBytes) {
            std::lock_guard lock(cacheMutex);
            if (cache.size() >= kCacheEntries)
                cache.clear();
            cache.emplace(word, std::move(ids));
        }
    }
};

// ---- post-processors ----------------------------------------------------------------------------

struct Special {
    std::vector<std::int64_t> ids;
    std::vector<std::string> tokens;
};

struct PostProcessor {
    virtual ~PostProcessor() = default;
    virtual void apply(Tokenizer::Encoding &encoding, bool addSpecialTokens) const = 0;
};

struct TemplatePostProcessor : PostProcessor {
    // The single-sequence template: a special (ids and tokens) or the sequence (nullopt).
    std::vector<std::optional<Special>> items;
    void apply(Tokenizer::Encoding &encoding, bool addSpecialTokens) const override
    {
        if (!addSpecialTokens)
            return;
        Tokenizer::Encoding out;
        for (const auto &item : items) {
            if (item) {
                out.ids.insert(out.ids.end(), item->ids.begin(), item->ids.end());
                out.tokens.insert(out.tokens.end(), item->tokens.begin(), item->tokens.end());
            } else {
                out.ids.insert(out.ids.end(), encoding.ids.begin(), encoding.ids.end());
                out.tokens.insert(out.tokens.end(), encoding.tokens.begin(), encoding.tokens.end());
            }
        }
        encoding = std::move(out);
    }
};

struct PostProcessorSequence : PostProcessor {
    std::vector<std::unique_ptr<PostProcessor>> parts;
    void apply(Tokenizer::Encoding &encoding, bool addSpecialTokens) const override
    {
        for (const auto &part : parts)
            part->apply(encoding, addSpecialTokens);
    }
};

} // namespace

// ---- the tokenizer ------------------------------------------------------------------------------

struct Tokenizer::Impl {
    std::string path;
    std::string kind; // "byte-level BPE", "BPE with byte fallback", "BPE"
    std::unique_ptr<Normalizer> normalizer;
    std::unique_ptr<PreTokenizer> preTokenizer;
    Bpe model;
    std::unique_ptr<PostProcessor> postProcessor;
    std::unique_ptr<Decoder> decoder;

    struct Added {
        std::string content;
        std::int64_t id = 0;
        bool special = false, lstrip = false, rstrip = false, normalized = false;
    };
    std::vector<Added> added;
    std::map<std::string, std::size_t, std::less<>> addedByContent; // content (or normalized content) -> added[]
    std::set<std::string, std::less<>> addedContents;
    std::set<std::string, std::less<>> specialContents;

    // Tries of added-token contents, matched before (raw) and after (normalized) normalization.
    struct Trie {
        struct Node {
            std::map<unsigned char, std::int32_t> children;
            std::int64_t added = -1; // index into added[] of the content ending here
        };
        std::vector<Node> nodes{Node{}};
        void insert(const std::string &content, std::size_t index)
        {
            std::int32_t node = 0;
            for (unsigned char c : content) {
                const auto it = nodes[node].children.find(c);
                if (it != nodes[node].children.end()) {
                    node = it->second;
                } else {
                    nodes.push_back(Node{});
                    const auto child = static_cast<std::int32_t>(nodes.size() - 1);
                    nodes[node].children.emplace(c, child);
                    node = child;
                }
            }
            nodes[node].added = static_cast<std::int64_t>(index);
        }
        bool empty() const { return nodes.size() == 1; }
    };
    Trie rawTrie, normalizedTrie;

    std::vector<std::string> idToToken;
    std::vector<bool> hasId;
    std::optional<std::int64_t> bos, eos;
    bool cleanUpSpaces = true;

    // A section of text: plain (to tokenize) or an added token (index into added[]).
    struct Section {
        std::string text;
        std::int64_t added = -1;
    };
    std::vector<Section> split(const std::string &text, const Trie &trie) const;
    void addToken(const std::string &token, Encoding &out) const;
};

std::vector<Tokenizer::Impl::Section> Tokenizer::Impl::split(const std::string &text, const Trie &trie) const
{
    std::vector<Section> out;
    if (trie.empty()) {
        out.push_back({text, -1});
        return out;
    }
    std::size_t start = 0, i = 0;
    while (i < text.size()) {
        std::int32_t node = 0;
        std::int64_t match = -1;
        std::size_t matchEnd = i;
        for (std::size_t j = i; j < text.size(); ++j) {
            const auto it = trie.nodes[node].children.find(static_cast<unsigned char>(text[j]));
            if (it == trie.nodes[node].children.end())
                break;
            node = it->second;
            if (trie.nodes[node].added >= 0) {
                match = trie.nodes[node].added;
                matchEnd = j + 1;
            }
        }
        if (match >= 0) {
            if (i > start)
                out.push_back({text.substr(start, i - start), -1});
            out.push_back({text.substr(i, matchEnd - i), match});
            i = start = matchEnd;
        } else {
            ++i;
        }
    }
    if (start < text.size())
        out.push_back({text.substr(start), -1});
    // lstrip / rstrip: an added token takes the whitespace beside it.
    for (std::size_t k = 0; k < out.size(); ++k) {
        if (out[k].added < 0)
            continue;
        const Added &token = added[static_cast<std::size_t>(out[k].added)];
        if (token.lstrip && k > 0 && out[k - 1].added < 0)
            out[k - 1].text = std::string(tok::trimEnd(out[k - 1].text));
        if (token.rstrip && k + 1 < out.size() && out[k + 1].added < 0)
            out[k + 1].text = std::string(tok::trimStart(out[k + 1].text));
    }
    return out;
}

Tokenizer::Tokenizer(std::shared_ptr<const Impl> impl) : m_impl(std::move(impl)) {}

Tokenizer::Encoding Tokenizer::encode(std::string_view text, bool addSpecialTokens) const
{
    const Impl &t = *m_impl;
    if (const auto bad = tok::firstInvalidUtf8(text); bad != std::string_view::npos)
        throw Error(ErrorKind::InvalidArgument, {},
                    "the text to tokenize is not valid UTF-8 (byte " + std::to_string(bad) + ")");
    Encoding out;
    const auto emitAdded = [&](std::int64_t index) {
        const auto &token = t.added[static_cast<std::size_t>(index)];
        out.ids.push_back(token.id);
        out.tokens.push_back(token.content);
    };
    const auto sections = t.split(std::string(text), t.rawTrie);
    for (std::size_t s = 0; s < sections.size(); ++s) {
        const auto &section = sections[s];
        if (section.added >= 0) {
            emitAdded(section.added);
            continue;
        }
        if (section.text.empty())
            continue;
        const std::string normalized = t.normalizer ? t.normalizer->apply(section.text) : section.text;
        if (normalized.empty())
            continue;
        for (const auto &sub : t.split(normalized, t.normalizedTrie)) {
            if (sub.added >= 0) {
                emitAdded(sub.added);
                continue;
            }
            if (sub.text.empty())
                continue;
            const Pieces words = t.preTokenizer ? t.preTokenizer->apply({sub.text}, s) : Pieces{sub.text};
            std::vector<std::int64_t> ids;
            for (const auto &word : words)
                t.model.encodeWord(word, ids);
            for (const auto id : ids) {
                out.ids.push_back(id);
                out.tokens.push_back(t.idToToken[static_cast<std::size_t>(id)]);
            }
        }
    }
    if (t.postProcessor)
        t.postProcessor->apply(out, addSpecialTokens);
    return out;
}

namespace {

// transformers' clean_up_tokenization: no space before . ? ! , and English contractions.
std::string cleanUpTokenizationSpaces(std::string text)
{
    static const std::pair<const char *, const char *> rules[] = {
        {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
        {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (const auto &[from, to] : rules) {
        const std::string_view f = from, t = to;
        std::string out;
        for (std::size_t pos = 0; pos < text.size();) {
            if (text.compare(pos, f.size(), f) == 0) {
                out += t;
                pos += f.size();
            } else {
                out += text[pos++];
            }
        }
        text = std::move(out);
    }
    return text;
}

} // namespace

std::string Tokenizer::decode(std::span<const std::int64_t> ids, const DecodeOptions &options) const
{
    const Impl &t = *m_impl;
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (const auto id : ids) {
        if (id < 0 || id >= static_cast<std::int64_t>(t.hasId.size()) || !t.hasId[static_cast<std::size_t>(id)])
            continue;
        const std::string &token = t.idToToken[static_cast<std::size_t>(id)];
        if (options.skipSpecialTokens && t.specialContents.count(token))
            continue;
        tokens.push_back(token);
    }
    std::string text;
    if (t.decoder) {
        t.decoder->apply(tokens);
        for (const auto &piece : tokens)
            text += piece;
        if (!t.model.suffix.empty()) {
            text = tok::Regex(t.model.suffix, true, t.path, "end_of_word_suffix").replaceAll(text, " ");
            if (options.skipSpecialTokens)
                text = std::string(tok::trimEnd(tok::trimStart(text)));
        }
    } else {
        for (std::size_t i = 0; i < tokens.size(); ++i)
            text += (i ? " " : "") + tokens[i];
    }
    if (options.cleanUpSpaces.value_or(t.cleanUpSpaces))
        text = cleanUpTokenizationSpaces(std::move(text));
    return text;
}

std::optional<std::int64_t> Tokenizer::tokenToId(std::string_view token) const
{
    if (const auto it = m_impl->addedByContent.find(token); it != m_impl->addedByContent.end())
        return m_impl->added[it->second].id;
    return m_impl->model.find(std::string(token));
}

std::optional<std::string> Tokenizer::idToToken(std::int64_t id) const
{
    if (id < 0 || id >= static_cast<std::int64_t>(m_impl->hasId.size()) || !m_impl->hasId[static_cast<std::size_t>(id)])
        return std::nullopt;
    return m_impl->idToToken[static_cast<std::size_t>(id)];
}

bool Tokenizer::isSpecial(std::int64_t id) const
{
    const auto token = idToToken(id);
    return token && m_impl->specialContents.count(*token);
}

std::int64_t Tokenizer::vocabSize() const
{
    return static_cast<std::int64_t>(m_impl->hasId.size());
}

std::optional<std::int64_t> Tokenizer::bosId() const
{
    return m_impl->bos;
}

std::optional<std::int64_t> Tokenizer::eosId() const
{
    return m_impl->eos;
}

const std::string &Tokenizer::path() const
{
    return m_impl->path;
}

std::string Tokenizer::describe() const
{
    std::string count = std::to_string(vocabSize());
    for (int i = static_cast<int>(count.size()) - 3; i > 0; i -= 3)
        count.insert(static_cast<std::size_t>(i), ",");
    return m_impl->kind + ", " + count + " tokens";
}

// ---- loading ------------------------------------------------------------------------------------

namespace {

using Impl = Tokenizer::Impl;

void setToken(Impl &t, const Reader &r, const std::string &token, std::int64_t id, const std::string &where)
{
    if (id < 0 || id > kMaxTokenId)
        r.fail(where, "has id " + std::to_string(id) + ", beyond the " + std::to_string(kMaxTokenId) + " accepted");
    if (static_cast<std::size_t>(id) >= t.idToToken.size()) {
        t.idToToken.resize(static_cast<std::size_t>(id) + 1);
        t.hasId.resize(static_cast<std::size_t>(id) + 1, false);
    }
    t.idToToken[static_cast<std::size_t>(id)] = token;
    t.hasId[static_cast<std::size_t>(id)] = true;
}

void readVocab(Impl &t, const Reader &r, const Json &vocab, const std::string &where)
{
    r.object(vocab, where);
    t.model.vocab.reserve(vocab.size());
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        const std::string item = where + "[\"" + it.key() + "\"]";
        if (tok::firstInvalidUtf8(it.key()) != std::string_view::npos)
            r.fail(where, "has a token that is not valid UTF-8");
        const std::int64_t id = r.integer(it.value(), item, 0, kMaxTokenId);
        t.model.vocab[it.key()] = id;
        setToken(t, r, it.key(), id, item);
    }
}

void addMerge(Impl &t, const Reader &r, const std::string &left, const std::string &right, std::int64_t rank,
              const std::string &where)
{
    const auto a = t.model.find(left), b = t.model.find(right);
    if (!a || !b)
        r.fail(where, "merges \"" + (a ? right : left) + "\", which is not in the vocabulary");
    std::string merged = left;
    if (!t.model.prefix.empty() && right.rfind(t.model.prefix, 0) == 0)
        merged += right.substr(t.model.prefix.size());
    else
        merged += right;
    const auto id = t.model.find(merged);
    if (!id)
        r.fail(where, "makes \"" + merged + "\", which is not in the vocabulary");
    t.model.merges[Bpe::key(*a, *b)] = {rank, *id};
}

void readMerges(Impl &t, const Reader &r, const Json &merges, const std::string &where)
{
    r.array(merges, where);
    t.model.merges.reserve(merges.size());
    for (std::size_t i = 0; i < merges.size(); ++i) {
        const std::string item = at(where, i);
        const Json &merge = merges[i];
        if (merge.is_string()) {
            const std::string text = r.string(merge, item);
            const auto space = text.find(' ');
            if (space == std::string::npos || space == 0 || space + 1 >= text.size()
                || text.find(' ', space + 1) != std::string::npos)
                r.fail(item, "must be two tokens separated by one space, found \"" + text + "\"");
            addMerge(t, r, text.substr(0, space), text.substr(space + 1), static_cast<std::int64_t>(i), item);
        } else if (merge.is_array() && merge.size() == 2) {
            addMerge(t, r, r.string(merge[0], item + "[0]"), r.string(merge[1], item + "[1]"),
                     static_cast<std::int64_t>(i), item);
        } else {
            r.fail(item, "must be \"a b\" or [\"a\", \"b\"], found " + planner::jsonTypeName(merge));
        }
    }
}

void finishModel(Impl &t, const Reader &r)
{
    t.model.byteIds.fill(-1);
    if (t.model.byteFallback) {
        static const char hex[] = "0123456789ABCDEF";
        for (int b = 0; b < 256; ++b) {
            const std::string name = std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">";
            if (const auto id = t.model.find(name))
                t.model.byteIds[static_cast<std::size_t>(b)] = *id;
        }
    }
    if (!t.model.unkToken.empty()) {
        t.model.unk = t.model.find(t.model.unkToken);
        if (!t.model.unk)
            r.fail("model.unk_token", "names \"" + t.model.unkToken + "\", which is not in the vocabulary");
    }
}

void readModel(Impl &t, const Reader &r, const Json &model)
{
    r.object(model, "model");
    const auto typeIt = model.find("type");
    const std::string type = typeIt == model.end() ? (model.contains("merges") ? "BPE" : "") : r.string(*typeIt, "model.type");
    if (type != "BPE")
        r.unsupported("model.type", "the model type \"" + type + "\" (only BPE tokenizers are read)");
    if (const auto it = model.find("dropout"); it != model.end() && !it->is_null()
                                               && !(it->is_number() && it->get<double>() == 0.0))
        r.unsupported("model.dropout", "BPE dropout (a training-time option)");
    t.model.unkToken = r.string(model, "unk_token", "model", "");
    t.model.fuseUnk = r.boolean(model, "fuse_unk", "model", false);
    t.model.byteFallback = r.boolean(model, "byte_fallback", "model", false);
    t.model.ignoreMerges = r.boolean(model, "ignore_merges", "model", false);
    t.model.prefix = r.string(model, "continuing_subword_prefix", "model", "");
    t.model.suffix = r.string(model, "end_of_word_suffix", "model", "");
    const auto vocab = model.find("vocab");
    if (vocab == model.end())
        r.fail("model", "has no \"vocab\"");
    readVocab(t, r, *vocab, "model.vocab");
    const auto merges = model.find("merges");
    if (merges == model.end())
        r.fail("model", "has no \"merges\"");
    readMerges(t, r, *merges, "model.merges");
    finishModel(t, r);
}

void readAddedTokens(Impl &t, const Reader &r, const Json &list)
{
    r.array(list, "added_tokens");
    for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string where = at("added_tokens", i);
        const Json &item = r.object(list[i], where);
        Impl::Added token;
        const auto content = item.find("content");
        if (content == item.end())
            r.fail(where, "has no \"content\"");
        token.content = r.string(*content, where + ".content");
        if (token.content.empty())
            r.fail(where + ".content", "must not be empty");
        const auto id = item.find("id");
        if (id == item.end())
            r.fail(where, "has no \"id\"");
        token.id = r.integer(*id, where + ".id", 0, kMaxTokenId);
        token.special = r.boolean(item, "special", where, false);
        token.lstrip = r.boolean(item, "lstrip", where, false);
        token.rstrip = r.boolean(item, "rstrip", where, false);
        token.normalized = r.boolean(item, "normalized", where, !token.special);
        setToken(t, r, token.content, token.id, where);
        t.added.push_back(std::move(token));
    }
}

// The added tokens' tries and lookup tables (after the normalizer is known: "normalized" tokens
// are matched in normalized text, by their normalized content).
void indexAddedTokens(Impl &t)
{
    for (std::size_t i = 0; i < t.added.size(); ++i) {
        const auto &token = t.added[i];
        t.addedByContent[token.content] = i;
        t.addedContents.insert(token.content);
        if (token.special)
            t.specialContents.insert(token.content);
        if (token.normalized && t.normalizer) {
            const std::string normalized = t.normalizer->apply(token.content);
            if (!normalized.empty()) {
                t.addedByContent[normalized] = i;
                t.normalizedTrie.insert(normalized, i);
            }
        } else {
            t.rawTrie.insert(token.content, i);
        }
    }
}

Special specialFor(const Impl &t, const Reader &r, const std::string &token, const std::string &where)
{
    if (const auto it = t.addedByContent.find(token); it != t.addedByContent.end())
        return {{t.added[it->second].id}, {token}};
    if (const auto id = t.model.find(token))
        return {{*id}, {token}};
    r.fail(where, "names the token \"" + token + "\", which the tokenizer does not have");
}

std::unique_ptr<PostProcessor> readPostProcessor(const Impl &t, const Reader &r, const Json &value, const std::string &where)
{
    if (value.is_null())
        return nullptr;
    const std::string type = r.type(value, where);
    if (type == "ByteLevel")
        return nullptr; // offsets only
    if (type == "Sequence")
        return readSequence<PostProcessorSequence>(r, value, where, "processors", [&](const Json &item, const std::string &itemWhere) {
            return readPostProcessor(t, r, item, itemWhere);
        });
    if (type == "TemplateProcessing") {
        auto out = std::make_unique<TemplatePostProcessor>();
        std::map<std::string, Special> specials;
        if (const auto it = value.find("special_tokens"); it != value.end() && !it->is_null()) {
            r.object(*it, where + ".special_tokens");
            for (auto s = it->begin(); s != it->end(); ++s) {
                const std::string item = where + ".special_tokens[\"" + s.key() + "\"]";
                r.object(s.value(), item);
                Special special;
                if (const auto ids = s.value().find("ids"); ids != s.value().end()) {
                    r.array(*ids, item + ".ids");
                    for (std::size_t i = 0; i < ids->size(); ++i)
                        special.ids.push_back(r.integer((*ids)[i], at(item + ".ids", i), 0, kMaxTokenId));
                }
                if (const auto tokens = s.value().find("tokens"); tokens != s.value().end()) {
                    r.array(*tokens, item + ".tokens");
                    for (std::size_t i = 0; i < tokens->size(); ++i)
                        special.tokens.push_back(r.string((*tokens)[i], at(item + ".tokens", i)));
                }
                if (special.tokens.size() != special.ids.size())
                    r.fail(item, "must have as many tokens as ids");
                specials[s.key()] = std::move(special);
            }
        }
        const auto single = value.find("single");
        if (single == value.end())
            r.fail(where, "has no \"single\" template");
        r.array(*single, where + ".single");
        for (std::size_t i = 0; i < single->size(); ++i) {
            const std::string item = at(where + ".single", i);
            const Json &piece = r.object((*single)[i], item);
            if (const auto s = piece.find("SpecialToken"); s != piece.end()) {
                r.object(*s, item + ".SpecialToken");
                const auto id = s->find("id");
                if (id == s->end())
                    r.fail(item + ".SpecialToken", "has no \"id\"");
                const std::string name = r.string(*id, item + ".SpecialToken.id");
                const auto known = specials.find(name);
                out->items.push_back(known != specials.end() ? known->second : specialFor(t, r, name, item));
            } else if (piece.contains("Sequence")) {
                out->items.push_back(std::nullopt);
            } else {
                r.fail(item, "must be a SpecialToken or a Sequence");
            }
        }
        return out;
    }
    if (type == "RobertaProcessing" || type == "BertProcessing") {
        const auto pair = [&](const char *key) {
            const auto it = value.find(key);
            if (it == value.end() || !it->is_array() || it->size() != 2)
                r.fail(where + "." + key, "must be [token, id]");
            Special special;
            special.tokens.push_back(r.string((*it)[0], where + "." + key + "[0]"));
            special.ids.push_back(r.integer((*it)[1], where + "." + key + "[1]", 0, kMaxTokenId));
            return special;
        };
        auto out = std::make_unique<TemplatePostProcessor>();
        out->items.push_back(pair("cls"));
        out->items.push_back(std::nullopt);
        out->items.push_back(pair("sep"));
        return out;
    }
    r.unsupported(where, "the post-processor type \"" + type + "\"");
}

// A token named in tokenizer_config.json: a string or {"content": ...}.
std::optional<std::string> configToken(const Reader &r, const Json &config, const char *key)
{
    const auto it = config.find(key);
    if (it == config.end() || it->is_null())
        return std::nullopt;
    if (it->is_string())
        return r.string(*it, key);
    if (it->is_object() && it->contains("content"))
        return r.string((*it)["content"], std::string(key) + ".content");
    r.fail(key, "must be a token (a string or an object with \"content\"), found " + planner::jsonTypeName(*it));
}

void readTokenizerConfig(Impl &t, const std::string &path)
{
    const Reader r{path};
    const Json config = planner::readLargeJsonFile(path, InputKind::Tokenizer);
    r.object(config, "");
    t.cleanUpSpaces = r.boolean(config, "clean_up_tokenization_spaces", "", true);
    const auto idOf = [&](const char *key) -> std::optional<std::int64_t> {
        const auto token = configToken(r, config, key);
        if (!token)
            return std::nullopt;
        if (const auto it = t.addedByContent.find(*token); it != t.addedByContent.end())
            return t.added[it->second].id;
        return t.model.find(*token);
    };
    t.bos = idOf("bos_token");
    t.eos = idOf("eos_token");
    if (const auto it = config.find("additional_special_tokens"); it != config.end() && it->is_array())
        for (std::size_t i = 0; i < it->size(); ++i) {
            const Json &item = (*it)[i];
            if (item.is_string())
                t.specialContents.insert(r.string(item, at("additional_special_tokens", i)));
            else if (item.is_object() && item.contains("content"))
                t.specialContents.insert(r.string(item["content"], at("additional_special_tokens", i) + ".content"));
        }
}

// Whether a stage's JSON (or a part of its sequence) has this type.
bool usesType(const Json &value, std::string_view type)
{
    if (value.is_object()) {
        if (const auto it = value.find("type"); it != value.end() && it->is_string() && it->get<std::string>() == type)
            return true;
        for (const auto &member : value)
            if (member.is_array() && usesType(member, type))
                return true;
    } else if (value.is_array()) {
        for (const auto &item : value)
            if (usesType(item, type))
                return true;
    }
    return false;
}

std::string siblingIfPresent(const std::string &file, const char *name)
{
    const std::string path = (fs::path(file).parent_path() / name).string();
    return regularFileExists(path) ? path : std::string();
}

} // namespace

Tokenizer Tokenizer::fromFile(const std::string &path)
{
    auto t = std::make_shared<Impl>();
    t->path = path;
    const Reader r{path};
    const Json json = planner::readLargeJsonFile(path, InputKind::Tokenizer);
    r.object(json, "");
    const auto model = json.find("model");
    if (model == json.end())
        throw Error(ErrorKind::UnsupportedFormat, path, "is not a tokenizer.json: it has no \"model\"");
    readModel(*t, r, *model);
    if (const auto it = json.find("added_tokens"); it != json.end() && !it->is_null())
        readAddedTokens(*t, r, *it);
    t->normalizer = readNormalizer(r, json.value("normalizer", Json()), "normalizer");
    t->preTokenizer = readPreTokenizer(r, json.value("pre_tokenizer", Json()), "pre_tokenizer");
    indexAddedTokens(*t);
    t->postProcessor = readPostProcessor(*t, r, json.value("post_processor", Json()), "post_processor");
    t->decoder = readDecoder(r, json.value("decoder", Json()), "decoder", &t->addedContents);
    const bool byteLevel = usesType(json.value("decoder", Json()), "ByteLevel");
    t->kind = byteLevel ? "byte-level BPE" : t->model.byteFallback ? "BPE with byte fallback" : "BPE";
    if (const std::string config = siblingIfPresent(path, "tokenizer_config.json"); !config.empty())
        readTokenizerConfig(*t, config);
    return Tokenizer(std::move(t));
}

Tokenizer Tokenizer::fromVocabAndMerges(const std::string &vocabJson, const std::string &mergesTxt)
{
    auto t = std::make_shared<Impl>();
    t->path = vocabJson;
    t->kind = "byte-level BPE";
    const Reader vocabReader{vocabJson};
    readVocab(*t, vocabReader, planner::readLargeJsonFile(vocabJson, InputKind::Tokenizer), "");
    const Reader mergesReader{mergesTxt};
    const std::string text = readInputFile(mergesTxt, InputKind::Tokenizer);
    std::size_t lineNumber = 0;
    std::int64_t rank = 0;
    for (std::size_t pos = 0; pos < text.size();) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos)
            end = text.size();
        std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        ++lineNumber;
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (line.empty() || (lineNumber == 1 && line.rfind("#version", 0) == 0))
            continue;
        const std::string where = "line " + std::to_string(lineNumber);
        if (tok::firstInvalidUtf8(line) != std::string_view::npos)
            mergesReader.fail("", where + " is not valid UTF-8");
        const auto space = line.find(' ');
        if (space == std::string::npos || space == 0 || space + 1 >= line.size()
            || line.find(' ', space + 1) != std::string::npos)
            mergesReader.fail("", where + " must be two tokens separated by one space");
        try {
            addMerge(*t, mergesReader, line.substr(0, space), line.substr(space + 1), rank++, "");
        } catch (const Error &e) {
            throw Error(e.kind(), mergesTxt, where + ": " + e.message());
        }
    }
    finishModel(*t, vocabReader);
    auto pre = std::make_unique<ByteLevelPreTokenizer>();
    pre->pattern = std::make_shared<tok::Regex>(kGpt2Pattern, false, vocabJson, "pre-tokenizer");
    t->preTokenizer = std::move(pre);
    auto decoder = std::make_unique<ByteLevelDecoder>();
    decoder->addedContents = &t->addedContents;
    t->decoder = std::move(decoder);
    if (const std::string config = siblingIfPresent(vocabJson, "tokenizer_config.json"); !config.empty())
        readTokenizerConfig(*t, config);
    return Tokenizer(std::move(t));
}

std::optional<Tokenizer> Tokenizer::forModel(const std::string &folder)
{
    const fs::path dir(folder);
    if (const std::string json = (dir / "tokenizer.json").string(); regularFileExists(json))
        return fromFile(json);
    const std::string vocab = (dir / "vocab.json").string(), merges = (dir / "merges.txt").string();
    if (regularFileExists(vocab) && regularFileExists(merges))
        return fromVocabAndMerges(vocab, merges);
    return std::nullopt;
}

// ---- streaming ----------------------------------------------------------------------------------

TextStream::TextStream(const Tokenizer &tokenizer, Tokenizer::DecodeOptions options)
    : m_tokenizer(tokenizer), m_options(options)
{
}

std::string TextStream::push(std::int64_t id)
{
    m_ids.push_back(id);
    std::string text = m_tokenizer.decode(m_ids, m_options);
    // Hold back an unfinished character (it decodes as U+FFFD until its last byte comes) and a
    // tail that cleaning up spaces may still rewrite (" '" may become "'s", " n" "n't").
    std::size_t end = text.size();
    static constexpr std::string_view replacement = "\xEF\xBF\xBD";
    if (end >= replacement.size() && std::string_view(text).substr(end - replacement.size()) == replacement)
        end -= replacement.size();
    if (const auto space = text.rfind(' ', end == 0 ? 0 : end - 1); space != std::string::npos) {
        static constexpr std::string_view patterns[] = {" .", " ?", " !", " ,", " ' ", " n't", " 'm", " 's", " 've", " 're"};
        const std::string_view tail = std::string_view(text).substr(space, end - space);
        for (const auto pattern : patterns)
            if (tail.size() < pattern.size() && pattern.substr(0, tail.size()) == tail) {
                end = space;
                break;
            }
    }
    if (end <= m_emitted)
        return {};
    std::string out = text.substr(m_emitted, end - m_emitted);
    m_emitted = end;
    return out;
}

std::string TextStream::finish()
{
    const std::string text = m_tokenizer.decode(m_ids, m_options);
    std::string out = text.size() > m_emitted ? text.substr(m_emitted) : std::string();
    m_emitted = text.size();
    return out;
}

} // namespace mizan::loader
