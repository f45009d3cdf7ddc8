#pragma once

// The demo model's text side, in one small place (header only, pure C++): its byte-level
// vocabulary (ids 0..255 are the bytes themselves, then the special tokens), the mapping between
// text and ids, and the fortune file format the corpus and the held-out set use. The trainer
// (tools/traindemo) and the tests (tests/tst_demomodel.cpp) both use it; a general tokenizer
// reading the shipped tokenizer.json can replace encode()/decode() without changing the ids.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mizan::demo {

inline constexpr std::int64_t kByteTokens = 256;
inline constexpr std::int64_t kBeginOfText = 256; // "<|begin_of_text|>": starts every fortune
inline constexpr std::int64_t kEndOfText = 257;   // "<|end_of_text|>": ends every fortune
inline constexpr std::int64_t kVocabSize = 258;
inline constexpr const char *kBeginOfTextToken = "<|begin_of_text|>";
inline constexpr const char *kEndOfTextToken = "<|end_of_text|>";

// Text -> ids: one id per byte (id == byte value), after <|begin_of_text|> when `begin`.
inline std::vector<std::int64_t> encode(std::string_view text, bool begin = true)
{
    std::vector<std::int64_t> ids;
    ids.reserve(text.size() + 1);
    if (begin)
        ids.push_back(kBeginOfText);
    for (const char c : text)
        ids.push_back(static_cast<unsigned char>(c));
    return ids;
}

// Ids -> text: bytes as they are; special tokens as their text unless `skipSpecial`. Ids outside
// the vocabulary are skipped.
inline std::string decode(const std::vector<std::int64_t> &ids, bool skipSpecial = false)
{
    std::string text;
    for (const std::int64_t id : ids) {
        if (id >= 0 && id < kByteTokens)
            text.push_back(static_cast<char>(static_cast<unsigned char>(id)));
        else if (!skipSpecial && id == kBeginOfText)
            text += kBeginOfTextToken;
        else if (!skipSpecial && id == kEndOfText)
            text += kEndOfTextToken;
    }
    return text;
}

// The fortune file format (fortune(6), strfile(8)): entries separated by lines holding only "%".
// Returns the entries with trailing blanks and newlines removed, empty ones dropped.
inline std::vector<std::string> splitFortunes(std::string_view text)
{
    std::vector<std::string> out;
    std::string current;
    auto flush = [&] {
        while (!current.empty() && (current.back() == '\n' || current.back() == ' ' || current.back() == '\t'
                                    || current.back() == '\r'))
            current.pop_back();
        if (!current.empty())
            out.push_back(current);
        current.clear();
    };
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        const bool last = end == std::string_view::npos;
        if (last)
            end = text.size();
        const std::string_view line = text.substr(pos, end - pos);
        if (line == "%" || line == "%\r")
            flush();
        else {
            current.append(line);
            if (!last)
                current.push_back('\n');
        }
        pos = last ? text.size() : end + 1;
    }
    flush();
    return out;
}

// Fortunes -> the fortune file format ("text\n%\n" each).
inline std::string joinFortunes(const std::vector<std::string> &fortunes)
{
    std::string text;
    for (const auto &f : fortunes)
        text += f + "\n%\n";
    return text;
}

// The token stream the model is trained on: <|begin_of_text|> fortune <|end_of_text|>, one after
// the other.
inline std::vector<std::int64_t> tokenStream(const std::vector<std::string> &fortunes)
{
    std::vector<std::int64_t> ids;
    for (const auto &f : fortunes) {
        const auto one = encode(f, true);
        ids.insert(ids.end(), one.begin(), one.end());
        ids.push_back(kEndOfText);
    }
    return ids;
}

} // namespace mizan::demo
