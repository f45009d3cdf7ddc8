// Policies: their text form, what each selects in a tree, and the rules pins and policies make
// together (the more specific rule wins).
#include "policy.h"

#include "error.h"
#include "planerror.h"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace mizan::planner {

namespace {

constexpr const char *kExpertsOnCpu = "experts-on-cpu";
constexpr const char *kEmbeddingsOnCpu = "embeddings-on-cpu";

[[noreturn]] void policyError(std::vector<Message> messages)
{
    throw PlanError(ErrorKind::InvalidArgument, std::move(messages));
}

std::string_view trimmed(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

std::optional<std::int64_t> decimal(std::string_view s)
{
    if (s.empty() || s.size() > 15)
        return std::nullopt;
    std::int64_t v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size() || v < 0)
        return std::nullopt;
    return v;
}

// ---- globs ----

struct GlobToken {
    enum Kind { Literal, Star, AnyStar, One, Range, Words } kind = Literal;
    std::string text;                // Literal
    std::int64_t lo = 0, hi = 0;     // Range
    std::vector<std::string> words;  // Words
};

std::optional<std::vector<GlobToken>> compileGlob(std::string_view glob)
{
    if (glob.empty())
        return std::nullopt;
    std::vector<GlobToken> out;
    auto literal = [&](char c) {
        if (out.empty() || out.back().kind != GlobToken::Literal)
            out.push_back({});
        out.back().text += c;
    };
    for (std::size_t i = 0; i < glob.size(); ++i) {
        const char c = glob[i];
        if (c == '*') {
            if (i + 1 < glob.size() && glob[i + 1] == '*') {
                out.push_back({GlobToken::AnyStar, {}, 0, 0, {}});
                while (i + 1 < glob.size() && glob[i + 1] == '*')
                    ++i;
            } else {
                out.push_back({GlobToken::Star, {}, 0, 0, {}});
            }
        } else if (c == '?') {
            out.push_back({GlobToken::One, {}, 0, 0, {}});
        } else if (c == '{') {
            const auto close = glob.find('}', i + 1);
            if (close == std::string_view::npos)
                return std::nullopt;
            const std::string_view inside = glob.substr(i + 1, close - i - 1);
            GlobToken t;
            if (const auto dots = inside.find(".."); dots != std::string_view::npos) {
                const auto lo = decimal(inside.substr(0, dots)), hi = decimal(inside.substr(dots + 2));
                if (!lo || !hi || *lo > *hi)
                    return std::nullopt;
                t.kind = GlobToken::Range;
                t.lo = *lo;
                t.hi = *hi;
            } else {
                t.kind = GlobToken::Words;
                std::size_t start = 0;
                while (true) {
                    const auto comma = inside.find(',', start);
                    const auto word = inside.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
                    if (word.empty() || word.find_first_of("*?{") != std::string_view::npos)
                        return std::nullopt;
                    t.words.emplace_back(word);
                    if (comma == std::string_view::npos)
                        break;
                    start = comma + 1;
                }
            }
            out.push_back(std::move(t));
            i = close;
        } else if (c == '}') {
            return std::nullopt;
        } else {
            literal(c);
        }
    }
    return out;
}

bool matchTokens(const std::vector<GlobToken> &tokens, std::size_t t, std::string_view s, std::size_t i, bool dots)
{
    if (t == tokens.size())
        return i == s.size();
    const GlobToken &tok = tokens[t];
    switch (tok.kind) {
    case GlobToken::Literal:
        return s.substr(i).starts_with(tok.text) && matchTokens(tokens, t + 1, s, i + tok.text.size(), dots);
    case GlobToken::Star:
    case GlobToken::AnyStar: {
        const bool crossDots = tok.kind == GlobToken::AnyStar || !dots;
        for (std::size_t k = i;; ++k) {
            if (matchTokens(tokens, t + 1, s, k, dots))
                return true;
            if (k == s.size() || (!crossDots && s[k] == '.'))
                return false;
        }
    }
    case GlobToken::One:
        return i < s.size() && (!dots || s[i] != '.') && matchTokens(tokens, t + 1, s, i + 1, dots);
    case GlobToken::Range: {
        std::size_t end = i;
        while (end < s.size() && s[end] >= '0' && s[end] <= '9')
            ++end;
        for (std::size_t k = i + 1; k <= end; ++k) {
            const std::string_view digits = s.substr(i, k - i);
            if (digits.size() > 1 && digits.front() == '0')
                break;
            const auto v = decimal(digits);
            if (v && *v >= tok.lo && *v <= tok.hi && matchTokens(tokens, t + 1, s, k, dots))
                return true;
        }
        return false;
    }
    case GlobToken::Words:
        for (const auto &w : tok.words)
            if (s.substr(i).starts_with(w) && matchTokens(tokens, t + 1, s, i + w.size(), dots))
                return true;
        return false;
    }
    return false;
}

struct Glob {
    std::vector<GlobToken> tokens;
    bool dots = true;
    bool matches(std::string_view text) const { return matchTokens(tokens, 0, text, 0, dots); }
};

// A glob split at its top-level dots ("model.layers.{0..3}.mlp" -> model, layers, {0..3}, mlp).
std::vector<std::string> globComponents(std::string_view glob)
{
    std::vector<std::string> out(1);
    int depth = 0;
    for (char c : glob) {
        if (c == '{')
            ++depth;
        else if (c == '}')
            --depth;
        if (c == '.' && depth == 0)
            out.emplace_back();
        else
            out.back() += c;
    }
    return out;
}

bool isEmbedding(const Module &m)
{
    if (m.className.empty()) {
        static const std::unordered_set<std::string> names = {"embed_tokens", "wte", "wpe", "word_embeddings", "embed_in",
                                                              "embed_positions"};
        return names.count(m.localName) != 0;
    }
    return m.className.ends_with("Embedding") && !m.className.ends_with("RotaryEmbedding") && !m.params.empty();
}

// The outermost modules (ids, preorder) for which `pick` holds; with `tensors`, also the tensors
// (names) of modules not picked, in execution order (params, children, buffers).
template<typename Pick, typename PickTensor>
void outermost(const ModuleTree &tree, int id, const Pick &pick, const PickTensor &pickTensor, std::vector<std::string> &out)
{
    const Module &m = tree.module(id);
    if (id != ModuleTree::kRoot && pick(m)) {
        out.push_back(m.name);
        return;
    }
    for (const auto &t : m.params)
        if (std::string n = tree.tensorName(id, t); pickTensor(n))
            out.push_back(std::move(n));
    for (int c : m.children)
        outermost(tree, c, pick, pickTensor, out);
    for (const auto &t : m.buffers)
        if (std::string n = tree.tensorName(id, t); pickTensor(n))
            out.push_back(std::move(n));
}

template<typename Pick>
std::vector<std::string> outermostModules(const ModuleTree &tree, const Pick &pick)
{
    std::vector<std::string> out;
    outermost(tree, ModuleTree::kRoot, pick, [](const std::string &) { return false; }, out);
    return out;
}

// Local names of a module's children and tensors, at most `limit`, "..." after.
std::vector<std::string> holdings(const ModuleTree &tree, int id, std::size_t limit = 12)
{
    std::vector<std::string> out;
    const Module &m = tree.module(id);
    for (int c : m.children)
        out.push_back(tree.module(c).localName);
    for (const auto &t : m.params)
        out.push_back(t.name);
    for (const auto &t : m.buffers)
        out.push_back(t.name);
    if (out.size() > limit) {
        out.resize(limit);
        out.emplace_back("...");
    }
    return out;
}

} // namespace

