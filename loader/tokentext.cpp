#include "tokentext_p.h"

#include "planner/error.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#if MIZAN_HAVE_ICU
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#endif

#include <algorithm>

namespace mizan::loader::tok {


// ---- UTF-8 --------------------------------------------------------------------------------------

namespace {

// The expected length of a sequence led by `b` and the range its second byte must fall in
// (Unicode's table of well-formed byte sequences); length 0 for bytes that never lead one.
struct Lead {
    int length = 0;
    unsigned char low = 0x80, high = 0xBF;
};

Lead leadOf(unsigned char b)
{
    if (b < 0x80) return {1, 0, 0};
    if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
    if (b == 0xE0) return {3, 0xA0, 0xBF};
    if (b >= 0xE1 && b <= 0xEC) return {3, 0x80, 0xBF};
    if (b == 0xED) return {3, 0x80, 0x9F};
    if (b >= 0xEE && b <= 0xEF) return {3, 0x80, 0xBF};
    if (b == 0xF0) return {4, 0x90, 0xBF};
    if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
    if (b == 0xF4) return {4, 0x80, 0x8F};
    return {};
}

// How many bytes from text[i] belong to the sequence it leads, valid or not: the well-formed
// length, or the length of the maximal ill-formed subpart (at least 1). `valid` says which.
std::size_t scanSequence(std::string_view text, std::size_t i, bool &valid)
{
    const auto b = static_cast<unsigned char>(text[i]);
    const Lead lead = leadOf(b);
    valid = false;
    if (lead.length == 0)
        return 1;
    if (lead.length == 1) {
        valid = true;
        return 1;
    }
    std::size_t n = 1;
    for (; n < static_cast<std::size_t>(lead.length); ++n) {
        if (i + n >= text.size())
            return n;
        const auto c = static_cast<unsigned char>(text[i + n]);
        const unsigned char low = n == 1 ? lead.low : 0x80;
        const unsigned char high = n == 1 ? lead.high : 0xBF;
        if (c < low || c > high)
            return n;
    }
    valid = true;
    return n;
}

constexpr char kReplacement[] = "\xEF\xBF\xBD";

} // namespace

std::size_t utf8SequenceLength(std::string_view text, std::size_t i)
{
    if (i >= text.size())
        return 0;
    bool valid = false;
    const std::size_t n = scanSequence(text, i, valid);
    return valid ? n : 0;
}

std::size_t firstInvalidUtf8(std::string_view text)
{
    for (std::size_t i = 0; i < text.size();) {
        if (static_cast<unsigned char>(text[i]) < 0x80) {
            ++i;
            continue;
        }
        const std::size_t n = utf8SequenceLength(text, i);
        if (n == 0)
            return i;
        i += n;
    }
    return std::string_view::npos;
}

char32_t decodeAt(std::string_view text, std::size_t i)
{
    const auto b = static_cast<unsigned char>(text[i]);
    const std::size_t n = utf8SequenceLength(text, i);
    if (n <= 1)
        return b;
    char32_t cp = b & (0x7F >> n);
    for (std::size_t k = 1; k < n; ++k)
        cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    return cp;
}

void appendUtf8(std::string &out, char32_t cp)
{
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

std::vector<std::string_view> codePoints(std::string_view text)
{
    std::vector<std::string_view> out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = std::max<std::size_t>(1, utf8SequenceLength(text, i));
        out.push_back(text.substr(i, n));
        i += n;
    }
    return out;
}

std::string lossyUtf8(std::string_view bytes)
{
    std::string out;
    out.reserve(bytes.size());
    for (std::size_t i = 0; i < bytes.size();) {
        bool valid = false;
        const std::size_t n = scanSequence(bytes, i, valid);
        if (valid)
            out.append(bytes.substr(i, n));
        else
            out += kReplacement;
        i += n;
    }
    return out;
}

namespace {

bool isJsSpace(char32_t cp)
{
    switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0xA0: case 0x1680:
    case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000: case 0xFEFF:
        return true;
    default:
        return cp >= 0x2000 && cp <= 0x200A;
    }
}

} // namespace

