#pragma once

// Hugging Face tokenizers: `tokenizer.json` as the `tokenizers` library writes it, encoded and
// decoded as that library (and its JavaScript port, the reference the tests compare with) does.
//
// Supported, per stage (anything else is refused when the file is read, naming the part):
//   normalizer      Sequence, Replace, Prepend, NFC/NFD/NFKC/NFKD and Lowercase (with ICU),
//                   Strip, StripAccents
//   pre_tokenizer   Sequence, ByteLevel (GPT-2's pattern when use_regex), Split (Regex or String
//                   pattern; Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous;
//                   invert), Metaspace (prepend_scheme always/first/never, split), Digits,
//                   Whitespace, WhitespaceSplit
//   model           BPE: merges as "a b" strings or [a, b] pairs, ignore_merges, byte_fallback,
//                   unk_token and fuse_unk, continuing_subword_prefix, end_of_word_suffix
//   post_processor  TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing, Sequence
//   decoder         ByteLevel, ByteFallback, Fuse, Strip, Replace, Metaspace, BPEDecoder, Sequence
//   added_tokens    split out of the text before normalization (normalized: false) or after it
//                   (normalized: true), longest match first; lstrip / rstrip
// tokenizer_config.json beside the file (when present) gives the bos/eos tokens, extra special
// tokens and clean_up_tokenization_spaces. GPT-2's original files (vocab.json or encoder.json +
// merges.txt or vocab.bpe) are read as the byte-level BPE they describe.
//
// Every file goes through the readers of planner/jsonfile.h (size limit, nesting bound); a file
// that is not a tokenizer, or one that contradicts itself (a merge of tokens not in the vocabulary,
// ids beyond kMaxTokenId, two tokens with one id) is an Error naming the file and the entry.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mizan::loader {

// The largest token id accepted (real vocabularies stay below 300,000).
inline constexpr std::int64_t kMaxTokenId = (std::int64_t(1) << 24) - 1;

class Tokenizer {
public:
    // tokenizer.json; tokenizer_config.json in the same folder is read when present.
    static Tokenizer fromFile(const std::string &tokenizerJson);
    // GPT-2's original files: a vocabulary (token -> id JSON) and merges (one "a b" per line, an
    // optional "#version" first line). Byte-level pre-tokenizer and decoder, no added tokens.
    static Tokenizer fromVocabAndMerges(const std::string &vocabJson, const std::string &mergesTxt);
    // The tokenizer of a model folder: tokenizer.json, else vocab.json + merges.txt; nullopt when
    // the folder has neither. Errors in the files it finds are thrown.
    static std::optional<Tokenizer> forModel(const std::string &folder);

    struct Encoding {
        std::vector<std::int64_t> ids;
        std::vector<std::string> tokens; // the vocabulary's strings (byte-level: as stored)
    };
    // `text` must be valid UTF-8 (else Error(InvalidArgument) naming the byte). Added and special
    // tokens written in the text are recognised; `addSpecialTokens` applies the post-processor's
    // template (a BOS for Llama 2, nothing for GPT-2).
    Encoding encode(std::string_view text, bool addSpecialTokens = true) const;

    struct DecodeOptions {
        bool skipSpecialTokens = false;
        // transformers' clean_up_tokenization_spaces; unset: tokenizer_config.json's value (true
        // when it says nothing, as transformers.js does).
        std::optional<bool> cleanUpSpaces;
    };
    // Ids the vocabulary does not know are left out (models often have more embedding rows than
    // tokens). Bytes that do not form UTF-8 become U+FFFD.
    std::string decode(std::span<const std::int64_t> ids, const DecodeOptions &options) const;
    std::string decode(std::span<const std::int64_t> ids) const { return decode(ids, DecodeOptions{}); }

    std::optional<std::int64_t> tokenToId(std::string_view token) const;
    std::optional<std::string> idToToken(std::int64_t id) const;
    bool isSpecial(std::int64_t id) const;
    // The largest id + 1 (the vocabulary and the added tokens).
    std::int64_t vocabSize() const;
    // From tokenizer_config.json (bos_token / eos_token), when it names tokens the vocabulary has.
    std::optional<std::int64_t> bosId() const;
    std::optional<std::int64_t> eosId() const;
    // The file it was read from, and a one-line description ("byte-level BPE, 50,257 tokens").
    const std::string &path() const;
    std::string describe() const;

    struct Impl;

private:
    explicit Tokenizer(std::shared_ptr<const Impl> impl);
    std::shared_ptr<const Impl> m_impl;
};

// Text of a growing sequence of ids, for printing tokens as they are generated: each push()
// returns the text the new id completes (possibly empty: a character split over several byte
// tokens waits for its last byte). The concatenation of every push() and finish() equals
// decode(all ids).
class TextStream {
public:
    explicit TextStream(const Tokenizer &tokenizer, Tokenizer::DecodeOptions options = {});
    std::string push(std::int64_t id);
    std::string finish(); // what is still held back (an unfinished character, as U+FFFD)
    const std::vector<std::int64_t> &ids() const { return m_ids; }

private:
    const Tokenizer &m_tokenizer;
    Tokenizer::DecodeOptions m_options;
    std::vector<std::int64_t> m_ids;
    std::size_t m_emitted = 0; // bytes of decode(m_ids) already returned
};

} // namespace mizan::loader
