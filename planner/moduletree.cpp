#include "moduletree.h"

#include "error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <charconv>
#include <deque>
#include <limits>
#include <numeric>
#include <unordered_set>
#include <utility>

namespace mizan::planner {

std::int64_t Tensor::numel() const
{
    std::int64_t n = 1;
    for (auto d : shape)
        n *= d;
    return n;
}

namespace {

// Modules with at most this many params (or buffers) are searched by a scan; beyond, by the index.
constexpr std::size_t kScanTensors = 16;
// Modules with at most this many children are searched for a local name by a scan; beyond, by the
// full name.
constexpr std::size_t kScanChildren = 16;

// A local name torch can make: not empty, no dot.
bool isPlainWord(std::string_view local)
{
    return !local.empty() && local.find('.') == std::string_view::npos;
}

std::uint8_t flagsOf(const Tensor &t)
{
    return static_cast<std::uint8_t>((t.buffer ? FlatTree::kBuffer : 0) | (t.persistent ? FlatTree::kPersistent : 0) |
                                     (t.fixedDtype ? FlatTree::kFixedDtype : 0));
}

std::size_t tensorKeyHash(int module, std::string_view local)
{
    return std::hash<std::string_view>()(local) ^ (static_cast<std::size_t>(module) * 0x9E3779B97F4A7C15ull);
}

} // namespace

ModuleTree::ModuleTree()
{
    m_modules.push_back(Module{});
    m_log.addModule(-1, 0, std::string(), 0, {});
    m_index.append(std::string_view(), [](std::int64_t) { return std::string_view(); });
}

int ModuleTree::find(std::string_view fullName) const
{
    enterPendingNames();
    return static_cast<int>(m_index.find(fullName, [this](std::int64_t id) -> const std::string & {
        return m_modules[static_cast<std::size_t>(id)].name;
    }));
}

void ModuleTree::reserve(int modules)
{
    const auto n = static_cast<std::size_t>(modules);
    m_modules.reserve(n);
    m_index.reserve(n);
    if (m_log.valid) {
        FlatBase &b = m_log.writable();
        for (auto *v : {&b.parent, &b.depth, &b.classId, &b.paramCount, &m_log.bufferCount})
            v->reserve(n);
        b.nameSize.reserve(n);
        b.localNameBegin.reserve(n + 1);
        m_log.firstTensor.reserve(n);
        if (m_log.preorder) {
            b.ids.reserve(n);
            b.end.reserve(n);
        }
        if (m_log.tensorBeginRecorded)
            b.tensorBegin.reserve(n + 1);
    }
}

int ModuleTree::addChild(int parent, std::string localName, std::string className)
{
    const int id = size();
    m_flat.reset();
    {
        const Module &p = m_modules[static_cast<std::size_t>(parent)];
        Module m;
        m.name = p.name.empty() ? localName : p.name + "." + localName;
        m.localName = std::move(localName);
        m.className = std::move(className);
        m.parent = parent;
        m.depth = p.depth + 1;
        m_modules.push_back(std::move(m));
    }
    if (m_log.valid) {
        const Module &m = m_modules.back();
        m_log.addModule(parent, m.depth, m.className, m.name.size(), m.localName);
    }
    // Names stay paths while the new one is a plain word that no tensor of the parent has (nor
    // another child: then its full name would be there already).
    if (m_namesArePaths) {
        const std::string_view local = m_modules.back().localName;
        m_namesArePaths = isPlainWord(local) && findTensor(parent, false, local) < 0 && findTensor(parent, true, local) < 0;
    }
    m_modules[static_cast<std::size_t>(parent)].children.push_back(id);
    // The new module follows the last one in pre-order when that one is in the parent's subtree.
    m_idsInPreorder = m_idsInPreorder && isWithin(id - 1, parent);
    if (m_deferIndexing) {
        m_index.appendLater(std::hash<std::string_view>()(m_modules.back().name));
        return id;
    }
    const bool fresh = m_index.append(m_modules.back().name, [this](std::int64_t i) -> const std::string & {
        return m_modules[static_cast<std::size_t>(i)].name;
    });
    m_namesArePaths = m_namesArePaths && fresh;
    return id;
}

void ModuleTree::enterPendingNames() const
{
    if (m_index.hasPending())
        m_index.enterPending(
            [this](std::int64_t a, std::int64_t b) {
                return m_modules[static_cast<std::size_t>(a)].name == m_modules[static_cast<std::size_t>(b)].name;
            },
            [this](std::int64_t) { m_namesArePaths = false; });
    for (const bool buffer : {false, true}) {
        TensorIndex &index = buffer ? m_bufferIndex : m_paramIndex;
        if (!index.table.hasPending())
            continue;
        auto localName = [&](std::int64_t position) -> const std::string & {
            const auto [owner, at] = index.refs[static_cast<std::size_t>(position)];
            const Module &o = m_modules[static_cast<std::size_t>(owner)];
            return (buffer ? o.buffers : o.params)[static_cast<std::size_t>(at)].name;
        };
        index.table.enterPending(
            [&](std::int64_t a, std::int64_t b) {
                return index.refs[static_cast<std::size_t>(a)].first == index.refs[static_cast<std::size_t>(b)].first &&
                       localName(a) == localName(b);
            },
            [this](std::int64_t) { m_namesArePaths = false; });
    }
}

void ModuleTree::finishIndexing()
{
    enterPendingNames();
    m_deferIndexing = false;
}

bool ModuleTree::hasChild(int id, std::string_view local) const
{
    const Module &m = module(id);
    if (m.children.size() <= kScanChildren) {
        for (int c : m.children)
            if (module(c).localName == local)
                return true;
        return false;
    }
    const int found = find(m.name.empty() ? std::string(local) : m.name + "." + std::string(local));
    return found >= 0 && module(found).parent == id;
}

int ModuleTree::ensureModule(std::string_view fullName)
{
    if (fullName.empty())
        return kRoot;
    if (int id = find(fullName); id >= 0)
        return id;
    const auto dot = fullName.rfind('.');
    const int parent = dot == std::string_view::npos ? kRoot : ensureModule(fullName.substr(0, dot));
    const auto local = dot == std::string_view::npos ? fullName : fullName.substr(dot + 1);
    return addChild(parent, std::string(local));
}

void ModuleTree::addTensor(int id, Tensor tensor)
{
    const bool buffer = tensor.buffer;
    // Names stay paths while the new one is a plain word that no child or other tensor of the
    // module has (a repeat in an indexed list is seen when it is entered, below).
    if (m_namesArePaths) {
        const Module &owner = m_modules[static_cast<std::size_t>(id)];
        const auto &same = buffer ? owner.buffers : owner.params;
        m_namesArePaths = isPlainWord(tensor.name) && findTensor(id, !buffer, tensor.name) < 0 && !hasChild(id, tensor.name) &&
                          (same.size() >= kScanTensors || findTensor(id, buffer, tensor.name) < 0);
    }
    m_flat.reset();
    Module &m = m_modules[static_cast<std::size_t>(id)];
    auto &list = buffer ? m.buffers : m.params;
    list.push_back(std::move(tensor));
    if (m_log.valid)
        m_log.addTensor(id, list.back());
    if (list.size() <= kScanTensors)
        return;
    TensorIndex &index = buffer ? m_bufferIndex : m_paramIndex;
    // Past the scan limit: the module's tensors so far, then each new one.
    for (std::size_t i = list.size() == kScanTensors + 1 ? 0 : list.size() - 1; i < list.size(); ++i) {
        const std::string &local = list[i].name;
        if (m_deferIndexing) {
            index.table.appendLater(tensorKeyHash(id, local));
            index.refs.emplace_back(id, static_cast<int>(i));
            continue;
        }
        const bool fresh = index.table.appendHashed(tensorKeyHash(id, local), [&](std::int64_t position) {
            const auto [owner, at] = index.refs[static_cast<std::size_t>(position)];
            const Module &o = m_modules[static_cast<std::size_t>(owner)];
            return owner == id && (buffer ? o.buffers : o.params)[static_cast<std::size_t>(at)].name == local;
        });
        m_namesArePaths = m_namesArePaths && fresh;
        index.refs.emplace_back(id, static_cast<int>(i));
    }
}

int ModuleTree::findTensor(int id, bool buffer, std::string_view local) const
{
    const Module &m = module(id);
    const auto &list = buffer ? m.buffers : m.params;
    if (list.size() <= kScanTensors) {
        for (std::size_t i = 0; i < list.size(); ++i)
            if (list[i].name == local)
                return static_cast<int>(i);
        return -1;
    }
    enterPendingNames();
    const TensorIndex &index = buffer ? m_bufferIndex : m_paramIndex;
    const std::int64_t position = index.table.findHashed(tensorKeyHash(id, local), [&](std::int64_t p) {
        const auto [owner, at] = index.refs[static_cast<std::size_t>(p)];
        return owner == id && list[static_cast<std::size_t>(at)].name == local;
    });
    return position < 0 ? -1 : index.refs[static_cast<std::size_t>(position)].second;
}

bool nameWithin(std::string_view name, std::string_view scope)
{
    return scope.empty() || (name.starts_with(scope) && (name.size() == scope.size() || name[scope.size()] == '.'));
}

std::optional<KeyTarget> ModuleTree::resolveKey(std::string_view key) const
{
    if (int id = find(key); id >= 0)
        return KeyTarget{id, -1};
    const auto dot = key.rfind('.');
    const int owner = dot == std::string_view::npos ? kRoot : find(key.substr(0, dot));
    if (owner < 0)
        return std::nullopt;
    const std::string_view local = dot == std::string_view::npos ? key : key.substr(dot + 1);
    if (const int i = findTensor(owner, false, local); i >= 0)
        return KeyTarget{owner, i};
    if (const int i = findTensor(owner, true, local); i >= 0)
        return KeyTarget{owner, static_cast<int>(module(owner).params.size()) + i};
    return std::nullopt;
}

TargetPositions::TargetPositions(const ModuleTree &tree) : m_flat(tree.flat()), m_modules(static_cast<std::size_t>(tree.size()))
{
}

KeyPositions::KeyPositions(const ModuleTree &tree)
{
    if (tree.namesArePaths()) {
        m_positions.emplace(tree);
        m_at.assign(m_positions->size(), -1);
    }
}

std::int64_t KeyPositions::find(const KeyTarget &target, std::string_view name) const
{
    if (m_positions && target.module >= 0)
        return m_at[m_positions->of(target)];
    const std::int64_t *p = m_byName.find(name);
    return p ? *p : -1;
}

std::pair<std::int64_t, bool> KeyPositions::enter(const KeyTarget &target, std::string_view name, std::int64_t next)
{
    if (m_positions && target.module >= 0) {
        std::int64_t &at = m_at[m_positions->of(target)];
        if (at >= 0)
            return {at, false};
        return {at = next, true};
    }
    const auto [p, fresh] = m_byName.emplace(name, next);
    return {*p, fresh};
}

KeyResolver::KeyResolver(const ModuleTree &tree)
    : m_tree(tree), m_follow(tree.namesArePaths() && tree.idsInPreorder())
{
}

bool KeyResolver::names(const KeyTarget &target, std::string_view key) const
{
    // The target's owner (a tensor's module, a module's parent) is the last key's target or above
    // it: its full name (names are paths) is the start of the last key. The key is compared with
    // that and with the target's local name (a module's from the layout), not with names in the
    // records, whose heap blocks a million-module tree's caches no longer hold.
    const FlatTree &f = *m_flat;
    const auto id = static_cast<std::size_t>(target.module);
    const int owner = target.isTensor() ? target.module : f.parent[id];
    const std::size_t prefix = f.nameSize[static_cast<std::size_t>(owner)];
    const std::size_t start = prefix > 0 ? prefix + 1 : 0;
    const std::size_t local = target.isTensor() ? f.localNameSize[f.tensorAt(target.module, target.tensor)]
                                                : f.base->localNameBegin[id + 1] - f.base->localNameBegin[id];
    if (key.size() != start + local || prefix > m_lastKey.size() || key.compare(0, prefix, m_lastKey, 0, prefix) != 0 ||
        (prefix > 0 && key[prefix] != '.'))
        return false;
    return key.substr(start) == (target.isTensor() ? std::string_view(m_tree.tensor(target).name) : f.localName(target.module));
}

int KeyResolver::subtreeEnd(int id)
{
    // Ids in pre-order (m_follow): a module's place in it is its id.
    if (!m_flat)
        m_flat = m_tree.flat();
    return m_flat->end[static_cast<std::size_t>(id)];
}

std::optional<KeyTarget> KeyResolver::operator()(std::string_view key)
{
    if (m_follow && m_last) {
        const KeyTarget last = *m_last;
        if (!m_flat)
            m_flat = m_tree.flat();
        const int tensors = m_flat->tensorsOf(last.module);
        auto is = [&](const KeyTarget &t) {
            if (!names(t, key))
                return false;
#if defined(__GNUC__)
            if (!t.isTensor()) {
                // Keys in the tree's order name modules a like number of ids apart (the layers of
                // a model): the layout's entries that many keys on are asked of the memory ahead
                // (a million-module tree's arrays are not in the caches).
                const int step = t.module - last.module;
                const auto ahead = static_cast<std::size_t>(t.module) + 8 * static_cast<std::size_t>(std::max(step, 0));
                if (step > 0 && ahead < static_cast<std::size_t>(m_flat->size())) {
                    __builtin_prefetch(&m_flat->end[ahead]);
                    __builtin_prefetch(&m_flat->parent[ahead]);
                    const FlatBase &b = *m_flat->base;
                    __builtin_prefetch(&b.localNameBegin[ahead]);
                    // The names lie in id order: as many bytes on as eight keys' worth.
                    const std::size_t here = b.localNameBegin[static_cast<std::size_t>(t.module) + 1];
                    const std::size_t name = here + 8 * (here - b.localNameBegin[static_cast<std::size_t>(last.module) + 1]);
                    if (name < b.localNames.size())
                        __builtin_prefetch(b.localNames.data() + name);
                }
            }
#endif
            m_last = t;
            m_lastKey.assign(key);
            return true;
        };
        if (last.isTensor() && last.tensor + 1 < tensors && is({last.module, last.tensor + 1}))
            return m_last;
        if (last.isTensor() && subtreeEnd(last.module) > last.module + 1 && is({last.module + 1, -1}))
            return m_last;
        if (const int next = subtreeEnd(last.module); next < m_tree.size() && is({next, -1}))
            return m_last;
    }
    m_last = m_tree.resolveKey(key);
    if (m_last)
        m_lastKey.assign(key);
    return m_last;
}

const Tensor &ModuleTree::tensor(const KeyTarget &target) const
{
    const Module &m = module(target.module);
    const auto slot = static_cast<std::size_t>(target.tensor);
    return slot < m.params.size() ? m.params[slot] : m.buffers[slot - m.params.size()];
}

std::string ModuleTree::tensorName(int id, const Tensor &tensor) const
{
    const Module &m = module(id);
    return m.name.empty() ? tensor.name : m.name + "." + tensor.name;
}

namespace {

std::optional<std::uint64_t> asNumber(std::string_view s)
{
    if (s.empty() || s.size() > 18)
        return std::nullopt;
    std::uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size())
        return std::nullopt;
    return v;
}

} // namespace