bool globMatches(std::string_view glob, std::string_view text, bool dots)
{
    const auto tokens = compileGlob(glob);
    return tokens && matchTokens(*tokens, 0, text, 0, dots);
}

Policy parsePolicy(std::string_view input)
{
    const std::string_view text = trimmed(input);
    const std::string whole(text);
    Policy p;
    if (text == kExpertsOnCpu || text == kEmbeddingsOnCpu) {
        p.selector = text == kExpertsOnCpu ? Policy::Selector::Experts : Policy::Selector::Embeddings;
        p.device = Device::cpu();
        return p;
    }
    const auto eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0)
        policyError({{MessageId::PolicySyntax, {whole}}});
    p.forbid = text[eq - 1] == '!';
    const std::string_view selector = trimmed(text.substr(0, p.forbid ? eq - 1 : eq));
    const std::string_view device = trimmed(text.substr(eq + 1));
    auto after = [&](std::string_view prefix) -> std::optional<std::string_view> {
        if (!selector.starts_with(prefix))
            return std::nullopt;
        return selector.substr(prefix.size());
    };
    if (auto cls = after("class:")) {
        p.selector = Policy::Selector::Class;
        p.pattern = std::string(*cls);
        if (!compileGlob(p.pattern))
            policyError({{MessageId::PolicyBadPattern, {whole}}});
    } else if (auto name = after("name:")) {
        p.selector = Policy::Selector::Name;
        p.pattern = std::string(*name);
        if (!compileGlob(p.pattern))
            policyError({{MessageId::PolicyBadPattern, {whole}}});
    } else if (auto n = after("first:")) {
        p.selector = Policy::Selector::First;
        const auto count = decimal(*n);
        if (!count || *count < 1)
            policyError({{MessageId::PolicySyntax, {whole}}});
        p.count = *count;
    } else if (selector == "experts") {
        p.selector = Policy::Selector::Experts;
    } else if (auto n = after("experts:")) {
        p.selector = Policy::Selector::Experts;
        const auto count = decimal(*n);
        if (!count || *count < 1)
            policyError({{MessageId::PolicySyntax, {whole}}});
        p.count = *count;
    } else if (selector == "embeddings") {
        p.selector = Policy::Selector::Embeddings;
    } else {
        policyError({{MessageId::PolicySyntax, {whole}}});
    }
    if (device.empty())
        policyError({{MessageId::PolicySyntax, {whole}}});
    try {
        p.device = Device::fromString(device);
    } catch (const Error &) {
        policyError({{MessageId::PolicyBadDevice, {whole, std::string(device)}}});
    }
    return p;
}

