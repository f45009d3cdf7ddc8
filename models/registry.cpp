#include "registry_p.h"

#include "planner/error.h"

#include <cmath>
#include <map>
#include <sstream>

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

class Builder {
public:
    Builder(const Family &family, DType dtype, Env env, std::string activationCls)
        : m_family(family), m_dtype(dtype), m_env(std::move(env)), m_act(std::move(activationCls)) {}

    void add(int parentId, const NodeSpec &spec, bool isRoot)
    {
        if (!spec.when.empty() && !truth(spec.when))
            return;
        int id = planner::ModuleTree::kRoot;
        if (isRoot)
            m_tree.module(id).className = className(spec.cls);
        else
            id = m_tree.addChild(parentId, spec.name, className(spec.cls));
        for (const auto &t : spec.tensors)
            addTensor(id, t);
        if (!spec.repeat.empty()) {
            const std::int64_t n = dim(spec.repeat, spec.name);
            if (n > kMaxRepeat)
                throw Error(ErrorKind::InvalidConfig, {},
                            m_family.name + " " + spec.name + ": " + std::to_string(n) + " copies (\"" + spec.repeat
                                + "\") is more than the " + std::to_string(kMaxRepeat) + " the registry builds");
            const double saved = m_env.count("i") ? m_env["i"] : -1;
            for (std::int64_t i = 0; i < n; ++i) {
                m_env["i"] = static_cast<double>(i);
                NodeSpec copy = spec.children.at(0);
                copy.name = std::to_string(i);
                add(id, copy, false);
            }
            m_env["i"] = saved;
            return;
        }
        for (const auto &c : spec.children)
            add(id, c, false);
    }

    planner::ModuleTree takeTree() { return std::move(m_tree); }
    const Env &env() const { return m_env; }

private:
    bool truth(const std::string &expr) const { return evaluate(expr, m_env) != 0; }

    std::int64_t dim(const std::string &expr, const std::string &where) const
    {
        const double v = evaluate(expr, m_env);
        if (!std::isfinite(v) || v < 0 || v > 1e15)
            throw Error(ErrorKind::InvalidConfig, {},
                        m_family.name + " " + where + ": dimension \"" + expr + "\" evaluates to "
                            + std::to_string(v) + " (check config.json)");
        return static_cast<std::int64_t>(std::floor(v));
    }

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
        const std::string where = m_tree.module(id).name + "." + spec.name;
        double numel = 1;
        for (const auto &d : spec.shape) {
            t.shape.push_back(dim(d, where));
            numel *= static_cast<double>(t.shape.back());
        }
        if (numel > 0x1p53)
            throw Error(ErrorKind::InvalidConfig, {},
                        m_family.name + " " + where + ": " + std::to_string(numel)
                            + " elements is beyond any real tensor (check config.json)");
        m_tree.addTensor(id, std::move(t));
    }

    const Family &m_family;
    DType m_dtype;
    Env m_env;
    std::string m_act;
    planner::ModuleTree m_tree;
};

double configNumber(const nlohmann::json &v, const std::string &key, const std::string &family)
{
    if (v.is_boolean())
        return v.get<bool>() ? 1 : 0;
    if (v.is_number())
        return v.get<double>();
    throw Error(ErrorKind::InvalidConfig, {},
                family + " config: \"" + key + "\" must be a number or boolean, got " + v.dump());
}

} // namespace

Built build(const Family &family, const nlohmann::json &config, DType dtype, Layout layout)
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
                env[var.name] = configNumber(*it, key, family.name);
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

    Builder builder(family, dtype, env, actCls);
    builder.add(planner::ModuleTree::kRoot, family.root, true);

    Built out;
    out.tree = builder.takeTree();
    out.env = builder.env();

    // Tied groups: every listed tensor the tree has; groups of one are no tie.
    int tieId = 0;
    for (const auto &t : out.tree.modules())
        for (const auto &p : t.params)
            tieId = std::max(tieId, p.tie + 1);
    for (const auto &tie : family.ties) {
        if (!tie.when.empty() && evaluate(tie.when, out.env) == 0)
            continue;
        std::vector<std::string> group;
        std::vector<std::pair<int, std::size_t>> where;
        for (const auto &name : tie.tensors) {
            const auto target = out.tree.resolveKey(name);
            if (!target || !target->isTensor() || out.tree.tensor(*target).buffer)
                continue;
            group.push_back(name);
            where.emplace_back(target->module, static_cast<std::size_t>(target->tensor));
        }
        if (group.size() < 2)
            continue;
        // Merge with a group one of them already belongs to.
        int id = tieId;
        for (auto [m, k] : where)
            if (out.tree.module(m).params[k].tie >= 0)
                id = out.tree.module(m).params[k].tie;
        bool merged = false;
        for (auto &g : out.tiedGroups)
            for (const auto &n : group)
                if (std::find(g.begin(), g.end(), n) != g.end())
                    merged = true;
        for (auto [m, k] : where)
            out.tree.module(m).params[k].tie = id;
        if (id == tieId)
            ++tieId;
        if (merged) {
            for (auto &g : out.tiedGroups) {
                bool hit = false;
                for (const auto &n : group)
                    hit = hit || std::find(g.begin(), g.end(), n) != g.end();
                if (hit)
                    for (const auto &n : group)
                        if (std::find(g.begin(), g.end(), n) == g.end())
                            g.push_back(n);
            }
        } else {
            out.tiedGroups.push_back(group);
        }
    }

    // keep_in_fp32: every tensor of a module whose local name is listed.
    for (int id : out.tree.preorder())
        for (const auto &keep : family.keepFp32Modules)
            if (out.tree.module(id).localName == keep && id != planner::ModuleTree::kRoot)
                for (auto &p : out.tree.module(id).params) {
                    out.keepFp32Tensors.push_back(out.tree.tensorName(id, p));
                    if (isFloating(p.dtype))
                        p.dtype = DType::F32;
                }
    return out;
}

} // namespace mizan::models::detail
