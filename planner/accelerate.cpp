#include "accelerate.h"
#include "namemap.h"

#include "error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <deque>
#include <limits>
#include <sstream>
#include <string_view>
#include <unordered_set>

namespace mizan::planner::accel {

namespace {

[[noreturn]] void invalid(const std::string &message)
{
    throw Error(ErrorKind::InvalidArgument, {}, message);
}

std::string sizeError(std::string_view size)
{
    return "`size` " + std::string(size) + " is not in a valid format. Use an integer for bytes, or a string with an unit (like '5.0GB').";
}

// Python float(): optional surrounding whitespace, sign, digits with one '.', exponent, inf/nan.
std::optional<double> pythonFloat(std::string_view s)
{
    auto isSpace = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!s.empty() && isSpace(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && isSpace(s.back()))
        s.remove_suffix(1);
    if (s.empty())
        return std::nullopt;
    std::string text(s);
    // Python accepts underscores between digits; rare in sizes, reject them to stay simple.
    if (text.find('_') != std::string::npos)
        return std::nullopt;
    std::string lower = text;
    for (auto &c : lower)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view body = lower;
    bool negative = false;
    if (!body.empty() && (body.front() == '+' || body.front() == '-')) {
        negative = body.front() == '-';
        body.remove_prefix(1);
    }
    if (body == "inf" || body == "infinity")
        return negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    if (body == "nan")
        return std::numeric_limits<double>::quiet_NaN();
    // digits [. digits] [e [sign] digits], at least one digit in the mantissa
    std::size_t i = 0, mantissaDigits = 0;
    while (i < body.size() && std::isdigit(static_cast<unsigned char>(body[i]))) {
        ++i;
        ++mantissaDigits;
    }
    if (i < body.size() && body[i] == '.') {
        ++i;
        while (i < body.size() && std::isdigit(static_cast<unsigned char>(body[i]))) {
            ++i;
            ++mantissaDigits;
        }
    }
    if (mantissaDigits == 0)
        return std::nullopt;
    if (i < body.size() && body[i] == 'e') {
        ++i;
        if (i < body.size() && (body[i] == '+' || body[i] == '-'))
            ++i;
        std::size_t expDigits = 0;
        while (i < body.size() && std::isdigit(static_cast<unsigned char>(body[i]))) {
            ++i;
            ++expDigits;
        }
        if (expDigits == 0)
            return std::nullopt;
    }
    if (i != body.size())
        return std::nullopt;
    double value = 0;
    std::istringstream in{std::string(body)};
    in.imbue(std::locale::classic());
    in >> value;
    return negative ? -value : value;
}

// "name + '.' in member + '.'" (a substring test, as Accelerate does).
bool tiedInside(const std::string &name, const std::string &member)
{
    return (member + ".").find(name + ".") != std::string::npos;
}

bool isIntegerOrBool(DType d)
{
    const std::string_view n = torchName(d);
    return n.starts_with("uint") || n.starts_with("int") || n == "bool";
}

struct NamedTensor {
    std::string name; // relative to the enumeration root
    int module;
    const Tensor *tensor;
    int slot; // in the module: KeyTarget::tensor (params first, then buffers)
};

// Section 1's enumeration over the flat layout: the params of the subtree of `from` in pre-order
// (a subtree is contiguous in it), then its buffers, each pass counting a tie id once; calls
// visit(module id, slot, the tensor's index in the layout).
template <class Visit>
void forEachEnumerated(const FlatTree &f, int from, bool params, bool buffers, Visit &&visit)
{
    const auto root = static_cast<std::size_t>(from);
    for (int pass = 0; pass < 2; ++pass) {
        if ((pass == 0 && !params) || (pass == 1 && !buffers))
            continue;
        std::unordered_set<int> seen;
        auto offer = [&](std::size_t id, int slot, std::size_t k) {
            if (f.tie[k] < 0 || seen.insert(f.tie[k]).second)
                visit(static_cast<int>(id), slot, k);
        };
        if (f.idsInPreorder) {
            // The subtree's tensors are one run of the layout, in pre-order: the pass reads the
            // tensors' flags alone, and a module's tensor range only to name the owner of one it visits.
            const auto last = static_cast<std::size_t>(f.end[root]);
            const std::size_t stop = static_cast<std::size_t>(f.tensorBegin[last]);
            const std::uint8_t wanted = pass == 0 ? 0 : FlatTree::kBuffer;
            std::size_t id = root;
            for (std::size_t k = f.tensorAt(from, 0); k < stop; ++k) {
                if ((f.flags[k] & FlatTree::kBuffer) != wanted)
                    continue;
                // The owner: the module whose range holds k (a few steps on, else a binary search).
                for (int step = 0; step < 4 && static_cast<std::size_t>(f.tensorBegin[id + 1]) <= k; ++step)
                    ++id;
                if (static_cast<std::size_t>(f.tensorBegin[id + 1]) <= k)
                    id = static_cast<std::size_t>(std::upper_bound(f.tensorBegin.begin() + static_cast<std::ptrdiff_t>(id + 1),
                                                                   f.tensorBegin.begin() + static_cast<std::ptrdiff_t>(last + 1),
                                                                   static_cast<std::int64_t>(k)) -
                                                  f.tensorBegin.begin()) - 1;
                offer(id, static_cast<int>(k - static_cast<std::size_t>(f.tensorBegin[id])), k);
            }
            continue;
        }
        for (int p = f.position[root]; p < f.end[root]; ++p) {
            const auto id = static_cast<std::size_t>(f.order[static_cast<std::size_t>(p)]);
            const int last = pass == 0 ? f.paramCount[id] : f.tensorsOf(static_cast<int>(id));
            for (int slot = pass == 0 ? 0 : f.paramCount[id]; slot < last; ++slot)
                offer(id, slot, f.tensorAt(static_cast<int>(id), slot));
        }
    }
}

// Adds each module's bytes to its parent's, bottom-up (a child's id is above its parent's): own
// bytes become subtree bytes. Sums of multiples of 1/8 byte, exact in any order.
void sumIntoParents(const FlatTree &f, std::vector<double> &bytes)
{
    for (int id = f.size() - 1; id > ModuleTree::kRoot; --id)
        bytes[static_cast<std::size_t>(f.parent[static_cast<std::size_t>(id)])] += bytes[static_cast<std::size_t>(id)];
}

// The same enumeration with the tensors' records and names relative to `from`.
std::vector<NamedTensor> enumerateTensors(const ModuleTree &tree, int from, bool params, bool buffers)
{
    std::vector<NamedTensor> out;
    const std::string &base = tree.module(from).name;
    auto relative = [&](int id, const Tensor &t) {
        const std::string_view mn = tree.module(id).name;
        const std::string_view rel = base.empty() ? mn : (mn.size() > base.size() ? mn.substr(base.size() + 1) : std::string_view());
        if (rel.empty())
            return t.name;
        std::string name;
        name.reserve(rel.size() + 1 + t.name.size());
        name.append(rel).append(1, '.').append(t.name);
        return name;
    };
    forEachEnumerated(*tree.flat(), from, params, buffers, [&](int id, int slot, std::size_t) {
        const Tensor &t = tree.tensor({id, slot});
        out.push_back({relative(id, t), id, &t, slot});
    });
    return out;
}

// The bytes of a tensor of `count` elements stored as `own`, named `name`.
double tensorBytes(std::int64_t count, DType own, const std::string &name, std::optional<DType> dtype, const SpecialDtypes &special)
{
    const double numel = static_cast<double>(count);
    for (const auto &[n, d] : special)
        if (n == name)
            return numel * dtypeByteSize(d);
    if (!dtype || isIntegerOrBool(own))
        return numel * dtypeByteSize(own);
    return numel * std::min(dtypeByteSize(*dtype), dtypeByteSize(own));
}

double tensorBytes(const Tensor &t, const std::string &name, std::optional<DType> dtype, const SpecialDtypes &special)
{
    return tensorBytes(t.numel(), t.dtype, name, dtype, special);
}

} // namespace

// ---- dtype / sizes ------------------------------------------------------------------------------

double dtypeByteSize(DType dtype)
{
    return accelerateByteSize(dtype);
}

double dtypeByteSize(std::string_view name)
{
    std::string_view n = name;
    if (n.starts_with("torch."))
        n.remove_prefix(6);
    if (n == "bool")
        return 0.125;
    if (n == "custom_int2")
        return 0.25;
    if (n == "custom_int4")
        return 0.5;
    if (n == "custom_fp8" || n.starts_with("float8_"))
        return 1;
    std::size_t digits = 0;
    while (digits < n.size() && std::isdigit(static_cast<unsigned char>(n[n.size() - 1 - digits])))
        ++digits;
    if (digits == 0)
        invalid("`dtype` is not a valid dtype: " + std::string(name) + ".");
    std::int64_t bits = 0;
    const auto tail = n.substr(n.size() - digits);
    std::from_chars(tail.data(), tail.data() + tail.size(), bits);
    return static_cast<double>(bits / 8);
}

std::int64_t convertFileSizeToInt(std::int64_t size)
{
    if (size < 0)
        invalid(sizeError(std::to_string(size)));
    return size;
}

std::int64_t convertFileSizeToInt(std::string_view size)
{
    std::string upper(size);
    for (auto &c : upper)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    struct Unit { const char *suffix; double factor; bool decimal; };
    static constexpr Unit kUnits[] = {
        {"GIB", 1073741824.0, false}, {"MIB", 1048576.0, false}, {"KIB", 1024.0, false},
        {"GB", 1e9, true}, {"MB", 1e6, true}, {"KB", 1e3, true},
    };
    for (const auto &u : kUnits) {
        const std::string_view suffix = u.suffix;
        if (!upper.ends_with(suffix))
            continue;
        const auto value = pythonFloat(std::string_view(size).substr(0, size.size() - suffix.size()));
        if (!value || !std::isfinite(*value * u.factor))
            invalid(sizeError(size));
        double bytes = std::trunc(*value * u.factor);
        if (bytes >= 9.2e18 || bytes <= -9.2e18)
            invalid(sizeError(size));
        std::int64_t result = static_cast<std::int64_t>(bytes);
        if (u.decimal && !size.empty() && size.back() == 'b') {
            // Python's // floors toward negative infinity.
            result = result >= 0 ? result / 8 : -((-result + 7) / 8);
        }
        if (result < 0)
            invalid(sizeError(size));
        return result;
    }
    invalid(sizeError(size));
}

void SizeMap::writeNames() const
{
    const ModuleTree &tree = *m_nameSource;
    auto owner = [&](const KeyTarget &t) -> const std::string & { return tree.module(t.module).name; };
    std::size_t bytes = 0;
    for (const KeyTarget &t : m_entryTarget)
        bytes += owner(t).size() + (t.isTensor() ? 1 + tree.tensor(t).name.size() : 0);
    m_names.reserve(bytes);
    for (std::size_t i = 0; i < m_entries.size(); ++i) {
        const KeyTarget &t = m_entryTarget[i];
        const std::size_t start = t.isTensor() ? writeJoined(owner(t), tree.tensor(t).name) : writeJoined({}, owner(t));
        m_entries[i].offset = start;
        m_entries[i].length = m_names.size() - start;
    }
}

void SizeMap::ensureIndex() const
{
    if (m_paths)
        std::call_once(*m_indexOnce, [this] { buildIndex(); });
}

std::int64_t SizeMap::position(std::string_view name) const
{
    ensureIndex();
    return m_index.find(name, [this](std::int64_t i) { return this->name(static_cast<std::size_t>(i)); });
}

void SizeMap::buildIndex() const
{
    // Every key is new (ModuleTree::namesArePaths): entered in order, none twice.
    m_index.reserve(m_entries.size());
    for (std::size_t i = 0; i < m_entries.size(); ++i)
        m_index.appendHashed(std::hash<std::string_view>()(name(i)), [](std::int64_t) { return false; });
}

double SizeMap::operator[](std::string_view name) const
{
    const std::int64_t i = position(name);
    return i < 0 ? 0.0 : m_entries[static_cast<std::size_t>(i)].bytes;
}

double SizeMap::ofKey(std::string_view key, const KeyTarget &target) const
{
    if (byModule() && target.module >= 0 && !target.isTensor())
        return moduleBytes(target.module);
    if (!m_paths)
        return (*this)[key];
    if (target.module < 0)
        return 0;
    const std::int64_t p = m_tensorPosition[m_targets->of(target) - m_targets->modules()];
    return p < 0 ? 0.0 : m_entries[static_cast<std::size_t>(p)].bytes;
}

double SizeMap::ofName(const ModuleTree &tree, std::string_view name) const
{
    if (!m_paths)
        return (*this)[name];
    // Every key is a module's name or a tensor's full name, which resolveKey finds.
    const std::optional<KeyTarget> target = tree.resolveKey(name);
    return target ? ofKey(name, *target) : 0.0;
}

std::size_t SizeMap::enterTail(std::size_t start, double bytes)
{
    ensureIndex();
    const std::string_view key(m_names.data() + start, m_names.size() - start);
    const std::size_t hash = std::hash<std::string_view>()(key);
    auto matches = [&](std::int64_t i) { return name(static_cast<std::size_t>(i)) == key; };
    if (const std::int64_t i = m_index.findOrAppend(hash, matches); i >= 0) {
        m_entries[static_cast<std::size_t>(i)].bytes += bytes;
        m_names.resize(start);
        return static_cast<std::size_t>(i);
    }
    m_entries.push_back({start, key.size(), bytes});
    return m_entries.size() - 1;
}

std::size_t SizeMap::writeJoined(std::string_view prefix, std::string_view suffix) const
{
    const std::size_t start = m_names.size();
    if (!prefix.empty())
        m_names.append(prefix).append(1, '.');
    m_names.append(suffix);
    return start;
}

void SizeMap::add(std::string_view name, double bytes)
{
    addJoined({}, name, bytes);
}

void SizeMap::addJoined(std::string_view prefix, std::string_view suffix, double bytes)
{
    enterTail(writeJoined(prefix, suffix), bytes);
}

std::size_t SizeMap::append(std::string_view name, double bytes)
{
    ensureIndex();
    const std::size_t position = m_entries.size();
    m_entries.push_back({m_names.size(), name.size(), bytes});
    m_names.append(name);
    m_index.append(name, [this](std::int64_t i) { return this->name(static_cast<std::size_t>(i)); });
    return position;
}

SizeMap computeModuleSizes(const ModuleTree &tree, std::optional<DType> dtype, const SpecialDtypes &special,
                           bool buffersOnly, int from)
{
    SizeMap sizes;
    if (from == ModuleTree::kRoot) {
        // Module keys are the dotted prefixes of tensor names: walk the ancestor chain by id.
        std::vector<std::int64_t> position(static_cast<std::size_t>(tree.size()), -1);
        std::vector<double> own(static_cast<std::size_t>(tree.size()), 0.0);
        std::vector<int> chain;
        // The tensors' numbers are read from the flat layout; the records only for the names,
        // joined straight into the map's buffer (built apart only for special dtypes).
        const auto flat = tree.flat();
        const FlatTree &f = *flat;
        // With names that are paths, no key can repeat another: none is hashed here, the index is
        // built only if a look-up by name asks for it (plan() and validate() resolve by id), and
        // the names themselves are written only when first asked for (SizeMap::ensureNames).
        sizes.m_paths = tree.namesArePaths();
        const std::size_t keys = static_cast<std::size_t>(tree.size() + f.tensors());
        sizes.m_entries.reserve(keys);
        if (sizes.m_paths) {
            sizes.m_nameSource = &tree;
            sizes.m_entryTarget.reserve(keys);
        } else {
            // Room for every module's name and every tensor's full name.
            std::size_t nameBytes = 0;
            for (int id = 0; id < tree.size(); ++id) {
                const std::size_t name = f.nameSize[static_cast<std::size_t>(id)];
                nameBytes += name * (1 + static_cast<std::size_t>(f.tensorsOf(id)));
                for (auto k = f.tensorBegin[static_cast<std::size_t>(id)]; k < f.tensorBegin[static_cast<std::size_t>(id) + 1]; ++k)
                    nameBytes += (name > 0 ? 1 : 0) + f.localNameSize[static_cast<std::size_t>(k)];
            }
            sizes.m_names.reserve(nameBytes);
            sizes.m_index.reserve(keys);
        }
        // A key named later (m_paths): its entry and what it names.
        auto appendNamed = [&](const KeyTarget &target, double bytes) {
            sizes.m_entries.push_back({0, 0, bytes});
            sizes.m_entryTarget.push_back(target);
            return sizes.m_entries.size() - 1;
        };
        const TargetPositions &targets = sizes.m_targets.emplace(tree);
        sizes.m_tensorPosition.assign(targets.size() - targets.modules(), -1);
        std::string full;
        forEachEnumerated(f, ModuleTree::kRoot, !buffersOnly, true, [&](int id, int slot, std::size_t k) {
            if (!special.empty()) {
                const std::string &owner = tree.module(id).name;
                full.assign(owner);
                if (!owner.empty())
                    full.append(1, '.');
                full.append(tree.tensor({id, slot}).name);
            }
            const double bytes = tensorBytes(f.numel[k], f.dtype[k], full, dtype, special);
            own[static_cast<std::size_t>(id)] += bytes;
            // The owner's ancestors not entered yet (a module entered has its ancestors entered),
            // entered from the top; their bytes are summed below.
            chain.clear();
            for (int m = id; m >= 0 && position[static_cast<std::size_t>(m)] < 0; m = f.parent[static_cast<std::size_t>(m)])
                chain.push_back(m);
            for (auto it = chain.rbegin(); it != chain.rend(); ++it)
                position[static_cast<std::size_t>(*it)] =
                    static_cast<std::int64_t>(sizes.m_paths ? appendNamed({*it, -1}, 0) : sizes.append(tree.module(*it).name, 0));
            const std::size_t at = sizes.m_paths ? appendNamed({id, slot}, bytes)
                                                 : sizes.enterTail(sizes.writeJoined(tree.module(id).name, tree.tensor({id, slot}).name), bytes);
            sizes.m_tensorPosition[targets.of({id, slot}) - targets.modules()] = static_cast<std::int64_t>(at);
        });
        // Each module's bytes: its own tensors' and its children's.
        sumIntoParents(f, own);
        for (int id = 0; id < tree.size(); ++id)
            if (const std::int64_t p = position[static_cast<std::size_t>(id)]; p >= 0)
                sizes.addAt(static_cast<std::size_t>(p), own[static_cast<std::size_t>(id)]);
        sizes.setModulePositions(std::move(position));
        return sizes;
    }
    for (const auto &nt : enumerateTensors(tree, from, !buffersOnly, true)) {
        const double bytes = tensorBytes(*nt.tensor, nt.name, dtype, special);
        sizes.add(std::string(), bytes);
        std::size_t pos = 0;
        while ((pos = nt.name.find('.', pos)) != std::string::npos) {
            sizes.add(nt.name.substr(0, pos), bytes);
            ++pos;
        }
        sizes.add(nt.name, bytes);
    }
    return sizes;
}

TreeBytes computeTreeBytes(const ModuleTree &tree, std::optional<DType> dtype)
{
    TreeBytes out;
    out.flat = tree.flat();
    const FlatTree &f = *out.flat;
    static const std::string noName;
    if (f.idsInPreorder && f.tiedTensors == 0) {
        // One pass over the elements counts and dtypes: bytes per element by dtype, then running sums.
        std::array<double, kDTypeCount> perElement{};
        for (std::size_t d = 0; d < kDTypeCount; ++d)
            perElement[d] = tensorBytes(1, static_cast<DType>(d), noName, dtype, {});
        const auto count = static_cast<std::size_t>(f.tensors());
        out.before.resize(count + 1);
        double *before = out.before.data();
        const std::int64_t *numel = f.numel.data();
        const DType *dtypes = f.dtype.data();
        double total = 0;
        before[0] = total;
        for (std::size_t k = 0; k < count; ++k)
            before[k + 1] = total += static_cast<double>(numel[k]) * perElement[static_cast<std::size_t>(dtypes[k])];
        if (total < 0x1p50)
            return out;
        out.before = {};
    }
    out.tensor.assign(static_cast<std::size_t>(f.tensors()), 0.0);
    out.module.assign(static_cast<std::size_t>(f.size()), 0.0);
    forEachEnumerated(f, ModuleTree::kRoot, true, true, [&](int id, int, std::size_t k) {
        const double bytes = tensorBytes(f.numel[k], f.dtype[k], noName, dtype, {});
        out.tensor[k] = bytes;
        out.module[static_cast<std::size_t>(id)] += bytes;
    });
    sumIntoParents(f, out.module);
    return out;
}

double TreeBytes::ofModule(int id) const
{
    if (before.empty())
        return module[static_cast<std::size_t>(id)];
    const auto i = static_cast<std::size_t>(id);
    return before[static_cast<std::size_t>(flat->tensorBegin[static_cast<std::size_t>(flat->end[i])])] -
           before[static_cast<std::size_t>(flat->tensorBegin[i])];
}

double TreeBytes::ofTensor(std::size_t index) const
{
    return before.empty() ? tensor[index] : before[index + 1] - before[index];
}

double computeModuleTotalBufferSize(const ModuleTree &tree, int from, std::optional<DType> dtype,
                                    const SpecialDtypes &special)
{
    double total = 0;
    for (const auto &nt : enumerateTensors(tree, from, false, true))
        total += tensorBytes(*nt.tensor, nt.name, dtype, special);
    return total;
}

std::vector<std::vector<std::string>> findTiedParameters(const ModuleTree &tree)
{
    // tie id -> names in enumeration order (the first is the kept one)
    std::vector<std::pair<int, std::vector<std::string>>> groups;
    const auto flat = tree.flat();
    const FlatTree &f = *flat;
    if (f.tiedTensors == 0)
        return {};
    std::unordered_map<int, std::size_t> index;
    for (const int id : f.order) {
        for (int slot = 0; slot < f.paramCount[static_cast<std::size_t>(id)]; ++slot) {
            const int tie = f.tie[f.tensorAt(id, slot)];
            if (tie < 0)
                continue;
            auto [it, inserted] = index.emplace(tie, groups.size());
            if (inserted)
                groups.push_back({tie, {}});
            auto &names = groups[it->second].second;
            const std::string name = tree.tensorName(id, tree.tensor({id, slot}));
            if (std::find(names.begin(), names.end(), name) == names.end())
                names.push_back(name);
        }
    }
    std::vector<std::vector<std::string>> out;
    for (auto &[tie, names] : groups) {
        if (names.size() < 2)
            continue;
        std::sort(names.begin(), names.end());
        out.push_back(std::move(names));
    }
    std::sort(out.begin(), out.end());
    return out;
}

// ---- budgets ------------------------------------------------------------------------------------

Memory toMemory(const MaxMemory &memory)
{
    Memory out;
    for (const auto &[d, b] : memory)
        out.emplace_back(d, static_cast<double>(b));
    return out;
}

MaxMemory toMaxMemory(const Memory &memory)
{
    MaxMemory out;
    for (const auto &[d, b] : memory)
        out.emplace_back(d, static_cast<std::int64_t>(b));
    return out;
}

Memory getMaxMemory(const Memory &memory)
{
    Memory out;
    for (const auto &[d, b] : memory) {
        auto it = std::find_if(out.begin(), out.end(), [&](const auto &p) { return p.first == d; });
        if (it != out.end())
            it->second = b;
        else
            out.emplace_back(d, b);
    }
    std::stable_sort(out.begin(), out.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
    return out;
}

Memory readMaxMemoryJson(const nlohmann::json &json, MaxMemoryRules rules)
{
    const bool accelerate = rules == MaxMemoryRules::Accelerate;
    Memory raw;
    auto addPair = [&](const nlohmann::json &key, const nlohmann::json &value, bool keyFromObject) {
        Device device;
        if (!accelerate) {
            device = Device::fromJson(key);
        } else if (key.is_number_integer()) {
            device = Device::gpu(key.get<int>());
        } else if (key.is_string()) {
            const std::string k = key.get<std::string>();
            if (k == "cpu")
                device = Device::cpu();
            else if (k == "disk")
                device = Device::disk();
            else if (k == "mps")
                device = Device::mps();
            else if (keyFromObject && !k.empty() && std::all_of(k.begin(), k.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
                device = Device::gpu(std::stoi(k));
            else
                invalid("Device " + k + " is not recognized, available devices are integers(for GPU/XPU), 'mps', 'cpu' and 'disk'");
        } else {
            invalid("Device " + key.dump() + " is not recognized, available devices are integers(for GPU/XPU), 'mps', 'cpu' and 'disk'");
        }
        double bytes = 0;
        if (value.is_string())
            bytes = static_cast<double>(convertFileSizeToInt(value.get<std::string>()));
        else if (value.is_number_integer())
            bytes = accelerate ? value.get<double>() : static_cast<double>(convertFileSizeToInt(value.get<std::int64_t>()));
        else if (value.is_number() && accelerate)
            bytes = value.get<double>();
        else
            invalid("max_memory value for " + device.toString() + " must be " + (accelerate ? "a number" : "an integer (bytes)") +
                    " or a size string, got " + value.dump());
        if (!accelerate && std::any_of(raw.begin(), raw.end(), [&](const auto &p) { return p.first == device; }))
            invalid("device " + device.toString() + " is listed twice in the max memory");
        raw.emplace_back(device, bytes);
    };
    if (json.is_object()) {
        for (auto it = json.begin(); it != json.end(); ++it)
            addPair(nlohmann::json(it.key()), it.value(), true);
    } else if (json.is_array()) {
        for (const auto &pair : json) {
            if (!pair.is_array() || pair.size() != 2)
                invalid("max_memory pairs must be [device, size]");
            addPair(pair[0], pair[1], false);
        }
    } else {
        invalid("max_memory must be an object or a list of [device, size] pairs");
    }
    return accelerate ? getMaxMemory(raw) : raw;
}

Memory maxMemoryFromAccelerateJson(const nlohmann::json &json)
{
    return readMaxMemoryJson(json, MaxMemoryRules::Accelerate);
}

namespace {

// Class name of the object a size-map key names (tensors: "Parameter" / "Tensor").
std::string classOfTarget(const ModuleTree &tree, const std::optional<KeyTarget> &target)
{
    if (target && !target->isTensor())
        return tree.module(target->module).className;
    return target && tree.tensor(*target).buffer ? "Tensor" : "Parameter";
}

} // namespace

Memory getBalancedMemory(const ModuleTree &tree, const Memory &maxMemoryIn, const std::vector<std::string> &noSplitClasses,
                         std::optional<DType> dtype, const SpecialDtypes &special, bool lowZero, const SizeMap *precomputed)
{
    Memory maxMemory = getMaxMemory(maxMemoryIn);
    auto value = [&](const Device &d) -> double & {
        for (auto &[k, v] : maxMemory)
            if (k == d)
                return v;
        maxMemory.emplace_back(d, 0.0); // Python would raise KeyError; read as 0
        return maxMemory.back().second;
    };
    int numDevices = 0;
    for (const auto &[d, v] : maxMemory)
        if (d.isGpu() && v > 0)
            ++numDevices;
    if (numDevices == 0)
        return maxMemory;
    if (numDevices == 1)
        lowZero = false;
    SizeMap computed;
    if (!precomputed)
        computed = computeModuleSizes(tree, dtype, special);
    const SizeMap &sizes = precomputed ? *precomputed : computed;
    const double total = sizes.ofName(tree, "");
    double perGpu = std::floor(total / (lowZero ? numDevices - 1 : numDevices));

    double buffer = 0;
    if (!noSplitClasses.empty()) {
        std::vector<std::pair<std::string, double>> found;
        const std::unordered_set<std::string> wanted(noSplitClasses.begin(), noSplitClasses.end());
        for (std::size_t i = 0; i < sizes.size(); ++i) {
            // The key's target where the map knows it (then only the root's name is empty), else
            // resolved from its name.
            const KeyTarget *named = sizes.target(i);
            if (named ? named->module == ModuleTree::kRoot && !named->isTensor() : sizes.name(i).empty())
                continue;
            const double size = sizes.bytes(i);
            const std::string cls = classOfTarget(tree, named ? std::optional<KeyTarget>(*named) : tree.resolveKey(sizes.name(i)));
            const bool listed = wanted.count(cls) != 0;
            const bool known = std::any_of(found.begin(), found.end(), [&](const auto &p) { return p.first == cls; });
            if (listed && !known)
                found.emplace_back(cls, size);
            if (found.size() == wanted.size())
                break;
        }
        for (const auto &[cls, size] : found)
            buffer = std::max(buffer, size);
    }
    // mean_leaves. First pass: the leaves of the size map are its tensor keys (every module key
    // has a tensor or a module key below it). Second pass: the module keys without a module key
    // below them. Computed on the tree instead of splitting names (same keys, same sums).
    double leafSum = 0;
    std::size_t leafCount = 0;
    const bool byModule = sizes.byModule();
    auto contains = [&](int id) { return byModule ? sizes.containsModule(id) : sizes.contains(tree.module(id).name); };
    const auto flat = tree.flat();
    for (int id = 1; id < tree.size(); ++id) {
        if (!contains(id))
            continue;
        const int *children = flat->childrenOf(id);
        const bool parent = std::any_of(children, children + flat->childCount(id), contains);
        if (!parent) {
            leafSum += byModule ? sizes.moduleBytes(id) : sizes[tree.module(id).name];
            ++leafCount;
        }
    }
    const double meanLeaves = std::trunc(leafSum / static_cast<double>(std::max<std::size_t>(leafCount, 1)));
    buffer = std::trunc(1.25 * std::max(buffer, meanLeaves));
    perGpu += buffer;

    std::vector<int> gpus;
    for (const auto &[d, v] : maxMemory)
        if (d.isGpu() && v > 0)
            gpus.push_back(d.index);
    std::sort(gpus.begin(), gpus.end());
    for (std::size_t i = 0; i + 1 < gpus.size(); ++i) {
        const int idx = gpus[i];
        const double cap = (lowZero && idx == 0) ? value(Device::gpu(0)) : perGpu;
        value(Device::gpu(idx)) = std::min(cap, value(Device::gpu(idx)));
    }
    if (lowZero) {
        double rest = 0;
        for (int i = 1; i < numDevices; ++i)
            rest += value(Device::gpu(i));
        const double minZero = std::max(0.0, total - rest);
        value(Device::gpu(0)) = std::min(minZero, value(Device::gpu(0)));
    }
    return getMaxMemory(maxMemory);
}

// ---- clean / check ------------------------------------------------------------------------------

std::vector<std::pair<std::string, Device>> cleanDeviceMap(std::vector<std::pair<std::string, Device>> map)
{
    std::vector<bool> alive(map.size(), true);
    // Recursive worker on the indices of the keys under `moduleName`.
    auto clean = [&](auto &&self, const std::string &moduleName, std::vector<std::size_t> keys) -> void {
        if (keys.size() > 1) {
            const Device first = map[keys.front()].second;
            bool same = true;
            for (auto k : keys)
                same = same && map[k].second == first;
            if (same) {
                const auto pos = *std::min_element(keys.begin(), keys.end());
                for (auto k : keys)
                    alive[k] = false;
                map[pos] = {moduleName, first};
                alive[pos] = true;
                return; // nothing longer than moduleName is left under it
            }
        }
        // Children one level below moduleName (keys longer than it).
        std::vector<std::string> order;
        std::unordered_map<std::string, std::vector<std::size_t>> groups;
        const std::size_t depth = moduleName.empty() ? 1 : static_cast<std::size_t>(std::count(moduleName.begin(), moduleName.end(), '.')) + 2;
        for (auto k : keys) {
            const std::string &key = map[k].first;
            if (key.size() <= moduleName.size())
                continue;
            std::size_t pos = std::string::npos, start = 0;
            for (std::size_t part = 0; part < depth; ++part) {
                pos = key.find('.', start);
                if (pos == std::string::npos)
                    break;
                start = pos + 1;
            }
            // A key one level below moduleName is a child itself, never in a group (its group holds
            // what lies below it): nothing to record (a million top-level keys cost no table).
            if (pos == std::string::npos)
                continue;
            std::string child = key.substr(0, pos);
            auto it = groups.find(child);
            if (it == groups.end()) {
                order.push_back(child);
                it = groups.emplace(std::move(child), std::vector<std::size_t>{}).first;
            }
            // The child's group holds the keys below it (child + "."), not the child key itself.
            if (key.size() > it->first.size())
                it->second.push_back(k);
        }
        for (const auto &child : order)
            self(self, child, std::move(groups[child]));
    };
    std::vector<std::size_t> all(map.size());
    for (std::size_t i = 0; i < map.size(); ++i)
        all[i] = i;
    clean(clean, std::string(), std::move(all));
    std::vector<std::pair<std::string, Device>> out;
    for (std::size_t i = 0; i < map.size(); ++i)
        if (alive[i])
            out.push_back(std::move(map[i]));
    return out;
}

std::string checkDeviceMap(const ModuleTree &tree, const std::vector<std::pair<std::string, Device>> &map)
{
    std::string warning;
    std::vector<std::string> unknown;
    bool root = false;
    for (const auto &[key, device] : map) {
        if (key.empty()) {
            root = true;
            continue;
        }
        if (tree.find(key) < 0)
            unknown.push_back(key);
    }
    if (!unknown.empty()) {
        warning = "The following device_map keys do not match any submodules in the model: [";
        for (std::size_t i = 0; i < unknown.size(); ++i)
            warning += (i ? ", '" : "'") + unknown[i] + "'";
        warning += "]";
    }
    if (root)
        return warning;
    // state_dict order: each module's own params, own persistent buffers, then its children.
    std::vector<std::string> missing;
    NameMap<std::string_view, bool> keys; // views of `map`'s keys
    keys.reserve(map.size());
    for (const auto &[key, device] : map)
        keys.emplace(key, true);
    auto covered = [&](const std::string &name) {
        if (keys.contains(name))
            return true;
        for (std::size_t pos = name.find('.'); pos != std::string::npos; pos = name.find('.', pos + 1))
            if (keys.contains(std::string_view(name).substr(0, pos)))
                return true;
        return false;
    };
    for (int id : tree.preorder()) {
        const Module &m = tree.module(id);
        for (const auto &t : m.params)
            if (auto n = tree.tensorName(id, t); !covered(n))
                missing.push_back(n);
        for (const auto &t : m.buffers)
            if (auto n = tree.tensorName(id, t); t.persistent && !covered(n))
                missing.push_back(n);
    }
    if (!missing.empty()) {
        std::string msg = "The device_map provided does not give any device for the following parameters: ";
        for (std::size_t i = 0; i < missing.size(); ++i)
            msg += (i ? ", " : "") + missing[i];
        throw Error(ErrorKind::InvalidDeviceMap, {}, msg);
    }
    return warning;
}

// ---- infer_auto_device_map ----------------------------------------------------------------------

namespace {

struct Entry {
    std::string name;
    int module = -1;      // the module, or the owner of the tensor
    int tensor = -1;      // index into the owner's params/buffers; -1 for a module entry
    bool buffer = false;
    double size = 0;
    bool rest = false;    // a no-split module without its parts placed by the caller (InferConstraints::mustSplit)
    bool isModule() const { return tensor < 0; }
};

class Inferrer {
public:
    Inferrer(const ModuleTree &tree, const InferOptions &options, const std::function<void(const InferEvent &)> &observer,
             const InferConstraints *constraints)
        : m_tree(tree), m_flat(tree.flat()), m_opt(options), m_observer(observer), m_constraints(constraints)
        , m_sizes(options.sizes ? *options.sizes : (m_computedSizes = computeModuleSizes(tree, options.dtype, options.specialDtypes)))
    {
        m_moduleBytes.assign(static_cast<std::size_t>(tree.size()), 0.0);
        for (int id = 0; id < tree.size(); ++id)
            m_moduleBytes[static_cast<std::size_t>(id)] = m_sizes.byModule() ? m_sizes.moduleBytes(id) : m_sizes[tree.module(id).name];
        m_tied = options.tiedGroups ? *options.tiedGroups : findTiedParameters(tree);
        m_noSplitClass = m_flat->classesIn(options.noSplitClasses);
    }

    InferResult run();

private:
    Entry moduleEntry(int id, std::string name) const
    {
        Entry e;
        e.module = id;
        e.size = m_moduleBytes[static_cast<std::size_t>(id)];
        e.name = std::move(name);
        return e;
    }
    Entry tensorEntry(int owner, int index, bool buffer, std::string name) const
    {
        Entry e;
        e.module = owner;
        e.tensor = index;
        e.buffer = buffer;
        const int slot = buffer ? m_flat->paramCount[static_cast<std::size_t>(owner)] + index : index;
        e.size = m_sizes.ofKey(name, KeyTarget{owner, slot});
        e.name = std::move(name);
        return e;
    }
    bool noSplit(const Entry &e) const
    {
        return e.isModule() && noSplitModule(e.module);
    }
    bool noSplitModule(int id) const { return m_noSplitClass[static_cast<std::size_t>(m_flat->classId[static_cast<std::size_t>(id)])] != 0; }
    bool hasChildren(const Entry &e) const { return e.isModule() && m_flat->childCount(e.module) > 0; }
    bool splittable(const Entry &e) const { return hasChildren(e) && !noSplit(e); }
    // Own direct params (deduplicated within the module), then children, with full names.
    std::vector<Entry> childrenOf(const Entry &e, bool withBuffers = false) const
    {
        std::vector<Entry> out;
        const Module &m = m_tree.module(e.module);
        const std::string prefix = e.name.empty() ? std::string() : e.name + ".";
        std::unordered_set<int> seen;
        for (std::size_t i = 0; i < m.params.size(); ++i) {
            if (m.params[i].tie >= 0 && !seen.insert(m.params[i].tie).second)
                continue;
            out.push_back(tensorEntry(e.module, static_cast<int>(i), false, prefix + m.params[i].name));
        }
        for (int c : m.children)
            out.push_back(moduleEntry(c, prefix + m_tree.module(c).localName));
        if (withBuffers)
            for (std::size_t i = 0; i < m.buffers.size(); ++i)
                out.push_back(tensorEntry(e.module, static_cast<int>(i), true, prefix + m.buffers[i].name));
        if (m_constraints && m_constraints->skip)
            std::erase_if(out, [&](const Entry &x) { return m_constraints->skip(x.name); });
        return out;
    }
    // compute_module_total_buffer_size(module). Without special dtypes and tied buffers it is the
    // plain sum of the subtree's buffers: precomputed bottom-up once.
    double bufferBytes(int module)
    {
        if (!m_opt.specialDtypes.empty())
            return computeModuleTotalBufferSize(m_tree, module, m_opt.dtype, m_opt.specialDtypes);
        if (m_subtreeBuffers.empty()) {
            // Children have larger ids than their parent: summed from the last id up.
            const FlatTree &f = *m_flat;
            m_subtreeBuffers.assign(static_cast<std::size_t>(m_tree.size()), 0.0);
            static const std::string noName;
            for (int id = m_tree.size() - 1; id >= 0; --id) {
                const auto i = static_cast<std::size_t>(id);
                double sum = m_subtreeBuffers[i];
                for (int slot = f.paramCount[i]; slot < f.tensorsOf(id); ++slot) {
                    const std::size_t k = f.tensorAt(id, slot);
                    if (f.tie[k] >= 0)
                        m_tiedBuffers = true;
                    sum += tensorBytes(f.numel[k], f.dtype[k], noName, m_opt.dtype, m_opt.specialDtypes);
                }
                m_subtreeBuffers[i] = sum;
                if (id > 0)
                    m_subtreeBuffers[static_cast<std::size_t>(f.parent[i])] += sum;
            }
        }
        if (m_tiedBuffers)
            return computeModuleTotalBufferSize(m_tree, module, m_opt.dtype, m_opt.specialDtypes);
        return m_subtreeBuffers[static_cast<std::size_t>(module)];
    }
    std::vector<double> m_subtreeBuffers;
    bool m_tiedBuffers = false;

    bool skipped(const Entry &e) const { return m_constraints && m_constraints->skip && m_constraints->skip(e.name); }
    bool mustSplit(const std::string &name) const { return m_constraints && m_constraints->mustSplit && m_constraints->mustSplit(name); }

    // A no-split module holding parts the caller placed (policies) stays one unit: its rest, the
    // module less those parts. Calls `f` with the name and size of every outermost entry of the rest.
    template<typename F>
    void forEachRestPart(const Entry &e, F &&f) const
    {
        for (auto &c : childrenOf(e, true)) {
            if (c.isModule() && mustSplit(c.name))
                forEachRestPart(c, f);
            else
                f(c);
        }
    }
    Entry restOf(Entry e) const
    {
        double size = 0;
        forEachRestPart(e, [&](const Entry &part) { size += part.size; });
        e.size = size;
        e.rest = true;
        return e;
    }

    // ---- get_max_layer_size(modules_to_treat), as infer_auto_device_map keeps its result ----
    // Accelerate recomputes the largest layer over the whole work list whenever the layers it
    // found last are all placed (and after every split): quadratic when done literally. Here the
    // work list is snapshotted at each full computation (after a split), with, from every
    // position on, the largest layer of its module entries; until the next split the list only
    // loses entries at its front (an entry that moves to the next device goes back where it was),
    // so each later recomputation is a look-up at the current position. Tied entries taken out of
    // the middle of the list and fallback_allocation's reordering drop the snapshot (rare).
    // The layer set itself is kept by module id (names are unique module names).

    // Is the entry a "layer" of get_max_layer_size (no children, or of a no-split class)?
    bool layerLeaf(int id) const
    {
        return m_flat->childCount(id) == 0 || noSplitModule(id);
    }
    // The largest layer at or below every module (children have larger ids than their parent).
    void computeLeafMax()
    {
        m_leafMax.assign(static_cast<std::size_t>(m_tree.size()), 0.0);
        for (int id = m_tree.size() - 1; id >= 0; --id) {
            const auto i = static_cast<std::size_t>(id);
            if (layerLeaf(id)) {
                m_leafMax[i] = m_moduleBytes[i];
                continue;
            }
            double best = -std::numeric_limits<double>::infinity();
            const int *children = m_flat->childrenOf(id);
            for (int k = 0; k < m_flat->childCount(id); ++k)
                best = std::max(best, m_leafMax[static_cast<std::size_t>(children[k])]);
            m_leafMax[i] = best;
        }
    }
    static std::int64_t tensorLayerKey(const Entry &e)
    {
        return -1 - ((static_cast<std::int64_t>(e.module) << 32) | (static_cast<std::int64_t>(e.tensor) << 1) | (e.buffer ? 1 : 0));
    }
    bool layersEmpty() const { return m_layerCount == 0 && m_layerTensors.empty(); }
    void resetLayers(double size)
    {
        for (int id : m_layerModules)
            m_isLayer[static_cast<std::size_t>(id)] = 0;
        m_layerModules.clear();
        m_layerCount = 0;
        m_layerTensors.clear();
        m_layerSize = size;
    }
    void addLayer(int id)
    {
        auto &flag = m_isLayer[static_cast<std::size_t>(id)];
        if (flag)
            return;
        flag = 1;
        m_layerModules.push_back(id);
        ++m_layerCount;
    }
    void dropLayer(int id)
    {
        auto &flag = m_isLayer[static_cast<std::size_t>(id)];
        if (flag) {
            flag = 0;
            --m_layerCount;
        }
    }
    // The layers of size `best` at or below module `id`.
    void collectLayers(int id, double best)
    {
        m_stack.assign(1, id);
        while (!m_stack.empty()) {
            const int m = m_stack.back();
            m_stack.pop_back();
            const auto i = static_cast<std::size_t>(m);
            if (layerLeaf(m)) {
                if (m_moduleBytes[i] == best)
                    addLayer(m);
                continue;
            }
            const int *children = m_flat->childrenOf(m);
            for (int k = 0; k < m_flat->childCount(m); ++k)
                if (m_leafMax[static_cast<std::size_t>(children[k])] >= best)
                    m_stack.push_back(children[k]);
        }
    }
    // Takes the snapshot of `work`.
    void snapshot(const std::deque<Entry> &work)
    {
        const std::size_t k = work.size();
        m_snapModule.assign(k, -1);
        m_snapMax.assign(k + 1, -std::numeric_limits<double>::infinity());
        m_snapFirst.assign(k + 1, -1);
        m_snapNext.assign(k, -1);
        for (std::size_t j = 0; j < k; ++j)
            if (work[j].isModule() && !skipped(work[j]))
                m_snapModule[j] = work[j].module;
        std::unordered_map<double, int> later; // value -> nearest later position with it
        for (std::size_t j = k; j-- > 0;) {
            m_snapMax[j] = m_snapMax[j + 1];
            m_snapFirst[j] = m_snapFirst[j + 1];
            if (m_snapModule[j] < 0)
                continue;
            const double v = m_leafMax[static_cast<std::size_t>(m_snapModule[j])];
            auto [it, fresh] = later.emplace(v, static_cast<int>(j));
            if (!fresh) {
                m_snapNext[j] = it->second;
                it->second = static_cast<int>(j);
            }
            if (v >= m_snapMax[j]) {
                m_snapMax[j] = v;
                m_snapFirst[j] = static_cast<int>(j);
            }
        }
        m_snapPos = 0;
        m_snapValid = true;
    }
    // get_max_layer_size over the module entries of the work list (the snapshot from m_snapPos).
    void layersFromSnapshot()
    {
        const double top = m_snapMax[m_snapPos];
        resetLayers(std::max(0.0, top));
        if (top < 0)
            return; // no module entry: size 0, no names
        for (int p = m_snapFirst[m_snapPos]; p >= 0; p = m_snapNext[static_cast<std::size_t>(p)])
            collectLayers(m_snapModule[static_cast<std::size_t>(p)], m_layerSize);
    }
    // get_max_layer_size(work) after a split: a fresh snapshot.
    void layersAfterSplit(const std::deque<Entry> &work)
    {
        snapshot(work);
        layersFromSnapshot();
    }
    // The first computation, on the root's entries: its own tensors count as layers too.
    void firstLayers(const std::deque<Entry> &work)
    {
        computeLeafMax();
        m_isLayer.assign(static_cast<std::size_t>(m_tree.size()), 0);
        layersAfterSplit(work);
        double top = -1;
        for (const auto &e : work)
            if (!e.isModule() && !skipped(e))
                top = std::max(top, e.size);
        if (top < 0 || top < m_layerSize)
            return;
        if (top > m_layerSize)
            resetLayers(top);
        for (const auto &e : work)
            if (!e.isModule() && !skipped(e) && e.size == top)
                m_layerTensors.insert(tensorLayerKey(e));
    }
    // An entry taken off the work list leaves the layer set (with every layer below it when it
    // can be split: they exist only when the layer walk expanded it).
    void takeLayer(const Entry &e)
    {
        if (!e.isModule()) {
            m_layerTensors.erase(tensorLayerKey(e));
            return;
        }
        if (!splittable(e)) {
            dropLayer(e.module);
            return;
        }
        if (m_layerCount == 0)
            return;
        const FlatTree &f = *m_flat;
        const auto id = static_cast<std::size_t>(e.module);
        for (int p = f.position[id]; p < f.end[id]; ++p)
            dropLayer(f.order[static_cast<std::size_t>(p)]);
    }

    std::vector<double> m_leafMax;
    double m_layerSize = 0;
    std::vector<char> m_isLayer;         // by module id
    std::vector<int> m_layerModules;     // flagged since the last reset (some cleared since)
    std::size_t m_layerCount = 0;        // modules flagged
    std::unordered_set<std::int64_t> m_layerTensors; // the root's tensors (first computation only)
    std::vector<int> m_stack;
    std::vector<int> m_snapModule;       // module id of each snapshot entry (-1: tensor or skipped)
    std::vector<double> m_snapMax;       // largest layer from each position on (-inf: none)
    std::vector<int> m_snapFirst;        // first position from each on with that largest layer
    std::vector<int> m_snapNext;         // next position with the same largest layer
    std::size_t m_snapPos = 0;           // the work list is the snapshot from here on
    bool m_snapValid = false;

    // tied params outside `name` (in group order)
    std::vector<std::string> tiedParamsOutside(const std::string &name) const
    {
        std::vector<std::string> out;
        for (const auto &group : m_tied) {
            bool any = false, all = true;
            for (const auto &k : group) {
                const bool in = tiedInside(name, k);
                any = any || in;
                all = all && in;
            }
            if (!any || all)
                continue;
            for (const auto &p : group)
                if (!tiedInside(name, p))
                    out.push_back(p);
        }
        return out;
    }

    struct WithTies {
        double size = 0;
        std::vector<std::string> names;
        std::vector<Entry> entries;
    };
    template<typename Container>
    WithTies sizeWithTies(const std::vector<std::string> &tiedParams, double moduleSize, const Container &list) const
    {
        WithTies w;
        w.size = moduleSize;
        for (const auto &p : tiedParams) {
            auto it = std::find_if(list.begin(), list.end(), [&](const Entry &e) { return p.starts_with(e.name + "."); });
            if (it == list.end())
                continue; // Accelerate would raise IndexError: the tied module was placed already
            w.names.push_back(it->name);
            w.entries.push_back(*it);
            w.size += it->size - m_sizes.ofName(m_tree, p);
        }
        return w;
    }

    std::optional<std::pair<Entry, std::deque<Entry>>> fallbackAllocate(const std::deque<Entry> &modules, double limit) const;

    void emit(InferEvent::Kind kind, const Entry &entry, const Device &device, double size, double used, double limit,
              double reserved, std::vector<std::string> tied = {}) const
    {
        if (!m_observer)
            return;
        InferEvent ev{kind, entry.name, device, size, used, limit, reserved, std::move(tied), targetOf(entry)};
        m_observer(ev);
    }
    KeyTarget targetOf(const Entry &entry) const
    {
        if (entry.isModule())
            return {entry.module, -1};
        const int params = m_flat->paramCount[static_cast<std::size_t>(entry.module)];
        return {entry.module, entry.buffer ? params + entry.tensor : entry.tensor};
    }

    const ModuleTree &m_tree;
    const std::shared_ptr<const FlatTree> m_flat;
    const InferOptions &m_opt;
    const std::function<void(const InferEvent &)> &m_observer;
    const InferConstraints *m_constraints;
    SizeMap m_computedSizes;
    const SizeMap &m_sizes;
    std::vector<double> m_moduleBytes;
    std::vector<std::vector<std::string>> m_tied;
    std::vector<char> m_noSplitClass; // by class id (FlatTree::classId)
};

std::optional<std::pair<Entry, std::deque<Entry>>> Inferrer::fallbackAllocate(const std::deque<Entry> &modulesIn, double limit) const
{
    if (limit < 0 || std::floor(limit) != limit)
        return std::nullopt; // convert_file_size_to_int refuses it
    std::deque<Entry> search = modulesIn;
    std::optional<Entry> found;
    while (!search.empty()) {
        Entry e = std::move(search.front());
        search.pop_front();
        const auto tied = tiedParamsOutside(e.name);
        const auto w = sizeWithTies(tied, e.size, search);
        if (w.size <= limit) {
            found = std::move(e);
            break;
        }
        if (!splittable(e))
            continue;
        auto children = childrenOf(e);
        search.insert(search.begin(), children.begin(), children.end());
    }
    if (!found)
        return std::nullopt;
    std::deque<Entry> modules = modulesIn;
    const std::string &name = found->name;
    for (std::size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', dot + 1)) {
        const std::string parent = name.substr(0, dot);
        auto it = std::find_if(modules.begin(), modules.end(), [&](const Entry &e) { return e.name == parent; });
        if (it == modules.end())
            continue;
        const Entry p = *it;
        auto children = childrenOf(p);
        const auto pos = it - modules.begin();
        modules.erase(it);
        modules.insert(modules.begin() + pos, children.begin(), children.end());
    }
    auto it = std::find_if(modules.begin(), modules.end(), [&](const Entry &e) { return e.name == name; });
    if (it == modules.end())
        return std::nullopt;
    Entry target = *it;
    modules.erase(it);
    return std::make_pair(std::move(target), std::move(modules));
}

InferResult Inferrer::run()
{
    InferResult result;
    const Memory maxMemory = getMaxMemory(m_opt.maxMemory);
    std::vector<Device> devices;
    for (const auto &[d, v] : maxMemory)
        devices.push_back(d);
    if (std::find(devices.begin(), devices.end(), Device::disk()) == devices.end())
        devices.push_back(Device::disk());
    std::vector<Device> gpus;
    for (const auto &d : devices)
        if (!d.isOffload())
            gpus.push_back(d);
    std::vector<Device> mainDevices;
    if (std::find(gpus.begin(), gpus.end(), Device::mps()) != gpus.end())
        mainDevices = {Device::mps()};
    else if (!gpus.empty())
        mainDevices = {gpus.front(), Device::cpu()};
    else
        mainDevices = {Device::cpu()};
    auto budget = [&](const Device &d) {
        for (const auto &[k, v] : maxMemory)
            if (k == d)
                return v;
        return 0.0;
    };

    // Work list: root's own params, its children, its own buffers.
    std::deque<Entry> work;
    {
        Entry rootEntry = moduleEntry(ModuleTree::kRoot, std::string());
        for (auto &e : childrenOf(rootEntry, true))
            work.push_back(std::move(e));
    }

    // Accelerate's device_map dict: a key assigned again keeps its place and takes the new device.
    std::vector<std::pair<std::string, Device>> deviceMap;
    KeyPositions mapKeys(m_tree); // -> index into deviceMap
    auto assign = [&](const std::string &name, const Device &d, const KeyTarget &target) {
        if (const auto [p, fresh] = mapKeys.enter(target, name, static_cast<std::int64_t>(deviceMap.size())); !fresh)
            deviceMap[static_cast<std::size_t>(p)].second = d;
        else
            deviceMap.emplace_back(name, d);
    };
    // A tied module's name (few): what it names.
    auto assignName = [&](const std::string &name, const Device &d) {
        assign(name, d, m_tree.resolveKey(name).value_or(KeyTarget{}));
    };
    // The map keys of an entry: its name, or for the rest of a no-split module its parts.
    auto assignEntry = [&](const Entry &e, const Device &d) {
        if (!e.rest)
            assign(e.name, d, targetOf(e));
        else
            forEachRestPart(e, [&](const Entry &part) { assign(part.name, d, targetOf(part)); });
    };
    std::vector<double> used(devices.size(), 0.0);
    std::vector<std::pair<Device, double>> bufferSizes;
    auto addBuffer = [&](const Device &d, double b) {
        for (auto &[k, v] : bufferSizes)
            if (k == d) {
                v += b;
                return;
            }
        bufferSizes.emplace_back(d, b);
    };
    auto bufferOf = [&](const Device &d) {
        for (const auto &[k, v] : bufferSizes)
            if (k == d)
                return v;
        return 0.0;
    };
    std::vector<std::pair<Device, double>> minimumAssignment;
    std::size_t current = 0;

    firstLayers(work);
    const double &maxLayerSize = m_layerSize;
    // Takes a tied entry out of the work list.
    auto removeFromWork = [&](const std::string &name) {
        auto it = std::find_if(work.begin(), work.end(), [&](const Entry &e) { return e.name == name; });
        if (it != work.end()) {
            work.erase(it);
            m_snapValid = false;
        }
    };

    while (!work.empty()) {
        Entry entry = std::move(work.front());
        work.pop_front();
        if (m_snapValid)
            ++m_snapPos;
        if (skipped(entry))
            continue;
        if (m_constraints && !entry.rest && noSplit(entry) && mustSplit(entry.name)) {
            bool parts = false;
            forEachRestPart(entry, [&](const Entry &) { parts = true; });
            if (!parts)
                continue; // the caller placed all of it
            entry = restOf(std::move(entry));
            emit(InferEvent::Rest, entry, devices[current], entry.size, used[current], -1, 0);
        }
        const std::string &name = entry.name;
        takeLayer(entry);
        if (layersEmpty()) {
            if (!m_snapValid)
                snapshot(work);
            layersFromSnapshot();
        }
        const double moduleSize = entry.size;
        const auto tiedParams = m_tied.empty() ? std::vector<std::string>() : tiedParamsOutside(name);

        const Device device = devices[current];
        const bool isDisk = device.kind == DeviceKind::Disk;
        double limit = isDisk ? -1 : budget(device);
        double reserved = 0;
        if (std::find(mainDevices.begin(), mainDevices.end(), device) != mainDevices.end() && !isDisk)
            reserved = maxLayerSize;
        for (const auto &[d, bytes] : m_opt.minimumReserve)
            if (d == device && !isDisk)
                reserved = std::max(reserved, bytes);
        limit -= reserved;
        double &deviceUsed = used[current];
        const WithTies ties = sizeWithTies(tiedParams, moduleSize, work);

        // Constraints (pins): must split, or forbidden on this device.
        if (m_constraints) {
            const bool mustSplit = !entry.rest && this->mustSplit(name);
            PinVerdict verdict = m_constraints->verdict ? m_constraints->verdict(name, device) : PinVerdict::Allowed;
            if (verdict == PinVerdict::ForbiddenInside && !splittable(entry))
                verdict = PinVerdict::Forbidden; // a no-split module with a forbidden part moves as a whole
            if ((mustSplit || verdict == PinVerdict::ForbiddenInside) && entry.isModule()) {
                emit(InferEvent::Split, entry, device, moduleSize, deviceUsed, limit, reserved);
                auto children = childrenOf(entry, true);
                work.insert(work.begin(), children.begin(), children.end());
                layersAfterSplit(work);
                continue;
            }
            if (verdict != PinVerdict::Allowed) {
                // Look further for an allowed device with room, without leaving the current one.
                std::optional<std::size_t> target;
                for (std::size_t k = current + 1; k < devices.size() && !target; ++k) {
                    if (m_constraints->verdict(name, devices[k]) != PinVerdict::Allowed)
                        continue;
                    const bool disk = devices[k].kind == DeviceKind::Disk;
                    if (disk || used[k] + ties.size <= budget(devices[k]))
                        target = k;
                }
                if (!target)
                    throw Error(ErrorKind::Impossible, {}, "\"" + name + "\" is forbidden on " + device.label() +
                                " and no later device allowed for it has room for " + std::to_string(static_cast<long long>(ties.size)) + " bytes");
                emit(InferEvent::Forbidden, entry, devices[*target], ties.size, used[*target], -1, 0, ties.names);
                used[*target] += ties.size;
                assignEntry(entry, devices[*target]);
                for (const auto &t : ties.names) {
                    removeFromWork(t);
                    assignName(t, devices[*target]);
                }
                continue;
            }
        }

        if (isDisk || deviceUsed + ties.size <= limit) {
            emit(InferEvent::Placed, entry, device, ties.size, deviceUsed, limit, reserved, ties.names);
            deviceUsed += ties.size;
            assignEntry(entry, device);
            for (const auto &t : ties.names) {
                removeFromWork(t);
                assignName(t, device);
            }
            if (!m_opt.offloadBuffers && entry.isModule())
                addBuffer(device, bufferBytes(entry.module));
            continue;
        }

        if (!tiedParams.empty() && deviceUsed + moduleSize <= limit) {
            bool splitHappened = false;
            for (std::size_t i = 0; i < ties.entries.size(); ++i) {
                const Entry &tied = ties.entries[i];
                if (!splittable(tied))
                    continue;
                emit(InferEvent::TiedSplit, tied, device, tied.size, deviceUsed, limit, reserved);
                auto children = childrenOf(tied);
                auto it = std::find_if(work.begin(), work.end(), [&](const Entry &e) { return e.name == tied.name; });
                const auto pos = it - work.begin();
                work.erase(it);
                work.insert(work.begin() + pos, children.begin(), children.end());
                work.push_front(entry);
                layersAfterSplit(work);
                splitHappened = true;
                break;
            }
            if (splitHappened)
                continue;
        }

        if (deviceUsed + moduleSize >= limit && splittable(entry)) {
            emit(InferEvent::Split, entry, device, moduleSize, deviceUsed, limit, reserved);
            auto children = childrenOf(entry);
            work.insert(work.begin(), children.begin(), children.end());
            layersAfterSplit(work);
            continue;
        }

        if (deviceUsed == 0 && m_opt.fallbackAllocation && !isDisk) {
            const double fallbackLimit = budget(device) - std::max(maxLayerSize, ties.size);
            if (auto found = fallbackAllocate(work, fallbackLimit - deviceUsed)) {
                emit(InferEvent::Fallback, found->first, device, found->first.size, deviceUsed, fallbackLimit, reserved);
                work = std::move(found->second);
                work.push_front(entry);
                work.push_front(std::move(found->first));
                m_snapValid = false;
                continue;
            }
        }

        if (deviceUsed == 0)
            minimumAssignment.emplace_back(device, ties.size + reserved);
        emit(InferEvent::NextDevice, entry, device, ties.size, deviceUsed, limit, reserved, ties.names);
        deviceUsed += reserved;
        ++current;
        work.push_front(std::move(entry));
        // Back where it was in the snapshot (unless the snapshot was taken without it).
        if (m_snapValid && m_snapPos > 0)
            --m_snapPos;
        else
            m_snapValid = false;
        if (current >= devices.size())
            throw Error(ErrorKind::Impossible, {}, "no device left for \"" + name + "\"");
    }

    for (std::size_t i = 0; i < devices.size(); ++i)
        if (used[i] > 0)
            result.memoryUsed.emplace_back(devices[i], used[i]);
    result.deviceMap = m_opt.cleanResult ? cleanDeviceMap(std::move(deviceMap)) : std::move(deviceMap);

    const double nonGpu = bufferOf(Device::cpu()) + bufferOf(Device::disk());
    result.nonGpuBufferBytes = nonGpu;
    if (nonGpu > 0 && !m_opt.offloadBuffers) {
        bool fits = false;
        for (const auto &[d, m] : maxMemory) {
            if (d.isOffload() || fits)
                continue;
            double usedHere = 0;
            for (const auto &[k, v] : result.memoryUsed)
                if (k == d)
                    usedHere = v;
            if (m >= nonGpu + usedHere)
                fits = true;
        }
        if (!gpus.empty() && !fits) {
            result.bufferWarning = true;
            result.bufferWarningMessages = {Message{MessageId::BufferWarning, {ByteCount{nonGpu}}}};
            result.bufferWarningText = toEnglish(result.bufferWarningMessages);
        }
    }
    result.insufficientMemory = minimumAssignment;
    if (!minimumAssignment.empty()) {
        auto &messages = result.insufficientMemoryMessages;
        messages.push_back({MessageId::InsufficientMemory, {}});
        for (const auto &[d, m] : minimumAssignment)
            messages.push_back({MessageId::InsufficientMemoryDevice, {d, ByteCount{m}}});
        messages.push_back({MessageId::InsufficientMemoryAdvice, {}});
        result.insufficientMemoryText = toEnglish(messages);
    }
    return result;
}

} // namespace

InferResult inferAutoDeviceMap(const ModuleTree &tree, const InferOptions &options,
                               const std::function<void(const InferEvent &)> &observer,
                               const InferConstraints *constraints)
{
    if (options.maxMemory.empty())
        throw Error(ErrorKind::InvalidArgument, {}, "max_memory is empty: give at least one device budget");
    Inferrer inferrer(tree, options, observer, constraints);
    return inferrer.run();
}

} // namespace mizan::planner::accel
