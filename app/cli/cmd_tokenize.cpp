// mizan-cli tokenize: text to token ids (and back) with a model's tokenizer.
#include "args.h"
#include "commands.h"
#include "format.h"

#include "models/source.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <iterator>

namespace mizan::cli {

const char *const kTokenizeUsage =
    "usage: mizan-cli tokenize PATH [--json] [--no-special] TEXT\n"
    "       mizan-cli tokenize PATH --decode [--skip-special] [--json] ID...\n"
    "\n"
    "Encodes TEXT (\"-\": standard input) with the tokenizer of PATH: a model folder (its\n"
    "tokenizer.json, else vocab.json + merges.txt), a tokenizer.json, or ORG/NAME in the Hugging\n"
    "Face cache. Added and special tokens written in the text are recognised; the tokenizer's\n"
    "template (a BOS for Llama 2) is applied unless --no-special. Prints the ids and the tokens.\n"
    "\n"
    "  --json          print {\"ids\": [...], \"tokens\": [...]} (with --decode: {\"text\": ...})\n"
    "  --no-special    do not add the template's special tokens\n"
    "  --decode        the arguments are ids: print the text they decode to\n"
    "  --skip-special  with --decode: leave special tokens out of the text\n";

int runTokenize(const std::vector<std::string> &argv)
{
    Args args(argv, {}, {"--json", "--no-special", "--decode", "--skip-special"});
    const bool decode = args.flag("--decode");
    args.expectPositionals(2, decode ? SIZE_MAX : 2);
    const loader::Tokenizer tokenizer = models::openTokenizer(args.positional(0, "PATH"));
    if (decode) {
        std::vector<std::int64_t> ids;
        for (std::size_t i = 1; i < args.positionals().size(); ++i) {
            const std::string &text = args.positionals()[i];
            std::size_t used = 0;
            long long id = -1;
            try {
                id = std::stoll(text, &used);
            } catch (const std::exception &) {
                used = 0;
            }
            if (used != text.size() || id < 0)
                throw UsageError("not a token id: " + printable(text));
            ids.push_back(id);
        }
        loader::Tokenizer::DecodeOptions options;
        options.skipSpecialTokens = args.flag("--skip-special");
        const std::string text = tokenizer.decode(ids, options);
        if (args.flag("--json"))
            std::cout << jsonText(nlohmann::ordered_json{{"text", text}}) << "\n";
        else
            std::cout << printable(text) << "\n";
        return 0;
    }
    std::string text = args.positional(1, "TEXT");
    if (text == "-")
        text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    const auto encoding = tokenizer.encode(text, !args.flag("--no-special"));
    if (args.flag("--json")) {
        nlohmann::ordered_json out;
        out["ids"] = encoding.ids;
        out["tokens"] = encoding.tokens;
        std::cout << jsonText(out) << "\n";
        return 0;
    }
    std::cout << "Tokenizer   " << printable(tokenizer.path()) << " (" << tokenizer.describe() << ")\n";
    std::cout << "Tokens      " << encoding.ids.size() << "\n";
    std::string ids;
    for (const auto id : encoding.ids)
        ids += (ids.empty() ? "" : " ") + std::to_string(id);
    std::cout << "Ids         " << ids << "\n";
    std::string tokens;
    for (const auto &token : encoding.tokens)
        tokens += (tokens.empty() ? "" : " ") + printable(jsonText(nlohmann::ordered_json(token)));
    std::cout << "Pieces      " << tokens << "\n";
    return 0;
}

} // namespace mizan::cli