std::string_view trimStart(std::string_view text)
{
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t n = std::max<std::size_t>(1, utf8SequenceLength(text, i));
        if (!isJsSpace(decodeAt(text, i)))
            break;
        i += n;
    }
    return text.substr(i);
}

std::string_view trimEnd(std::string_view text)
{
    std::size_t end = text.size();
    while (end > 0) {
        std::size_t start = end - 1;
        while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80 && end - start < 4)
            --start;
        if (utf8SequenceLength(text, start) != end - start || !isJsSpace(decodeAt(text, start)))
            break;
        end = start;
    }
    return text.substr(0, end);
}

// ---- GPT-2's byte-level alphabet ------------------------------------------------------------------

namespace {

struct ByteLevelTable {
    std::array<std::string, 256> chars;
    std::array<char32_t, 256> codePoints{};
    ByteLevelTable()
    {
        char32_t next = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            codePoints[b] = printable ? static_cast<char32_t>(b) : next++;
            appendUtf8(chars[b], codePoints[b]);
        }
    }
};

const ByteLevelTable &byteLevelTable()
{
    static const ByteLevelTable table;
    return table;
}

} // namespace

const std::array<std::string, 256> &byteLevelChars()
{
    return byteLevelTable().chars;
}

int byteLevelByte(char32_t cp)
{
    // Printable Latin-1 stands for itself; U+0100.. U+0143 for the others in byte order.
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
        return static_cast<int>(cp);
    if (cp < 0x100 || cp >= 0x100 + 68)
        return -1;
    const auto &codes = byteLevelTable().codePoints;
    const auto it = std::find(codes.begin(), codes.end(), cp);
    return it == codes.end() ? -1 : static_cast<int>(it - codes.begin());
}

// ---- Regular expressions ------------------------------------------------------------------------

namespace {

// The backtracking budget of one match (PCRE2's match limit): far above what any real
// pre-tokenizer pattern needs on any text, far below "hangs".
constexpr std::uint32_t kMatchLimit = 20'000'000;
constexpr std::uint32_t kDepthLimit = 100'000;

// Oniguruma (what tokenizers compiles patterns with) and PCRE2 agree on the syntax tokenizer.json
// patterns use, except for a few escapes: \s is Unicode White_Space there (PCRE2's \s misses
// U+0085 and others), \h a hex digit (PCRE2: horizontal space).
std::string pcreSyntax(const std::string &pattern, const std::string &file, const std::string &what)
{
    std::string out;
    out.reserve(pattern.size() + 16);
    bool inClass = false;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        const char c = pattern[i];
        if (c == '\\' && i + 1 < pattern.size()) {
            const char e = pattern[++i];
            switch (e) {
            case 's': out += "\\p{White_Space}"; break;
            case 'S': out += "\\P{White_Space}"; break;
            case 'h': out += inClass ? "0-9A-Fa-f" : "[0-9A-Fa-f]"; break;
            case 'H':
                if (inClass)
                    throw Error(ErrorKind::InvalidHeader, file,
                                what + ": \\H inside a character class is not supported");
                out += "[^0-9A-Fa-f]";
                break;
            default:
                out += c;
                out += e;
            }
            continue;
        }
        if (c == '[' && !inClass) {
            inClass = true;
            out += c;
            // A ']' right after '[' or '[^' is a literal member.
            if (i + 1 < pattern.size() && pattern[i + 1] == '^')
                out += pattern[++i];
            if (i + 1 < pattern.size() && pattern[i + 1] == ']')
                out += pattern[++i];
            continue;
        }
        if (c == ']' && inClass)
            inClass = false;
        out += c;
    }
    return out;
}

} // namespace

struct Regex::Compiled {
    pcre2_code *code = nullptr;
    pcre2_match_context *context = nullptr;
    ~Compiled()
    {
        pcre2_match_context_free(context);
        pcre2_code_free(code);
    }
};