void ModuleTree::sortNumericChildren()
{
    m_flat.reset();
    for (auto &m : m_modules) {
        std::vector<std::size_t> slots;
        std::vector<std::pair<std::uint64_t, int>> numbered;
        for (std::size_t i = 0; i < m.children.size(); ++i) {
            if (auto n = asNumber(m_modules[static_cast<std::size_t>(m.children[i])].localName)) {
                slots.push_back(i);
                numbered.emplace_back(*n, m.children[i]);
            }
        }
        if (numbered.size() < 2)
            continue;
        std::stable_sort(numbered.begin(), numbered.end(),
                         [](const auto &a, const auto &b) { return a.first < b.first; });
        for (std::size_t k = 0; k < slots.size(); ++k) {
            m_log.childrenInIdOrder = m_log.childrenInIdOrder && m.children[slots[k]] == numbered[k].second;
            m.children[slots[k]] = numbered[k].second;
        }
    }
    m_idsInPreorder = false;
    const std::vector<int> order = preorder();
    m_idsInPreorder = true;
    for (std::size_t i = 0; i < order.size() && m_idsInPreorder; ++i)
        m_idsInPreorder = order[i] == static_cast<int>(i);
}

ModuleTree ModuleTree::fromTensorNames(const std::vector<std::pair<std::string, Tensor>> &tensors)
{
    ModuleTree tree;
    // A module holding many tensors indexes them (addTensor): room for all of them at once, so the
    // index is not rebuilt every time it doubles (each rebuild touches fresh pages).
    if (tensors.size() > kScanTensors) {
        tree.m_paramIndex.table.reserve(tensors.size());
        tree.m_paramIndex.refs.reserve(tensors.size());
    }
    // The names are entered in the indexes in batches (deferIndexing), and a tensor whose module
    // is the one before's (a checkpoint lists a module's tensors together) looks nothing up.
    tree.deferIndexing();
    std::string_view lastOwnerName;
    int lastOwner = kRoot;
    for (const auto &[fullName, tensor] : tensors) {
        const auto dot = fullName.rfind('.');
        const std::string_view ownerName = dot == std::string::npos ? std::string_view() : std::string_view(fullName).substr(0, dot);
        if (ownerName != lastOwnerName) {
            lastOwner = tree.ensureModule(ownerName);
            lastOwnerName = ownerName;
        }
        Tensor t = tensor;
        t.name = dot == std::string::npos ? fullName : fullName.substr(dot + 1);
        tree.addTensor(lastOwner, std::move(t));
    }
    tree.finishIndexing();
    tree.sortNumericChildren();
    return tree;
}

