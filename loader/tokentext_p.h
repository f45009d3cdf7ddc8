#pragma once

// Text helpers of the tokenizer (loader/tokenizer.cpp): UTF-8 walking and lossy decoding, GPT-2's
// byte <-> character table, regular expressions (PCRE2, Unicode classes, bounded matching) and
// Unicode normalization / lower-casing (ICU, when the build found it). Internal to mizan_loader.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mizan::loader::tok {

// ---- UTF-8 --------------------------------------------------------------------------------------

// The byte length of the well-formed UTF-8 sequence starting at text[i], 0 when it is ill-formed
// (truncated, overlong, a surrogate, beyond U+10FFFF, a stray continuation byte).
std::size_t utf8SequenceLength(std::string_view text, std::size_t i);
// The byte offset of the first ill-formed sequence, or npos when `text` is valid UTF-8.
std::size_t firstInvalidUtf8(std::string_view text);
// The code point of the well-formed sequence at text[i] (i must start one).
char32_t decodeAt(std::string_view text, std::size_t i);
void appendUtf8(std::string &out, char32_t cp);
// Well-formed text split into its code points (each a view into `text`).
std::vector<std::string_view> codePoints(std::string_view text);
// `bytes` decoded as the WHATWG Encoding standard decodes UTF-8 without "fatal": every maximal
// ill-formed subpart becomes one U+FFFD (what JavaScript's TextDecoder and Rust's
// String::from_utf8_lossy produce).
std::string lossyUtf8(std::string_view bytes);

// JavaScript's String.prototype.trimStart / trimEnd (WhiteSpace and LineTerminator code points).
std::string_view trimStart(std::string_view text);
std::string_view trimEnd(std::string_view text);

// ---- GPT-2's byte-level alphabet ------------------------------------------------------------------

// The character (UTF-8) that stands for byte b in byte-level vocabularies: printable Latin-1 bytes
// stand for themselves, the others for U+0100 + n in byte order.
const std::array<std::string, 256> &byteLevelChars();
// The byte a byte-level character stands for, -1 when `cp` is none of them.
int byteLevelByte(char32_t cp);

// ---- Regular expressions (PCRE2) ----------------------------------------------------------------

// A compiled pattern over UTF-8 text with Unicode classes (\p{L}, \p{N}; \s, \S, \d, \w as
// tokenizer.json patterns mean them: Unicode White_Space, Nd, ...). Matching is bounded: a pattern
// that backtracks beyond a fixed budget on some text throws Error(InvalidArgument) instead of
// running for ever. Thread-safe after construction.
class Regex {
public:
    // `pattern` in the Oniguruma syntax tokenizer.json uses; `literal`: match the text itself.
    // Throws Error(InvalidHeader, file, ...) naming `what` when PCRE2 refuses the pattern.
    Regex(const std::string &pattern, bool literal, const std::string &file, const std::string &what);
    ~Regex();
    Regex(const Regex &) = delete;
    Regex &operator=(const Regex &) = delete;

    // Every match, left to right, as [begin, end) byte offsets. After an empty match the search
    // goes on one code point further (JavaScript's matchAll with the u flag). `text` must be
    // valid UTF-8.
    std::vector<std::pair<std::size_t, std::size_t>> findAll(std::string_view text) const;
    std::string replaceAll(std::string_view text, std::string_view with) const;
    const std::string &pattern() const { return m_source; }

private:
    struct Compiled;
    std::string m_source;
    std::unique_ptr<Compiled> m_compiled;
};

// ---- Unicode normalization and case (ICU) -------------------------------------------------------

enum class NormalForm { NFC, NFD, NFKC, NFKD };
const char *toString(NormalForm form);
// Whether this build can normalize (it links ICU); without it, tokenizers that ask for a normal
// form are refused when they are read.
bool haveUnicodeNormalization();
std::string normalizeUnicode(std::string_view text, NormalForm form);
// Full Unicode lower-casing without a locale (JavaScript's toLowerCase).
std::string lowerCase(std::string_view text);

} // namespace mizan::loader::tok