std::string toString(const Policy &p)
{
    if (!p.forbid && p.device == Device::cpu() && p.count == 0) {
        if (p.selector == Policy::Selector::Experts)
            return kExpertsOnCpu;
        if (p.selector == Policy::Selector::Embeddings)
            return kEmbeddingsOnCpu;
    }
    std::string s;
    switch (p.selector) {
    case Policy::Selector::Class: s = "class:" + p.pattern; break;
    case Policy::Selector::Name: s = "name:" + p.pattern; break;
    case Policy::Selector::First: s = "first:" + std::to_string(p.count); break;
    case Policy::Selector::Experts: s = p.count > 0 ? "experts:" + std::to_string(p.count) : std::string("experts"); break;
    case Policy::Selector::Embeddings: s = "embeddings"; break;
    }
    return s + (p.forbid ? "!=" : "=") + p.device.toString();
}

std::vector<std::string> builtInPolicies()
{
    return {kExpertsOnCpu, kEmbeddingsOnCpu};
}

std::vector<int> decoderBlocks(const ModuleTree &tree, const std::vector<std::string> &noSplitClasses)
{
    const std::unordered_set<std::string> noSplit(noSplitClasses.begin(), noSplitClasses.end());
    std::vector<int> out;
    auto walk = [&](auto &&self, int id) -> void {
        const Module &m = tree.module(id);
        if (id != ModuleTree::kRoot && noSplit.count(m.className)) {
            out.push_back(id);
            return;
        }
        for (int c : m.children)
            self(self, c);
    };
    walk(walk, ModuleTree::kRoot);
    if (!out.empty())
        return out;
    // No no-split module: the numbered children of the shallowest module holding some.
    auto numbered = [&](int c) { return decimal(tree.module(c).localName).has_value(); };
    int best = -1;
    for (int id : tree.preorder()) {
        const Module &m = tree.module(id);
        if (std::any_of(m.children.begin(), m.children.end(), numbered) && (best < 0 || m.depth < tree.module(best).depth))
            best = id;
    }
    if (best >= 0)
        for (int c : tree.module(best).children)
            if (numbered(c))
                out.push_back(c);
    return out;
}