namespace {

[[noreturn]] void badTree(const std::string &what)
{
    throw Error(ErrorKind::InvalidHeader, {}, "module tree JSON: " + what);
}

Tensor tensorFromJson(const nlohmann::json &j, bool buffer, std::unordered_map<std::string, int> &ties,
                      const std::string &where)
{
    if (!j.is_object() || !j.contains("name") || !j["name"].is_string())
        badTree(where + ": tensor without a string \"name\"");
    Tensor t;
    t.name = j["name"].get<std::string>();
    t.buffer = buffer;
    const std::string dtype = j.value("dtype", std::string("float32"));
    auto dt = dtypeFromTorch(dtype);
    if (!dt)
        throw Error(ErrorKind::UnknownDtype, {}, "module tree JSON: unknown dtype \"" + dtype + "\" for tensor \"" + where + "." + t.name + "\"");
    t.dtype = *dt;
    if (j.contains("shape")) {
        if (!j["shape"].is_array())
            badTree(where + "." + t.name + ": \"shape\" is not an array");
        for (const auto &d : j["shape"]) {
            if (!d.is_number_integer() || d.get<std::int64_t>() < 0)
                badTree(where + "." + t.name + ": shape entries must be non-negative integers");
            t.shape.push_back(d.get<std::int64_t>());
        }
    }
    if (j.contains("persistent"))
        t.persistent = j["persistent"].get<bool>();
    if (j.contains("fixed_dtype")) {
        if (!j["fixed_dtype"].is_boolean())
            badTree(where + "." + t.name + ": \"fixed_dtype\" must be true or false");
        t.fixedDtype = j["fixed_dtype"].get<bool>();
    }
    if (j.contains("tie")) {
        const std::string id = j["tie"].is_string() ? j["tie"].get<std::string>() : j["tie"].dump();
        t.tie = ties.emplace(id, static_cast<int>(ties.size())).first->second;
    }
    return t;
}

void moduleFromJson(ModuleTree &tree, int id, const nlohmann::json &j, std::unordered_map<std::string, int> &ties)
{
    if (!j.is_object())
        badTree("module entry is not an object");
    const std::string &name = std::as_const(tree).module(id).name;
    const std::string where = name.empty() ? std::string("<root>") : name;
    tree.setClassName(id, j.value("class", std::string()));
    for (const char *key : {"params", "buffers"}) {
        if (!j.contains(key))
            continue;
        if (!j[key].is_array())
            badTree(where + ": \"" + key + "\" is not an array");
        for (const auto &t : j[key])
            tree.addTensor(id, tensorFromJson(t, std::string_view(key) == "buffers", ties, where));
    }
    if (j.contains("children")) {
        if (!j["children"].is_array())
            badTree(where + ": \"children\" is not an array");
        for (const auto &c : j["children"]) {
            if (!c.is_object() || !c.contains("name") || !c["name"].is_string())
                badTree(where + ": child without a string \"name\"");
            const int child = tree.addChild(id, c["name"].get<std::string>());
            moduleFromJson(tree, child, c, ties);
        }
    }
}

nlohmann::json tensorToJson(const Tensor &t)
{
    nlohmann::json j = {{"name", t.name}, {"shape", t.shape}, {"dtype", torchName(t.dtype)}};
    if (t.tie >= 0)
        j["tie"] = "t" + std::to_string(t.tie);
    if (!t.persistent)
        j["persistent"] = false;
    if (t.fixedDtype)
        j["fixed_dtype"] = true;
    return j;
}

} // namespace