Regex::Regex(const std::string &pattern, bool literal, const std::string &file, const std::string &what)
    : m_source(pattern), m_compiled(std::make_unique<Compiled>())
{
    if (pattern.empty())
        throw Error(ErrorKind::InvalidHeader, file, what + ": the pattern is empty");
    if (firstInvalidUtf8(pattern) != std::string_view::npos)
        throw Error(ErrorKind::InvalidHeader, file, what + ": the pattern is not valid UTF-8");
    const std::string source = literal ? pattern : pcreSyntax(pattern, file, what);
    int code = 0;
    PCRE2_SIZE offset = 0;
    const std::uint32_t options = PCRE2_UTF | PCRE2_NO_UTF_CHECK | (literal ? PCRE2_LITERAL : PCRE2_UCP);
    m_compiled->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(source.data()), source.size(), options, &code,
                                     &offset, nullptr);
    if (!m_compiled->code) {
        PCRE2_UCHAR buffer[256];
        pcre2_get_error_message(code, buffer, sizeof buffer);
        throw Error(ErrorKind::InvalidHeader, file,
                    what + ": the pattern cannot be compiled at character " + std::to_string(offset) + ": "
                        + reinterpret_cast<const char *>(buffer));
    }
    pcre2_jit_compile(m_compiled->code, PCRE2_JIT_COMPLETE); // faster when available; optional
    m_compiled->context = pcre2_match_context_create(nullptr);
    pcre2_set_match_limit(m_compiled->context, kMatchLimit);
    pcre2_set_depth_limit(m_compiled->context, kDepthLimit);
}

Regex::~Regex() = default;

std::vector<std::pair<std::size_t, std::size_t>> Regex::findAll(std::string_view text) const
{
    std::vector<std::pair<std::size_t, std::size_t>> out;
    pcre2_match_data *data = pcre2_match_data_create_from_pattern(m_compiled->code, nullptr);
    if (!data)
        throw std::bad_alloc();
    const auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    std::size_t start = 0;
    while (start <= text.size()) {
        const int rc = pcre2_match(m_compiled->code, subject, text.size(), start, PCRE2_NO_UTF_CHECK, data,
                                   m_compiled->context);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0) {
            pcre2_match_data_free(data);
            PCRE2_UCHAR buffer[256];
            pcre2_get_error_message(rc, buffer, sizeof buffer);
            throw Error(ErrorKind::InvalidArgument, {},
                        "the tokenizer's pattern " + m_source + " gave up on this text: "
                            + reinterpret_cast<const char *>(buffer));
        }
        const PCRE2_SIZE *ovector = pcre2_get_ovector_pointer(data);
        const std::size_t begin = ovector[0], end = ovector[1];
        out.emplace_back(begin, end);
        if (end > begin)
            start = end;
        else if (end >= text.size())
            break;
        else
            start = end + std::max<std::size_t>(1, utf8SequenceLength(text, end));
    }
    pcre2_match_data_free(data);
    return out;
}

std::string Regex::replaceAll(std::string_view text, std::string_view with) const
{
    std::string out;
    std::size_t last = 0;
    for (const auto &[begin, end] : findAll(text)) {
        out.append(text.substr(last, begin - last));
        out.append(with);
        last = end;
    }
    out.append(text.substr(last));
    return out;
}

// ---- Unicode normalization and case -------------------------------------------------------------

const char *toString(NormalForm form)
{
    switch (form) {
    case NormalForm::NFC: return "NFC";
    case NormalForm::NFD: return "NFD";
    case NormalForm::NFKC: return "NFKC";
    case NormalForm::NFKD: return "NFKD";
    }
    return "?";
}

#if MIZAN_HAVE_ICU

