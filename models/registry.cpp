#include "registry_p.h"

#include "planner/error.h"
#include "planner/jsonfile.h"

#include <algorithm>
#include <set>
#include <cctype>
#include <cmath>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>
#include <unordered_map>

namespace mizan::models::detail {

std::string activationClass(const std::string &activation)
{
    // transformers src/transformers/activations.py, ACT2CLS (v4.4x..v5).
    static const std::map<std::string, std::string> kClasses = {
        {"gelu", "GELUActivation"},
        {"gelu_10", "ClippedGELUActivation"},
        {"gelu_fast", "FastGELUActivation"},
        {"gelu_new", "NewGELUActivation"},
        {"gelu_python", "GELUActivation"},
        {"gelu_pytorch_tanh", "GELUTanh"},
        {"gelu_accurate", "AccurateGELUActivation"},
        {"laplace", "LaplaceActivation"},
        {"leaky_relu", "LeakyReLU"},
        {"linear", "LinearActivation"},
        {"mish", "MishActivation"},
        {"quick_gelu", "QuickGELUActivation"},
        {"relu", "ReLU"},
        {"relu2", "ReLUSquaredActivation"},
        {"relu6", "ReLU6"},
        {"sigmoid", "Sigmoid"},
        {"silu", "SiLUActivation"},
        {"swish", "SiLU"},
        {"tanh", "Tanh"},
    };
    auto it = kClasses.find(activation);
    return it == kClasses.end() ? std::string() : it->second;
}

const Family *findFamily(const nlohmann::json &config)
{
    if (!config.is_object())
        return nullptr;
    if (auto it = config.find("architectures"); it != config.end() && it->is_array()) {
        for (const auto &a : *it) {
            if (!a.is_string())
                continue;
            for (const auto &f : families())
                for (const auto &arch : f.architectures)
                    if (arch == a.get<std::string>())
                        return &f;
        }
        if (!it->empty())
            return nullptr; // names an architecture we do not know: do not guess by model_type
    }
    if (auto it = config.find("model_type"); it != config.end() && it->is_string())
        for (const auto &f : families())
            for (const auto &t : f.modelTypes)
                if (t == it->get<std::string>())
                    return &f;
    return nullptr;
}

namespace {

std::vector<std::string> splitKeys(const std::string &keys)
{
    std::vector<std::string> out;
    std::string cur;
    for (char c : keys) {
        if (c == '|') {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty())
        out.push_back(cur);
    return out;
}

std::string replaceAll(std::string s, const std::string &from, const std::string &to)
{
    for (std::size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
        s.replace(pos, from.size(), to);
    return s;
}

// Bounds that keep a hostile config.json from allocating without limit.
constexpr std::int64_t kMaxRepeat = 1 << 16; // layers / experts per ModuleList

// Does `expr` name the variable `i` (the index of the ModuleList copy being built)? Errs on the
// side of yes.
bool usesIndex(std::string_view expr)
{
    auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    for (std::size_t k = 0; k < expr.size();) {
        if (!std::isalpha(static_cast<unsigned char>(expr[k])) && expr[k] != '_') {
            ++k;
            continue;
        }
        std::size_t end = k;
        while (end < expr.size() && word(expr[end]))
            ++end;
        if (expr.substr(k, end - k) == "i")
            return true;
        k = end;
    }
    return false;
}

// Is anything evaluated for `spec` (its condition, tensors, copy count, children) a function of `i`?
// The children of a ModuleList are not: they are evaluated with `i` bound to their own index.
bool dependsOnIndex(const NodeSpec &spec)
{
    if (usesIndex(spec.when) || usesIndex(spec.repeat))
        return true;
    for (const auto &t : spec.tensors) {
        if (usesIndex(t.when))
            return true;
        for (const auto &d : t.shape)
            if (usesIndex(d))
                return true;
    }
    if (!spec.repeat.empty())
        return false;
    return std::any_of(spec.children.begin(), spec.children.end(), dependsOnIndex);
}

// `module`.`local` as ModuleTree names it (the root's tensors go without a prefix).
std::string joinName(const std::string &module, const std::string &local)
{
    return module.empty() ? local : module + "." + local;
}

// Is `full` the name joinName(module, local)?
bool isJoinedName(std::string_view full, std::string_view module, std::string_view local)
{
    if (module.empty())
        return full == local;
    return full.size() == module.size() + 1 + local.size() && full.substr(0, module.size()) == module
        && full[module.size()] == '.' && full.substr(module.size() + 1) == local;
}

// What building and counting share: the variables, expression values (those that do not depend on
// `i` are computed once per expression of the tables), and the checks on dimensions, with the
// same errors.
class Walk {
public:
    Walk(const Family &family, Env env) : m_family(family), m_env(std::move(env)), m_index(&m_env["i"]) {}

    const Env &env() const { return m_env; }

protected:
    double value(const std::string &expr)
    {
        auto [it, inserted] = m_values.try_emplace(&expr);
        if (!inserted && it->second)
            return *it->second;
        const double v = evaluate(expr, m_env);
        if (inserted && !usesIndex(expr))
            it->second = v;
        return v;
    }

    bool truth(const std::string &expr) { return value(expr) != 0; }

    // Errors name `where`, or `where`.`*tensor` (a tensor of the module `where`).
    std::int64_t dim(const std::string &expr, const std::string &where, const std::string *tensor = nullptr)
    {
        const double v = value(expr);
        if (!std::isfinite(v) || v < 0 || v > 1e15)
            throw Error(ErrorKind::InvalidConfig, {},
                        m_family.name + " " + (tensor ? where + "." + *tensor : where) + ": dimension \"" + expr
                            + "\" evaluates to " + std::to_string(v) + " (check config.json)");
        return static_cast<std::int64_t>(std::floor(v));
    }

    // Number of copies of a ModuleList node named `name`.
    std::int64_t copies(const NodeSpec &spec, const std::string &name)
    {
        const std::int64_t n = dim(spec.repeat, name);
        if (n > kMaxRepeat)
            throw Error(ErrorKind::InvalidConfig, {},
                        m_family.name + " " + name + ": " + std::to_string(n) + " copies (\"" + spec.repeat
                            + "\") is more than the " + std::to_string(kMaxRepeat) + " the registry builds");
        return n;
    }

    // The shape of tensor `spec` of the module named `module`.
    std::vector<std::int64_t> shape(const TensorSpec &spec, const std::string &module)
    {
        std::vector<std::int64_t> out;
        out.reserve(spec.shape.size());
        double numel = 1;
        for (const auto &d : spec.shape) {
            out.push_back(dim(d, module, &spec.name));
            numel *= static_cast<double>(out.back());
        }
        if (numel > 0x1p53)
            throw Error(ErrorKind::InvalidConfig, {},
                        m_family.name + " " + module + "." + spec.name + ": " + std::to_string(numel)
                            + " elements is beyond any real tensor (check config.json)");
        return out;
    }

    double index() const { return *m_index; }
    void setIndex(double i) { *m_index = i; }

    const Family &m_family;

private:
    Env m_env;
    double *m_index;
    // Value of each expression of the tables that does not depend on `i` (nullopt: it does).
    std::unordered_map<const std::string *, std::optional<double>> m_values;
};

class Builder : public Walk {
public:
    Builder(const Family &family, DType dtype, Env env, std::string activationCls)
        : Walk(family, std::move(env)), m_dtype(dtype), m_act(std::move(activationCls))
    {
        m_tree.deferIndexing(); // names are looked up once the tree is made
    }

    // Adds `spec` below `parentId` (as the root when isRoot), named `name` (spec.name when null).
    void add(int parentId, const NodeSpec &spec, bool isRoot, const std::string *name = nullptr)
    {
        if (!spec.when.empty() && !truth(spec.when))
            return;
        int id = planner::ModuleTree::kRoot;
        if (isRoot)
            m_tree.setClassName(id, className(spec.cls));
        else
            id = m_tree.addChild(parentId, name ? *name : spec.name, className(spec.cls));
        for (const auto &t : spec.tensors)
            addTensor(id, t);
        if (!spec.repeat.empty()) {
            const std::int64_t n = copies(spec, name ? *name : spec.name);
            const double saved = index();
            const NodeSpec &item = spec.children.at(0);
            for (std::int64_t i = 0; i < n; ++i) {
                setIndex(static_cast<double>(i));
                const std::string local = std::to_string(i);
                add(id, item, false, &local);
            }
            setIndex(saved);
            return;
        }
        for (const auto &c : spec.children)
            add(id, c, false);
    }

    planner::ModuleTree takeTree()
    {
        m_tree.finishIndexing();
        return std::move(m_tree);
    }
    void reserve(int modules) { m_tree.reserve(modules); }

private:
    std::string className(const std::string &cls) const
    {
        if (cls == "@act")
            return m_act;
        return replaceAll(cls, "{P}", m_family.classPrefix);
    }

    void addTensor(int id, const TensorSpec &spec)
    {
        if (!spec.when.empty() && !truth(spec.when))
            return;
        planner::Tensor t;
        t.name = spec.name;
        t.dtype = spec.dtype.value_or(m_dtype);
        t.fixedDtype = spec.dtype.has_value();
        t.buffer = spec.role != Role::Param;
        t.persistent = spec.role != Role::Transient;
        t.shape = shape(spec, std::as_const(m_tree).module(id).name);
        m_tree.addTensor(id, std::move(t));
    }

    DType m_dtype;
    std::string m_act;
    planner::ModuleTree m_tree;
};

// Counts the parameters (numel) and modules of the tree Builder would build, with the same checks
// and errors, without making it: the copies of a ModuleList whose contents do not depend on `i` are
// counted once. Parameters named in the family's ties are set aside (with their numel, in
// pre-order) to be counted once per tie group.
class Counter : public Walk {
public:
    Counter(const Family &family, Env env) : Walk(family, std::move(env))
    {
        for (const auto &tie : family.ties)
            m_tieNames.insert(m_tieNames.end(), tie.tensors.begin(), tie.tensors.end());
    }

    struct Count {
        std::int64_t parameters = 0; // tie candidates aside
        std::int64_t modules = 0;
    };

    // The module `path` (local name `local`) built from `spec`, and all below it.
    Count add(const NodeSpec &spec, const std::string &path, const std::string &local)
    {
        Count n;
        if (!spec.when.empty() && !truth(spec.when))
            return n;
        n.modules = 1;
        for (const auto &t : spec.tensors)
            n.parameters += addTensor(path, t);
        if (!spec.repeat.empty()) {
            const std::int64_t count = copies(spec, local);
            const NodeSpec &item = spec.children.at(0);
            const bool alike = !dependsOnIndex(item) && !tieBelow(path);
            const double saved = index();
            for (std::int64_t i = 0; i < count; ++i) {
                setIndex(static_cast<double>(i));
                const std::string index = std::to_string(i);
                const Count one = add(item, joinName(path, index), index);
                if (alike) {
                    n.parameters += one.parameters * count;
                    n.modules += one.modules * count;
                    break;
                }
                n.parameters += one.parameters;
                n.modules += one.modules;
            }
            setIndex(saved);
            return n;
        }
        for (const auto &c : spec.children) {
            const Count one = add(c, joinName(path, c.name), c.name);
            n.parameters += one.parameters;
            n.modules += one.modules;
        }
        return n;
    }

    const std::vector<std::pair<std::string, std::int64_t>> &tieCandidates() const { return m_candidates; }

private:
    bool tieBelow(const std::string &path) const
    {
        return std::any_of(m_tieNames.begin(), m_tieNames.end(), [&](const std::string &n) {
            return path.empty() || (n.size() > path.size() && n.compare(0, path.size(), path) == 0 && n[path.size()] == '.');
        });
    }

    std::int64_t addTensor(const std::string &path, const TensorSpec &spec)
    {
        if (!spec.when.empty() && !truth(spec.when))
            return 0;
        const std::vector<std::int64_t> dims = shape(spec, path);
        if (spec.role != Role::Param)
            return 0;
        std::int64_t numel = 1;
        for (auto d : dims)
            numel *= d;
        for (const auto &n : m_tieNames)
            if (isJoinedName(n, path, spec.name)) {
                m_candidates.emplace_back(n, numel);
                return 0;
            }
        return numel;
    }

    std::vector<std::string> m_tieNames;
    std::vector<std::pair<std::string, std::int64_t>> m_candidates;
};

// Variables that count or size something (layers, heads, widths, vocabulary, experts): integers
// in config.json. Those the model divides by or cannot be built without are at least 1.
bool isCountVar(const std::string &var)
{
    static const std::set<std::string> counts{"H", "L", "NH", "KV", "HD", "I", "V", "P", "E", "FF", "D", "DKV", "LD", "NB", "WP"};
    return counts.contains(var);
}

bool isPositiveVar(const std::string &var)
{
    static const std::set<std::string> positive{"H", "NH", "KV", "HD", "I", "V", "FF", "D", "DKV", "WP"};
    return positive.contains(var);
}

double configNumber(const nlohmann::json &v, const std::string &key, const std::string &var, const std::string &family)
{
    if (isCountVar(var)) {
        std::string why;
        const std::int64_t min = isPositiveVar(var) ? 1 : 0;
        const auto n = planner::jsonInteger(v, min, std::int64_t(1) << 53, &why);
        if (!n)
            throw Error(ErrorKind::InvalidConfig, {},
                        family + " config: \"" + key + "\" must be an integer from " + std::to_string(min) + ", found " + why);
        return static_cast<double>(*n);
    }
    if (v.is_boolean())
        return v.get<bool>() ? 1 : 0;
    if (v.is_number())
        return v.get<double>();
    throw Error(ErrorKind::InvalidConfig, {},
                family + " config: \"" + key + "\" must be a number or boolean, found " + planner::jsonTypeName(v));
}

// The variables of `family` read from `config`, and the activation class.
std::pair<Env, std::string> prepare(const Family &family, const nlohmann::json &config, Layout layout)
{
    if (!config.is_object())
        throw Error(ErrorKind::InvalidConfig, {}, "config must be a JSON object");
    Env env;
    env["V5"] = layout == Layout::V5 ? 1 : 0;
    env["i"] = -1;
    for (const auto &var : family.vars) {
        bool found = false;
        for (const auto &key : splitKeys(var.keys)) {
            auto it = config.find(key);
            if (it != config.end() && !it->is_null()) {
                env[var.name] = configNumber(*it, key, var.name, family.name);
                found = true;
                break;
            }
        }
        if (found)
            continue;
        if (var.fallback.empty())
            throw Error(ErrorKind::InvalidConfig, {},
                        family.name + " config lacks \"" + replaceAll(var.keys, "|", "\" or \"") + "\"");
        env[var.name] = evaluate(var.fallback, env);
    }
    std::string activation = family.defaultActivation;
    for (const auto &key : splitKeys(family.activationKeys)) {
        auto it = config.find(key);
        if (it != config.end() && it->is_string()) {
            activation = it->get<std::string>();
            break;
        }
    }
    if (family.adjust)
        family.adjust(config, env, activation);
    std::string actCls = activationClass(activation);
    if (actCls.empty())
        throw Error(ErrorKind::InvalidConfig, {},
                    family.name + " config: unknown activation \"" + activation + "\"");
    return {std::move(env), std::move(actCls)};
}

struct Ties {
    std::vector<std::pair<std::string, int>> ids; // parameter full name -> tie id
    std::vector<std::vector<std::string>> groups; // Built::tiedGroups
};

// The family's tie groups over the parameters `hasParameter(full name)` says the tree has: every
// listed parameter present; groups of one are no tie; a group sharing a parameter with an earlier
// one joins it.
template<typename HasParameter>
Ties assignTies(const Family &family, const Env &env, HasParameter &&hasParameter)
{
    Ties out;
    int next = 0;
    auto idOf = [&](const std::string &name) -> int * {
        for (auto &[n, id] : out.ids)
            if (n == name)
                return &id;
        return nullptr;
    };
    for (const auto &tie : family.ties) {
        if (!tie.when.empty() && evaluate(tie.when, env) == 0)
            continue;
        std::vector<std::string> group;
        for (const auto &name : tie.tensors)
            if (hasParameter(name))
                group.push_back(name);
        if (group.size() < 2)
            continue;
        // Merge with a group one of them already belongs to.
        int id = next;
        for (const auto &n : group)
            if (const int *t = idOf(n))
                id = *t;
        bool merged = false;
        for (auto &g : out.groups)
            for (const auto &n : group)
                if (std::find(g.begin(), g.end(), n) != g.end())
                    merged = true;
        for (const auto &n : group) {
            if (int *t = idOf(n))
                *t = id;
            else
                out.ids.emplace_back(n, id);
        }
        if (id == next)
            ++next;
        if (merged) {
            for (auto &g : out.groups) {
                bool hit = false;
                for (const auto &n : group)
                    hit = hit || std::find(g.begin(), g.end(), n) != g.end();
                if (hit)
                    for (const auto &n : group)
                        if (std::find(g.begin(), g.end(), n) == g.end())
                            g.push_back(n);
            }
        } else {
            out.groups.push_back(group);
        }
    }
    return out;
}

} // namespace

Built build(const Family &family, const nlohmann::json &config, DType dtype, Layout layout)
{
    auto [env, actCls] = prepare(family, config, layout);
    Builder builder(family, dtype, env, std::move(actCls));
    // The module count first (cheap: alike copies are counted once), so that the tree is made in
    // place, not regrown; a config the count rejects is left to the builder to report.
    try {
        const std::int64_t modules = Counter(family, std::move(env)).add(family.root, {}, family.root.name).modules;
        if (modules > 0 && modules <= (1 << 20))
            builder.reserve(static_cast<int>(modules));
    } catch (const Error &) {
    }
    builder.add(planner::ModuleTree::kRoot, family.root, true);

    Built out;
    out.tree = builder.takeTree();
    out.env = builder.env();

    // Tied groups: every listed tensor the tree has; groups of one are no tie.
    const planner::ModuleTree &tree = out.tree;
    auto param = [&](const std::string &name) -> std::optional<planner::KeyTarget> {
        const auto dot = name.rfind('.');
        const int id = tree.find(dot == std::string::npos ? std::string_view() : std::string_view(name).substr(0, dot));
        if (id < 0)
            return std::nullopt;
        const std::string_view local = dot == std::string::npos ? std::string_view(name) : std::string_view(name).substr(dot + 1);
        const auto &params = tree.module(id).params;
        for (std::size_t slot = 0; slot < params.size(); ++slot)
            if (params[slot].name == local)
                return planner::KeyTarget{id, static_cast<int>(slot)};
        return std::nullopt;
    };
    Ties ties = assignTies(family, out.env, [&](const std::string &name) { return param(name).has_value(); });
    for (const auto &[name, id] : ties.ids)
        out.tree.setTie(*param(name), id);
    out.tiedGroups = std::move(ties.groups);

    // keep_in_fp32: every tensor of a module whose local name is listed.
    for (int id : tree.preorder())
        for (const auto &keep : family.keepFp32Modules)
            if (tree.module(id).localName == keep && id != planner::ModuleTree::kRoot)
                for (std::size_t slot = 0; slot < tree.module(id).params.size(); ++slot) {
                    const planner::Tensor &p = tree.module(id).params[slot];
                    out.keepFp32Tensors.push_back(tree.tensorName(id, p));
                    if (isFloating(p.dtype))
                        out.tree.setDtype({id, static_cast<int>(slot)}, DType::F32);
                }
    return out;
}

TreeCounts countTree(const Family &family, const nlohmann::json &config, Layout layout)
{
    auto [env, actCls] = prepare(family, config, layout);
    Counter counter(family, std::move(env));
    const Counter::Count walked = counter.add(family.root, std::string(), family.root.name);
    std::int64_t total = walked.parameters;
    const auto &candidates = counter.tieCandidates();
    const Ties ties = assignTies(family, counter.env(), [&](const std::string &name) {
        return std::any_of(candidates.begin(), candidates.end(), [&](const auto &c) { return c.first == name; });
    });
    // Each tie group once, as the first of its parameters in pre-order (as aggregateSizes counts).
    std::vector<int> seen;
    for (const auto &[name, numel] : candidates) {
        int id = -1;
        for (const auto &[n, t] : ties.ids)
            if (n == name)
                id = t;
        if (id >= 0) {
            if (std::find(seen.begin(), seen.end(), id) != seen.end())
                continue;
            seen.push_back(id);
        }
        total += numel;
    }
    return {total, walked.modules};
}

} // namespace mizan::models::detail