ModuleTree ModuleTree::fromJson(const nlohmann::json &json)
{
    ModuleTree tree;
    std::unordered_map<std::string, int> ties;
    moduleFromJson(tree, kRoot, json, ties);
    return tree;
}

nlohmann::json ModuleTree::toJson() const
{
    auto build = [this](auto &&self, int id) -> nlohmann::json {
        const Module &m = module(id);
        nlohmann::json j = {{"name", m.localName}, {"class", m.className},
                            {"params", nlohmann::json::array()}, {"buffers", nlohmann::json::array()},
                            {"children", nlohmann::json::array()}};
        for (const auto &t : m.params)
            j["params"].push_back(tensorToJson(t));
        for (const auto &t : m.buffers)
            j["buffers"].push_back(tensorToJson(t));
        for (int c : m.children)
            j["children"].push_back(self(self, c));
        return j;
    };
    return build(build, kRoot);
}

std::vector<int> ModuleTree::preorder(int from) const
{
    std::vector<int> order;
    if (m_idsInPreorder) {
        // The subtree is the run of ids from `from` up to the next module no deeper than it.
        int end = from == kRoot ? size() : from + 1;
        const int depth = module(from).depth;
        while (end < size() && module(end).depth > depth)
            ++end;
        order.resize(static_cast<std::size_t>(end - from));
        std::iota(order.begin(), order.end(), from);
        return order;
    }
    if (from == kRoot)
        order.reserve(m_modules.size());
    std::vector<int> stack{from};
    while (!stack.empty()) {
        const int id = stack.back();
        stack.pop_back();
        order.push_back(id);
        const auto &ch = module(id).children;
        for (auto it = ch.rbegin(); it != ch.rend(); ++it)
            stack.push_back(*it);
    }
    return order;
}