namespace {

std::u16string toUtf16(std::string_view text)
{
    std::u16string out(text.size() + 1, u'\0');
    int32_t length = 0;
    UErrorCode status = U_ZERO_ERROR;
    u_strFromUTF8(reinterpret_cast<UChar *>(out.data()), static_cast<int32_t>(out.size()), &length, text.data(),
                  static_cast<int32_t>(text.size()), &status);
    if (U_FAILURE(status))
        throw Error(ErrorKind::InvalidArgument, {}, std::string("text cannot be converted to UTF-16: ") + u_errorName(status));
    out.resize(static_cast<std::size_t>(length));
    return out;
}

std::string toUtf8(const std::u16string &text)
{
    std::string out(text.size() * 3 + 1, '\0');
    int32_t length = 0;
    UErrorCode status = U_ZERO_ERROR;
    u_strToUTF8(out.data(), static_cast<int32_t>(out.size()), &length, reinterpret_cast<const UChar *>(text.data()),
                static_cast<int32_t>(text.size()), &status);
    if (U_FAILURE(status))
        throw Error(ErrorKind::InvalidArgument, {}, std::string("text cannot be converted to UTF-8: ") + u_errorName(status));
    out.resize(static_cast<std::size_t>(length));
    return out;
}

// Runs an ICU transform that may need a larger output (normalization and case can grow text).
template<typename Transform>
std::string transformUtf16(std::string_view text, Transform transform)
{
    const std::u16string in = toUtf16(text);
    std::u16string out(in.size() * 2 + 16, u'\0');
    for (int attempt = 0; attempt < 2; ++attempt) {
        UErrorCode status = U_ZERO_ERROR;
        const int32_t length = transform(reinterpret_cast<const UChar *>(in.data()), static_cast<int32_t>(in.size()),
                                         reinterpret_cast<UChar *>(out.data()), static_cast<int32_t>(out.size()), &status);
        if (status == U_BUFFER_OVERFLOW_ERROR) {
            out.assign(static_cast<std::size_t>(length) + 1, u'\0');
            continue;
        }
        if (U_FAILURE(status))
            throw Error(ErrorKind::InvalidArgument, {}, std::string("Unicode transform failed: ") + u_errorName(status));
        out.resize(static_cast<std::size_t>(length));
        return toUtf8(out);
    }
    throw Error(ErrorKind::InvalidArgument, {}, "Unicode transform failed: its output kept growing");
}

} // namespace

bool haveUnicodeNormalization()
{
    return true;
}

std::string normalizeUnicode(std::string_view text, NormalForm form)
{
    UErrorCode status = U_ZERO_ERROR;
    const UNormalizer2 *normalizer = nullptr;
    switch (form) {
    case NormalForm::NFC: normalizer = unorm2_getNFCInstance(&status); break;
    case NormalForm::NFD: normalizer = unorm2_getNFDInstance(&status); break;
    case NormalForm::NFKC: normalizer = unorm2_getNFKCInstance(&status); break;
    case NormalForm::NFKD: normalizer = unorm2_getNFKDInstance(&status); break;
    }
    if (U_FAILURE(status) || !normalizer)
        throw Error(ErrorKind::UnsupportedFormat, {}, std::string("Unicode normalization ") + toString(form)
                                                        + " is not available: " + u_errorName(status));
    return transformUtf16(text, [normalizer](const UChar *in, int32_t inLength, UChar *out, int32_t capacity,
                                             UErrorCode *error) {
        return unorm2_normalize(normalizer, in, inLength, out, capacity, error);
    });
}

std::string lowerCase(std::string_view text)
{
    return transformUtf16(text, [](const UChar *in, int32_t inLength, UChar *out, int32_t capacity, UErrorCode *error) {
        return u_strToLower(out, capacity, in, inLength, "", error);
    });
}

#else

bool haveUnicodeNormalization()
{
    return false;
}

std::string normalizeUnicode(std::string_view, NormalForm form)
{
    throw Error(ErrorKind::UnsupportedFormat, {},
                std::string("Unicode normalization ") + toString(form) + " needs ICU, which this build of Mizan lacks");
}

std::string lowerCase(std::string_view)
{
    throw Error(ErrorKind::UnsupportedFormat, {}, "lower-casing needs ICU, which this build of Mizan lacks");
}

#endif

} // namespace mizan::loader::tok