std::vector<std::string> selectPolicy(const ModuleTree &tree, const Policy &policy, const std::vector<std::string> &noSplitClasses)
{
    const std::string text = toString(policy);
    switch (policy.selector) {
    case Policy::Selector::Class: {
        const auto tokens = compileGlob(policy.pattern);
        if (!tokens)
            policyError({{MessageId::PolicyBadPattern, {text}}});
        const Glob glob{*tokens, false};
        auto out = outermostModules(tree, [&](const Module &m) { return !m.className.empty() && glob.matches(m.className); });
        if (out.empty()) {
            std::set<std::string> classes;
            for (const auto &m : tree.modules())
                if (!m.className.empty())
                    classes.insert(m.className);
            policyError({{MessageId::PolicyUnknownClass, {text, std::vector<std::string>(classes.begin(), classes.end())}}});
        }
        return out;
    }
    case Policy::Selector::Name: {
        const auto tokens = compileGlob(policy.pattern);
        if (!tokens)
            policyError({{MessageId::PolicyBadPattern, {text}}});
        const Glob glob{*tokens, true};
        std::vector<std::string> out;
        outermost(tree, ModuleTree::kRoot, [&](const Module &m) { return glob.matches(m.name); },
                  [&](const std::string &n) { return glob.matches(n); }, out);
        if (!out.empty())
            return out;
        // The deepest module the pattern's leading components reach, and what it holds.
        const auto parts = globComponents(policy.pattern);
        std::string prefix;
        int reached = ModuleTree::kRoot;
        for (std::size_t k = 0; k + 1 < parts.size(); ++k) {
            prefix += (k ? "." : "") + parts[k];
            const auto pt = compileGlob(prefix);
            if (!pt)
                break;
            const Glob g{*pt, true};
            int found = -1;
            for (int id : tree.preorder())
                if (id != ModuleTree::kRoot && tree.module(id).depth == static_cast<int>(k) + 1 && g.matches(tree.module(id).name)) {
                    found = id;
                    break;
                }
            if (found < 0)
                break;
            reached = found;
        }
        if (reached == ModuleTree::kRoot)
            policyError({{MessageId::PolicyMatchesNothing, {text}}, {MessageId::PolicyTopLevel, {holdings(tree, reached)}}});
        policyError({{MessageId::PolicyMatchesNothing, {text}}, {MessageId::PolicyClosest, {tree.module(reached).name, holdings(tree, reached)}}});
    }
    case Policy::Selector::First: {
        const auto blocks = decoderBlocks(tree, noSplitClasses);
        if (blocks.empty())
            policyError({{MessageId::PolicyNoBlocks, {text}}});
        if (policy.count > static_cast<std::int64_t>(blocks.size()))
            policyError({{MessageId::PolicyTooManyBlocks, {text, policy.count, static_cast<std::int64_t>(blocks.size())}}});
        std::vector<std::string> out;
        for (std::int64_t k = 0; k < policy.count; ++k)
            out.push_back(tree.module(blocks[static_cast<std::size_t>(k)]).name);
        return out;
    }
    case Policy::Selector::Experts: {
        auto out = outermostModules(tree, [](const Module &m) { return m.localName == "experts"; });
        if (out.empty())
            policyError({{MessageId::PolicyNoExperts, {text}}});
        if (policy.count > static_cast<std::int64_t>(out.size()))
            policyError({{MessageId::PolicyTooManyBlocks, {text, policy.count, static_cast<std::int64_t>(out.size())}}});
        if (policy.count > 0)
            out.resize(static_cast<std::size_t>(policy.count));
        return out;
    }
    case Policy::Selector::Embeddings: {
        auto out = outermostModules(tree, isEmbedding);
        if (out.empty())
            policyError({{MessageId::PolicyNoEmbeddings, {text}}});
        return out;
    }
    }
    return {};
}