std::vector<char> FlatTree::classesIn(const std::vector<std::string> &names) const
{
    std::vector<char> in(classNames.size(), 0);
    for (std::size_t c = 0; c < classNames.size(); ++c)
        in[c] = std::find(names.begin(), names.end(), classNames[c]) != names.end();
    return in;
}

namespace {

// Each module's first tensor in the layout, and one past the last, from its counts.
std::vector<std::int64_t> tensorRanges(const std::vector<int> &params, const std::vector<int> &buffers)
{
    std::vector<std::int64_t> begin(params.size() + 1);
    std::int64_t k = 0;
    for (std::size_t i = 0; i < params.size(); ++i) {
        begin[i] = k;
        k += params[i] + buffers[i];
    }
    begin[params.size()] = k;
    return begin;
}

} // namespace

FlatTree ModuleTree::makeFlat() const
{
    std::vector<std::int64_t> tensorBegin;
    FlatTree f(m_log.valid ? flatFromLog() : flatFromRecords(tensorBegin));
    const FlatBase &b = *f.base;
    const auto n = static_cast<std::size_t>(f.size());
    f.idsInPreorder = m_idsInPreorder;
    // The tensor ranges: recorded, else from each module's count.
    if (b.tensorBegin.size() == n + 1) {
        f.tensorBegin = b.tensorBegin;
    } else {
        if (tensorBegin.empty())
            tensorBegin = tensorRanges(b.paramCount, m_log.bufferCount);
        f.owned.tensorBegin = std::move(tensorBegin);
        f.tensorBegin = f.owned.tensorBegin;
    }
    // The children: from the parents where they are in id order (at their first use), else as listed.
    if (!m_log.valid || !m_log.childrenInIdOrder) {
        FlatTree::Children c;
        c.begin.resize(n + 1);
        c.list.reserve(n > 0 ? n - 1 : 0);
        for (std::size_t i = 0; i < n; ++i) {
            c.begin[i] = static_cast<int>(c.list.size());
            c.list.insert(c.list.end(), m_modules[i].children.begin(), m_modules[i].children.end());
        }
        c.begin[n] = static_cast<int>(c.list.size());
        f.setChildren(std::move(c));
    }
    // The pre-order and the subtrees' ends: recorded where the ids are the pre-order, else from the children.
    if (m_idsInPreorder && m_log.valid && m_log.childrenInIdOrder && b.ids.size() == n && b.end.size() == n) {
        f.order = b.ids;
        f.position = b.ids;
        f.end = b.end;
        return f;
    }
    FlatTree::Owned &o = f.owned;
    if (m_idsInPreorder) {
        o.order.resize(n);
        std::iota(o.order.begin(), o.order.end(), 0);
    } else {
        o.order.reserve(n);
        std::vector<int> stack{kRoot};
        while (!stack.empty()) {
            const int id = stack.back();
            stack.pop_back();
            o.order.push_back(id);
            for (int k = f.childCount(id); k-- > 0;)
                stack.push_back(f.childrenOf(id)[k]);
        }
    }
    o.position.resize(n);
    o.end.resize(n);
    for (std::size_t p = 0; p < o.order.size(); ++p)
        o.position[static_cast<std::size_t>(o.order[p])] = static_cast<int>(p);
    // A module's subtree ends where its last child's does (children come after it in pre-order).
    for (std::size_t p = o.order.size(); p-- > 0;) {
        const int id = o.order[p];
        const int count = f.childCount(id);
        o.end[static_cast<std::size_t>(id)] = count == 0 ? static_cast<int>(p) + 1 : o.end[static_cast<std::size_t>(f.childrenOf(id)[count - 1])];
    }
    f.order = o.order;
    f.position = o.position;
    f.end = o.end;
    return f;
}

std::shared_ptr<const FlatBase> ModuleTree::flatFromLog() const
{
    const LayoutLog &log = m_log;
    const FlatBase &b = *log.base;
    if (log.grouped)
        return log.base; // the order added is the layout's: shared as it is
    // Each tensor to its module's place, params first, in the order added within each list.
    const auto n = m_modules.size();
    auto out = std::make_shared<FlatBase>();
    out->parent = b.parent;
    out->depth = b.depth;
    out->classId = b.classId;
    out->paramCount = b.paramCount;
    out->nameSize = b.nameSize;
    out->localNames = b.localNames;
    out->localNameBegin = b.localNameBegin;
    out->classNames = b.classNames;
    out->tiedTensors = b.tiedTensors;
    out->ids = b.ids;
    out->end = b.end;
    out->tensorBegin = tensorRanges(b.paramCount, log.bufferCount);
    const auto tensors = static_cast<std::size_t>(out->tensorBegin.back());
    out->numel.resize(tensors);
    out->dtype.resize(tensors);
    out->tie.resize(tensors);
    out->flags.resize(tensors);
    out->localNameSize.resize(tensors);
    std::vector<int> params(n, 0), buffers(n, 0);
    for (std::size_t j = 0; j < log.owner.size(); ++j) {
        const auto o = static_cast<std::size_t>(log.owner[j]);
        const int slot = (b.flags[j] & FlatTree::kBuffer) ? b.paramCount[o] + buffers[o]++ : params[o]++;
        const auto at = static_cast<std::size_t>(out->tensorBegin[o] + slot);
        out->numel[at] = b.numel[j];
        out->dtype[at] = b.dtype[j];
        out->tie[at] = b.tie[j];
        out->flags[at] = b.flags[j];
        out->localNameSize[at] = b.localNameSize[j];
    }
    return out;
}

std::shared_ptr<const FlatBase> ModuleTree::flatFromRecords(std::vector<std::int64_t> &tensorBegin) const
{
    const auto n = m_modules.size();
    std::size_t tensors = 0;
    for (const Module &m : m_modules)
        tensors += m.params.size() + m.buffers.size();
    auto out = std::make_shared<FlatBase>();
    FlatBase &f = *out;
    f.parent.resize(n);
    f.depth.resize(n);
    f.classId.resize(n);
    f.paramCount.resize(n);
    f.nameSize.resize(n);
    tensorBegin.resize(n + 1);
    f.numel.resize(tensors);
    f.dtype.resize(tensors);
    f.tie.resize(tensors);
    f.flags.resize(tensors);
    f.localNameSize.resize(tensors);
    LayoutLog classes; // for its class names
    std::size_t k = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const Module &m = m_modules[i];
        f.parent[i] = m.parent;
        f.depth[i] = m.depth;
        f.paramCount[i] = static_cast<int>(m.params.size());
        f.nameSize[i] = static_cast<std::uint32_t>(m.name.size());
        f.localNames.append(m.localName);
        f.localNameBegin.push_back(f.localNames.size());
        tensorBegin[i] = static_cast<std::int64_t>(k);
        f.classId[i] = classes.classOf(m.className);
        for (const auto *list : {&m.params, &m.buffers})
            for (const Tensor &x : *list) {
                f.numel[k] = x.numel();
                f.dtype[k] = x.dtype;
                f.tie[k] = x.tie;
                f.flags[k] = flagsOf(x);
                f.localNameSize[k] = static_cast<std::uint32_t>(x.name.size());
                f.tiedTensors += x.tie >= 0;
                ++k;
            }
    }
    tensorBegin[n] = static_cast<std::int64_t>(k);
    f.classNames = std::move(classes.base->classNames);
    return out;
}

FlatTree::FlatTree(std::shared_ptr<const FlatBase> shared)
    : base(std::move(shared)), parent(base->parent), depth(base->depth), classId(base->classId), paramCount(base->paramCount),
      nameSize(base->nameSize), classNames(base->classNames), numel(base->numel), dtype(base->dtype), tie(base->tie),
      flags(base->flags), localNameSize(base->localNameSize), tiedTensors(base->tiedTensors)
{
}

FlatTree::FlatTree(FlatTree &&other) noexcept : FlatTree(other.base)
{
    // A vector moved keeps its block: the spans into `owned` stay right.
    owned = std::move(other.owned);
    position = other.position;
    end = other.end;
    tensorBegin = other.tensorBegin;
    order = other.order;
    idsInPreorder = other.idsInPreorder;
    m_children = std::move(other.m_children);
    m_childrenMade.store(other.m_childrenMade.load());
}

void FlatTree::setChildren(Children made)
{
    m_children = std::move(made);
    m_childrenMade.store(true);
}

void FlatTree::makeChildren() const
{
    std::lock_guard lock(m_childrenMutex);
    if (m_childrenMade.load(std::memory_order_relaxed))
        return;
    // In id order: counted by parent, then placed.
    const auto n = static_cast<std::size_t>(size());
    Children c;
    c.begin.assign(n + 1, 0);
    for (std::size_t i = 1; i < n; ++i)
        ++c.begin[static_cast<std::size_t>(parent[i]) + 1];
    for (std::size_t i = 0; i < n; ++i)
        c.begin[i + 1] += c.begin[i];
    c.list.resize(n > 0 ? n - 1 : 0);
    std::vector<int> next(c.begin.begin(), c.begin.end() - 1);
    for (std::size_t i = 1; i < n; ++i)
        c.list[static_cast<std::size_t>(next[static_cast<std::size_t>(parent[i])]++)] = static_cast<int>(i);
    m_children = std::move(c);
    m_childrenMade.store(true, std::memory_order_release);
}

FlatBase &ModuleTree::LayoutLog::writable()
{
    if (base.use_count() > 1)
        base = std::make_shared<FlatBase>(*base);
    return *base;
}

int ModuleTree::LayoutLog::classOf(const std::string &name)
{
    // Class names are few: found by a scan, the last one found first (siblings often share one).
    const std::vector<std::string> &classNames = base->classNames;
    if (lastClass >= 0 && classNames[static_cast<std::size_t>(lastClass)] == name)
        return lastClass;
    for (std::size_t c = 0; c < classNames.size(); ++c)
        if (classNames[c] == name)
            return lastClass = static_cast<int>(c);
    std::vector<std::string> &names = writable().classNames; // `classNames` may be another's now
    names.push_back(name);
    return lastClass = static_cast<int>(names.size()) - 1;
}

void ModuleTree::LayoutLog::addModule(int parentId, int moduleDepth, const std::string &className, std::size_t nameBytes,
                                      std::string_view localName)
{
    const int cls = classOf(className);
    FlatBase &b = writable();
    b.parent.push_back(parentId);
    b.depth.push_back(moduleDepth);
    b.classId.push_back(cls);
    b.paramCount.push_back(0);
    b.nameSize.push_back(static_cast<std::uint32_t>(nameBytes));
    b.localNames.append(localName);
    b.localNameBegin.push_back(b.localNames.size());
    bufferCount.push_back(0);
    firstTensor.push_back(-1);
    if (tensorBeginRecorded)
        b.tensorBegin.push_back(b.tensorBegin.back()); // no tensor yet: the end is where it begins
    // In pre-order, the new module follows the last one's subtree within its parent's, whose end
    // is then its id; it ends its ancestors' subtrees after it.
    const int id = static_cast<int>(b.parent.size()) - 1;
    if (preorder && (moduleDepth > kMaxRecordedDepth || (parentId >= 0 && b.end[static_cast<std::size_t>(parentId)] != id))) {
        preorder = false;
        b.ids = {};
        b.end = {};
    }
    if (preorder) {
        b.ids.push_back(id);
        b.end.push_back(id + 1);
        for (int a = parentId; a >= 0; a = b.parent[static_cast<std::size_t>(a)])
            b.end[static_cast<std::size_t>(a)] = id + 1;
    }
}