namespace {

// The name of the dotted name's parent ("a.b.c" -> "a.b", "a" -> ""); none for "".
std::optional<std::string_view> parentName(std::string_view name)
{
    if (name.empty())
        return std::nullopt;
    const auto dot = name.rfind('.');
    return dot == std::string_view::npos ? std::string_view() : name.substr(0, dot);
}

} // namespace

ResolvedRules resolveRules(const ModuleTree &tree, const PlanOptions &options)
{
    ResolvedRules out;
    const auto np = options.policies.size();
    out.selected.resize(np);
    out.splitBlocks.resize(np);
    std::vector<std::string> texts(np);
    for (std::size_t i = 0; i < np; ++i) {
        texts[i] = toString(options.policies[i]);
        out.selected[i] = selectPolicy(tree, options.policies[i], options.noSplitClasses);
    }

    // Placing rules by name: user pins first, then the policies in order.
    std::vector<PolicyRule> placing;
    std::unordered_map<std::string, std::size_t> byName;
    auto conflict = [&](const PolicyRule &a, const PolicyRule &b) {
        if (a.policy >= 0 && b.policy >= 0)
            policyError({{MessageId::PolicyConflict, {texts[static_cast<std::size_t>(a.policy)], a.name, a.device,
                                                      texts[static_cast<std::size_t>(b.policy)], b.device}}});
        const PolicyRule &pol = a.policy >= 0 ? a : b, &pin = a.policy >= 0 ? b : a;
        policyError({{MessageId::PolicyPinConflict, {texts[static_cast<std::size_t>(pol.policy)], pol.name, pol.device, pin.device}}});
    };
    auto addPlacing = [&](PolicyRule r) {
        auto [it, fresh] = byName.emplace(r.name, placing.size());
        if (fresh) {
            placing.push_back(std::move(r));
            return;
        }
        const PolicyRule &first = placing[it->second];
        if (first.device != r.device && (first.policy >= 0 || r.policy >= 0))
            conflict(first, r);
        // Same device (or two user pins: plan() refuses those before): the first one stands.
    };
    std::vector<PolicyRule> forbidding;
    for (std::size_t i = 0; i < options.pins.size(); ++i) {
        const Pin &p = options.pins[i];
        PolicyRule r{p.module, p.device, p.forbid, static_cast<int>(i), -1};
        if (p.forbid)
            forbidding.push_back(std::move(r));
        else
            addPlacing(std::move(r));
    }
    for (std::size_t i = 0; i < np; ++i) {
        const Policy &pol = options.policies[i];
        for (const auto &name : out.selected[i]) {
            PolicyRule r{name, pol.device, pol.forbid, -1, static_cast<int>(i)};
            if (pol.forbid)
                forbidding.push_back(std::move(r));
            else
                addPlacing(std::move(r));
        }
    }

    // The nearest enclosing kept rule of each: an inner rule with its device is dropped, one with
    // another device carves it. Shallow names first.
    std::vector<std::size_t> order(placing.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    auto depth = [](const std::string &n) { return n.empty() ? -1 : static_cast<int>(std::count(n.begin(), n.end(), '.')); };
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return depth(placing[a].name) < depth(placing[b].name); });
    std::vector<char> kept(placing.size(), 0);
    std::vector<std::vector<std::size_t>> exceptions(placing.size());
    for (std::size_t i : order) {
        std::optional<std::size_t> enclosing;
        for (auto up = parentName(placing[i].name); up && !enclosing; up = parentName(*up))
            if (auto it = byName.find(std::string(*up)); it != byName.end() && kept[it->second])
                enclosing = it->second;
        if (enclosing && placing[*enclosing].device == placing[i].device)
            continue;
        kept[i] = 1;
        if (enclosing)
            exceptions[*enclosing].push_back(i);
    }

    // Carving: an outer rule becomes rules for everything of its module but the inner rules' names.
    for (std::size_t i = 0; i < placing.size(); ++i) {
        if (!kept[i])
            continue;
        const PolicyRule &r = placing[i];
        if (exceptions[i].empty()) {
            out.rules.push_back(r);
            continue;
        }
        const int id = tree.find(r.name);
        if (id < 0) { // a tensor holds nothing inside it
            out.rules.push_back(r);
            continue;
        }
        std::unordered_set<std::string> skip, holdsSkipped;
        for (std::size_t e : exceptions[i]) {
            skip.insert(placing[e].name);
            for (auto up = parentName(placing[e].name); up && *up != r.name; up = parentName(*up))
                holdsSkipped.insert(std::string(*up));
        }
        auto carve = [&](auto &&self, int m) -> void {
            const Module &mod = tree.module(m);
            auto tensor = [&](const Tensor &t) {
                std::string n = tree.tensorName(m, t);
                if (!skip.count(n))
                    out.rules.push_back({std::move(n), r.device, false, r.pin, r.policy});
            };
            std::unordered_set<int> ties;
            for (const auto &t : mod.params)
                if (t.tie < 0 || ties.insert(t.tie).second)
                    tensor(t);
            for (int c : mod.children) {
                const std::string &cn = tree.module(c).name;
                if (skip.count(cn))
                    continue;
                if (holdsSkipped.count(cn))
                    self(self, c);
                else
                    out.rules.push_back({cn, r.device, false, r.pin, r.policy});
            }
            for (const auto &t : mod.buffers)
                tensor(t);
        };
        carve(carve, id);
    }

    // A placing rule overlapping a rule that forbids its device.
    for (const auto &p : out.rules)
        for (const auto &q : forbidding)
            if (p.device == q.device && (nameWithin(p.name, q.name) || nameWithin(q.name, p.name))) {
                if (p.policy >= 0)
                    policyError({{MessageId::PolicyPlacesForbidden, {texts[static_cast<std::size_t>(p.policy)], p.name, p.device, q.name}}});
                if (q.policy >= 0)
                    policyError({{MessageId::PolicyForbidsPlaced, {texts[static_cast<std::size_t>(q.policy)], q.name, q.device, p.name}}});
                policyError({{MessageId::PinsContradict, {p.name, p.device, q.name}}});
            }
    out.rules.insert(out.rules.end(), forbidding.begin(), forbidding.end());

    // The no-split modules each policy splits: those strictly above one of its placing rules (the
    // outermost such), unless one rule places the whole module.
    const std::unordered_set<std::string> noSplit(options.noSplitClasses.begin(), options.noSplitClasses.end());
    std::unordered_set<std::string> whole;
    for (const auto &r : out.rules)
        if (!r.forbid)
            whole.insert(r.name);
    std::vector<std::unordered_set<std::string>> selectedSet(np);
    for (std::size_t i = 0; i < np; ++i)
        selectedSet[i].insert(out.selected[i].begin(), out.selected[i].end());
    for (const auto &r : out.rules) {
        if (r.policy < 0 || r.forbid || !selectedSet[static_cast<std::size_t>(r.policy)].count(r.name))
            continue;
        int owner = -1;
        if (auto t = tree.resolveKey(r.name))
            owner = t->isTensor() ? t->module : tree.module(t->module).parent;
        int outer = -1;
        for (int m = owner; m > 0; m = tree.module(m).parent)
            if (noSplit.count(tree.module(m).className))
                outer = m;
        if (outer <= 0 || whole.count(tree.module(outer).name))
            continue;
        auto &list = out.splitBlocks[static_cast<std::size_t>(r.policy)];
        if (std::find(list.begin(), list.end(), tree.module(outer).name) == list.end())
            list.push_back(tree.module(outer).name);
    }
    return out;
}

} // namespace mizan::planner