void ModuleTree::LayoutLog::addTensor(int module, const Tensor &t)
{
    const auto m = static_cast<std::size_t>(module);
    if (grouped && module != lastOwner) {
        // A new run: the layout's order while it comes after the last run's module.
        grouped = module > lastOwner;
        firstTensor[m] = static_cast<std::int64_t>(owner.size());
    } else if (grouped && !t.buffer && bufferCount[m] > 0) {
        grouped = false; // a param after the module's buffers
    }
    lastOwner = module;
    FlatBase &b = writable();
    ++(t.buffer ? bufferCount : b.paramCount)[m];
    // The layout's tensor ranges of the modules after this one move one on (few, for a builder
    // that adds a module's tensors soon after the module; else they are no longer recorded).
    if (tensorBeginRecorded && b.tensorBegin.size() - m > kMaxTensorBeginShift) {
        tensorBeginRecorded = false;
        b.tensorBegin = {};
    }
    if (tensorBeginRecorded)
        for (std::size_t i = m + 1; i < b.tensorBegin.size(); ++i)
            ++b.tensorBegin[i];
    owner.push_back(module);
    b.numel.push_back(t.numel());
    b.dtype.push_back(t.dtype);
    b.tie.push_back(t.tie);
    b.flags.push_back(flagsOf(t));
    b.localNameSize.push_back(static_cast<std::uint32_t>(t.name.size()));
    b.tiedTensors += t.tie >= 0;
}

std::int64_t ModuleTree::LayoutLog::indexOf(const KeyTarget &target) const
{
    if (!grouped)
        return -1;
    return firstTensor[static_cast<std::size_t>(target.module)] + target.tensor;
}

void ModuleTree::setClassName(int id, std::string className)
{
    m_flat.reset();
    Module &m = m_modules[static_cast<std::size_t>(id)];
    m.className = std::move(className);
    if (m_log.valid) {
        const int cls = m_log.classOf(m.className);
        m_log.writable().classId[static_cast<std::size_t>(id)] = cls;
    }
}

namespace {

Tensor &tensorOf(Module &m, int slot)
{
    const auto s = static_cast<std::size_t>(slot);
    return s < m.params.size() ? m.params[s] : m.buffers[s - m.params.size()];
}

} // namespace

void ModuleTree::setTie(const KeyTarget &target, int tie)
{
    m_flat.reset();
    Tensor &t = tensorOf(m_modules[static_cast<std::size_t>(target.module)], target.tensor);
    if (m_log.valid) {
        if (const std::int64_t k = m_log.indexOf(target); k >= 0) {
            FlatBase &b = m_log.writable();
            b.tiedTensors += (tie >= 0) - (t.tie >= 0);
            b.tie[static_cast<std::size_t>(k)] = tie;
        } else {
            m_log.valid = false;
        }
    }
    t.tie = tie;
}

void ModuleTree::setDtype(const KeyTarget &target, DType dtype)
{
    m_flat.reset();
    Tensor &t = tensorOf(m_modules[static_cast<std::size_t>(target.module)], target.tensor);
    if (m_log.valid) {
        if (const std::int64_t k = m_log.indexOf(target); k >= 0)
            m_log.writable().dtype[static_cast<std::size_t>(k)] = dtype;
        else
            m_log.valid = false;
    }
    t.dtype = dtype;
}

ModuleTree::FlatCache &ModuleTree::FlatCache::operator=(const FlatCache &other)
{
    if (this != &other) {
        auto flat = other.current();
        std::lock_guard lock(m_mutex);
        m_flat = std::move(flat);
    }
    return *this;
}

std::shared_ptr<const FlatTree> ModuleTree::FlatCache::current() const
{
    std::lock_guard lock(m_mutex);
    return m_flat;
}

std::shared_ptr<const FlatTree> ModuleTree::FlatCache::get(const ModuleTree &tree) const
{
    std::lock_guard lock(m_mutex);
    if (!m_flat)
        m_flat = std::make_shared<const FlatTree>(tree.makeFlat());
    return m_flat;
}

void ModuleTree::FlatCache::reset()
{
    // Only a non-const tree is changed, by one thread at a time: no other holds the lock.
    m_flat.reset();
}

bool ModuleTree::isWithin(int id, int ancestor) const
{
    for (int m = id; m >= 0; m = module(m).parent)
        if (m == ancestor)
            return true;
    return false;
}

std::int64_t ModuleTree::tensorCount() const
{
    std::unordered_set<int> ties;
    std::int64_t n = 0;
    for (const auto &m : m_modules)
        for (const auto *list : {&m.params, &m.buffers})
            for (const auto &t : *list)
                if (t.tie < 0 || ties.insert(t.tie).second)
                    ++n;
    return n;
}

const char *toString(DtypeRule rule)
{
    return rule == DtypeRule::AccelerateNeverGrow ? "accelerate" : "transformers";
}

std::optional<DtypeRule> dtypeRuleFromString(std::string_view text)
{
    if (text == "transformers")
        return DtypeRule::Transformers;
    if (text == "accelerate")
        return DtypeRule::AccelerateNeverGrow;
    return std::nullopt;
}

namespace {

// Accelerate's rule: floating tensors shrink to `load`, never grow; integers and bool keep theirs.
DType neverGrow(DType own, DType load)
{
    if (!isFloating(own))
        return own;
    return dtypeInfo(load).storageBits < dtypeInfo(own).storageBits ? load : own;
}

} // namespace

DType instantiatedDtype(const Tensor &tensor, DType load)
{
    // torch.is_floating_point: real floating types only (complex is not, nor Accelerate's custom
    // quantised sizes).
    const DType own = tensor.dtype;
    const bool converted = isFloating(own) && own != DType::C64 && own != DType::C128 && own != DType::CustomFp8;
    return converted && !tensor.fixedDtype ? load : own;
}

ModuleTree instantiatedTree(const ModuleTree &tree, DType load)
{
    ModuleTree out = tree;
    for (int id = 0; id < tree.size(); ++id) {
        const Module &m = tree.module(id);
        const int params = static_cast<int>(m.params.size());
        for (int slot = 0; slot < params + static_cast<int>(m.buffers.size()); ++slot) {
            const Tensor &t = slot < params ? m.params[static_cast<std::size_t>(slot)] : m.buffers[static_cast<std::size_t>(slot - params)];
            if (const DType d = instantiatedDtype(t, load); d != t.dtype)
                out.setDtype({id, slot}, d);
        }
    }
    return out;
}

DType loadedDtype(const Tensor &tensor, std::optional<DType> load, DtypeRule rule)
{
    if (!load)
        return tensor.dtype;
    if (rule == DtypeRule::AccelerateNeverGrow)
        return neverGrow(tensor.dtype, *load);
    return neverGrow(instantiatedDtype(tensor, *load), *load);
}

ModuleSizes aggregateSizes(const ModuleTree &tree, std::optional<DType> load, DtypeRule rule, const SpecialDtypes &special)
{
    ModuleSizes s;
    const auto n = static_cast<std::size_t>(tree.size());
    s.bytes.assign(n, 0);
    s.parameters.assign(n, 0);
    s.bufferBytes.assign(n, 0);
    std::unordered_set<int> seenTies;
    std::unordered_map<std::string, DType> specialOf(special.begin(), special.end());
    const auto order = tree.preorder();
    auto addUp = [&](int id, std::int64_t bytes, std::int64_t params, bool buffer) {
        for (int m = id; m >= 0; m = tree.module(m).parent) {
            s.bytes[static_cast<std::size_t>(m)] += bytes;
            s.parameters[static_cast<std::size_t>(m)] += params;
            if (buffer)
                s.bufferBytes[static_cast<std::size_t>(m)] += bytes;
        }
    };
    auto countDtype = [&](DType d, std::int64_t bytes) {
        for (auto &[dt, b] : s.bytesByDtype)
            if (dt == d) {
                b += bytes;
                return;
            }
        s.bytesByDtype.emplace_back(d, bytes);
    };
    // Accelerate's enumeration: every parameter of the tree first, then every buffer.
    for (bool buffers : {false, true}) {
        for (int id : order) {
            const Module &m = tree.module(id);
            for (const auto &t : buffers ? m.buffers : m.params) {
                if (t.tie >= 0 && !seenTies.insert(t.tie).second)
                    continue;
                DType d = loadedDtype(t, load, rule);
                if (!specialOf.empty())
                    if (auto it = specialOf.find(tree.tensorName(id, t)); it != specialOf.end())
                        d = it->second;
                const std::int64_t bytes = storageBytes(d, t.numel());
                addUp(id, bytes, buffers ? 0 : t.numel(), buffers);
                countDtype(d, bytes);
            }
        }
    }
    return s;
}

LargestLayer largestLayer(const ModuleTree &tree, const ModuleSizes &sizes,
                          const std::vector<std::string> &noSplitClasses)
{
    LargestLayer best;
    auto consider = [&](std::int64_t bytes, std::string name) {
        if (bytes > best.bytes) {
            best.bytes = bytes;
            best.names.assign(1, std::move(name));
        } else if (bytes == best.bytes && bytes > 0) {
            best.names.push_back(std::move(name));
        }
    };
    auto noSplit = [&](const Module &m) {
        return std::find(noSplitClasses.begin(), noSplitClasses.end(), m.className) != noSplitClasses.end();
    };
    // Work list of module ids; bare tensors of the root count as layers of their own size.
    const Module &root = tree.module(ModuleTree::kRoot);
    std::unordered_set<int> seenTies;
    for (const auto *list : {&root.params, &root.buffers})
        for (const auto &t : *list)
            if (t.tie < 0 || seenTies.insert(t.tie).second)
                consider(storageBytes(t.dtype, t.numel()), t.name);
    std::deque<int> work(root.children.begin(), root.children.end());
    while (!work.empty()) {
        const int id = work.front();
        work.pop_front();
        const Module &m = tree.module(id);
        if (m.children.empty() || noSplit(m)) {
            consider(sizes.bytes[static_cast<std::size_t>(id)], m.name);
        } else {
            work.insert(work.begin(), m.children.begin(), m.children.end());
        }
    }
    return best;
}

bool numericAwareLess(std::string_view a, std::string_view b)
{
    while (!a.empty() && !b.empty()) {
        const auto da = a.find('.'), db = b.find('.');
        const auto pa = a.substr(0, da), pb = b.substr(0, db);
        if (pa != pb) {
            auto na = asNumber(pa), nb = asNumber(pb);
            if (na && nb)
                return *na < *nb;
            return pa < pb;
        }
        a = da == std::string_view::npos ? std::string_view() : a.substr(da + 1);
        b = db == std::string_view::npos ? std::string_view() : b.substr(db + 1);
    }
    return a.empty() && !b.empty();
}

} // namespace mizan::planner
