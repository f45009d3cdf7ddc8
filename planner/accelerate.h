#pragma once

// Faithful C++ versions of Accelerate's planning functions (accelerate/utils/modeling.py),
// checked against Accelerate's own results by the parity cases (tests/data/parity).
// Sizes are doubles (Python float semantics: bool tensors count 1/8 byte per element).
// planner::plan() builds on these; the GUI and CLI should call plan(), not these.

#include "device.h"
#include "dtype.h"
#include "message.h"
#include "moduletree.h"
#include "nametable.h"

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mizan::planner::accel {

// dtype_byte_size: "float16" / "torch.float16" / "custom_int4" ... -> bytes per element.
// Throws Error(InvalidArgument) "`dtype` is not a valid dtype: X.".
double dtypeByteSize(std::string_view dtype);
double dtypeByteSize(DType dtype);

// convert_file_size_to_int (Error(InvalidArgument) with Accelerate's message).
std::int64_t convertFileSizeToInt(std::string_view size);
std::int64_t convertFileSizeToInt(std::int64_t size);

using SpecialDtypes = std::vector<std::pair<std::string, DType>>;

// name -> bytes, keys in first-touch order (root first). Absent keys read 0 (tied aliases). The
// names sit in one buffer (a million-module tree makes two million keys, each a string allocation
// otherwise). Made by computeModuleSizes on a whole tree whose names are paths, the map writes its
// names only when first asked for one (name(), a look-up by name), from that tree: the tree must
// outlive the map, or its names be asked for while it lives.
class SizeMap {
public:
    SizeMap() = default;
    SizeMap(SizeMap &&) = default;
    SizeMap &operator=(SizeMap &&) = default;

    // By name: the first look-up builds the name index when computeModuleSizes left it out.
    double operator[](std::string_view name) const;
    bool contains(std::string_view name) const { return position(name) >= 0; }
    void add(std::string_view name, double bytes);
    // add() of `prefix + "." + suffix` (`suffix` alone when `prefix` is empty), not built first.
    void addJoined(std::string_view prefix, std::string_view suffix, double bytes);
    std::size_t size() const { return m_entries.size(); }
    std::string_view name(std::size_t position) const
    {
        ensureNames();
        const Entry &e = m_entries[position];
        return std::string_view(m_names.data() + e.offset, e.length);
    }
    double bytes(std::size_t position) const { return m_entries[position].bytes; }
    // What the key at `position` names, where computeModuleSizes knows it without its name (a
    // map of a whole tree whose names are paths); null otherwise.
    const KeyTarget *target(std::size_t position) const
    {
        return m_nameSource ? &m_entryTarget[position] : nullptr;
    }
    // Appends a key known to be new; returns its position.
    std::size_t append(std::string_view name, double bytes);
    void addAt(std::size_t position, double bytes) { m_entries[position].bytes += bytes; }
    void reserve(std::size_t entries, std::size_t nameBytes = 0)
    {
        m_entries.reserve(entries);
        m_index.reserve(entries);
        m_names.reserve(nameBytes);
    }
    // Made by computeModuleSizes on the whole tree: the entry of every module of that tree by id,
    // without hashing its name. Empty otherwise.
    bool byModule() const { return !m_modulePosition.empty(); }
    bool containsModule(int id) const { return m_modulePosition[static_cast<std::size_t>(id)] >= 0; }
    double moduleBytes(int id) const
    {
        const std::int64_t p = m_modulePosition[static_cast<std::size_t>(id)];
        return p < 0 ? 0.0 : m_entries[static_cast<std::size_t>(p)].bytes;
    }
    void setModulePositions(std::vector<std::int64_t> positions) { m_modulePosition = std::move(positions); }

    // The bytes of a key the tree resolves to `target` (ModuleTree::resolveKey), or of a key
    // named `name`: found by id, without the name index, when computeModuleSizes made this map on
    // the whole tree and every key in it is one module's or one tensor's own (no two share a name:
    // ModuleTree::namesArePaths); by name otherwise.
    double ofKey(std::string_view key, const KeyTarget &target) const;
    double ofName(const ModuleTree &tree, std::string_view name) const;

private:
    friend SizeMap computeModuleSizes(const ModuleTree &, std::optional<DType>, const SpecialDtypes &, bool, int);
    struct Entry {
        std::size_t offset; // of the name in m_names
        std::size_t length;
        double bytes;
    };
    std::int64_t position(std::string_view name) const;
    // Enters the name just written at m_names[start...] (or adds to its entry and drops the copy);
    // returns its position.
    std::size_t enterTail(std::size_t start, double bytes);
    // Writes `prefix + "." + suffix` (`suffix` alone when `prefix` is empty) at the end of m_names;
    // returns where it starts.
    std::size_t writeJoined(std::string_view prefix, std::string_view suffix) const;
    // Builds the name index if computeModuleSizes left it out (before a look-up or a new key).
    void ensureIndex() const;
    void buildIndex() const;
    // Writes the names computeModuleSizes left out (m_nameSource), once, also when threads share a
    // const map.
    void ensureNames() const
    {
        if (m_nameSource)
            std::call_once(*m_namesOnce, [this] { writeNames(); });
    }
    void writeNames() const;

    // Both written on first use where computeModuleSizes left the names out (ensureNames).
    mutable std::string m_names;
    mutable std::vector<Entry> m_entries;
    // Where the names are left out: the tree they come from (set once, by computeModuleSizes) and
    // what each entry names.
    const ModuleTree *m_nameSource = nullptr;
    std::vector<KeyTarget> m_entryTarget;
    std::unique_ptr<std::once_flag> m_namesOnce = std::make_unique<std::once_flag>();
    // Made by computeModuleSizes on a tree whose names are paths (ModuleTree::namesArePaths): no two keys
    // share a name, keys are resolved by id, and m_index is left empty until a look-up by name.
    bool m_paths = false;
    // key -> position in m_entries; with m_paths, built on the first look-up by name (once, also
    // when threads share a const map).
    mutable NameTable m_index;
    std::unique_ptr<std::once_flag> m_indexOnce = std::make_unique<std::once_flag>();
    std::vector<std::int64_t> m_modulePosition; // module id -> position in m_entries, -1 when absent
    // With m_paths: each tensor target -> position in m_entries, -1 for a tensor tied to one
    // counted before; at m_targets->of(target) - m_targets->modules().
    std::optional<TargetPositions> m_targets;
    std::vector<std::int64_t> m_tensorPosition;
};

// compute_module_sizes on the subtree `from` (names relative to it, like calling it on that
// submodule). Params of the whole subtree first, then buffers, deduplicated by tie id.
SizeMap computeModuleSizes(const ModuleTree &tree, std::optional<DType> dtype = std::nullopt,
                           const SpecialDtypes &specialDtypes = {}, bool buffersOnly = false,
                           int from = ModuleTree::kRoot);
// computeModuleSizes' counts on the whole tree without its map, for callers that only ask for the
// bytes of keys by what they name: every tensor's by its index in the tree's flat layout (0 for a
// tied tensor counted before it) and every module's by id. No special dtypes (those go by name).
struct TreeBytes {
    // Where the ids are the pre-order and no tensor is tied, a subtree's tensors are one run of the
    // layout: the bytes of the layout's tensors before each index (one entry more than tensors),
    // and a module's or a tensor's bytes are a difference of two (sums of multiples of 1/8 byte,
    // exact while the total is under 2^50 bytes; beyond that the per-id form below is used).
    // Empty otherwise.
    std::vector<double> before;
    // Else every tensor's bytes by index and every module's by id.
    std::vector<double> tensor;
    std::vector<double> module;
    std::shared_ptr<const FlatTree> flat;

    double ofModule(int id) const;
    double ofTensor(std::size_t index) const;
};
TreeBytes computeTreeBytes(const ModuleTree &tree, std::optional<DType> dtype = std::nullopt);
// compute_module_total_buffer_size(submodule `from`) (special dtypes matched on relative names).
double computeModuleTotalBufferSize(const ModuleTree &tree, int from, std::optional<DType> dtype = std::nullopt,
                                    const SpecialDtypes &specialDtypes = {});

// find_tied_parameters: each group sorted; the list of groups sorted (Accelerate's group order is
// unspecified).
std::vector<std::vector<std::string>> findTiedParameters(const ModuleTree &tree);

// Budgets as Accelerate holds them (values may become non-integral with bool tensors).
using Memory = std::vector<std::pair<Device, double>>;
Memory toMemory(const MaxMemory &memory);
MaxMemory toMaxMemory(const Memory &memory); // truncates toward zero

// get_max_memory with a user dict: sorted GPU ids, then mps, cpu, disk.
Memory getMaxMemory(const Memory &memory);
// How max_memory JSON (an object {"0": "22GiB", "cpu": 1000} or a list of [device, size] pairs)
// is read. Accelerate: its keys (ints, "cpu", "disk", "mps"; digit strings as object keys), numbers
// kept as given, a repeated device's last value, normalised by getMaxMemory; any other key:
// Error(InvalidArgument) "Device K is not recognized, available devices are integers(for GPU/XPU),
// 'mps', 'cpu' and 'disk'". Mizan: every spelling Device::fromJson accepts ("cuda:1"), whole
// non-negative bytes, each device once, in the order given.
enum class MaxMemoryRules { Accelerate, Mizan };
Memory readMaxMemoryJson(const nlohmann::json &pairsOrObject, MaxMemoryRules rules);
// readMaxMemoryJson(json, MaxMemoryRules::Accelerate).
Memory maxMemoryFromAccelerateJson(const nlohmann::json &pairsOrObject);

// get_balanced_memory (max_memory given by the user, so no 0.9 factor).
Memory getBalancedMemory(const ModuleTree &tree, const Memory &maxMemory,
                         const std::vector<std::string> &noSplitClasses,
                         std::optional<DType> dtype = std::nullopt, const SpecialDtypes &specialDtypes = {},
                         bool lowZero = false, const SizeMap *precomputedSizes = nullptr);

// clean_device_map: contents exactly as Accelerate; order: a merged key takes the place of the
// first key it replaces (Accelerate appends it at the end; its order is hash-dependent).
std::vector<std::pair<std::string, Device>> cleanDeviceMap(std::vector<std::pair<std::string, Device>> map);

// check_device_map. Returns the warning text ("" if none); throws Error(InvalidDeviceMap) with
// "The device_map provided does not give any device for the following parameters: a, b".
std::string checkDeviceMap(const ModuleTree &tree, const std::vector<std::pair<std::string, Device>> &map);

// One step of infer_auto_device_map, reported to an observer (for explanations).
struct InferEvent {
    enum Kind {
        Placed,       // name placed on device (size = with ties); tiedModules lists pulled modules
        Split,        // did not fit (used + size >= limit): replaced by its children
        TiedSplit,    // a tied module was split to make room
        NextDevice,   // could not be placed on device: moving on
        Fallback,     // fallback_allocation picked `name` for device
        Forbidden,    // a constraint forbids device for name (placed further on)
        Rest,         // a no-split module holding parts placed by the caller: placed as one unit
                      // without them (size = the rest), its parts' keys instead of its name
    } kind;
    std::string name;
    Device device;
    double size = 0;          // module size (with ties for Placed)
    double used = 0;          // used on device before the step
    double limit = -1;        // budget minus reservation (-1: unlimited)
    double reserved = 0;      // largest layer reserved on device
    std::vector<std::string> tiedModules;
    KeyTarget target; // what `name` names in the tree
};

// What the pins say about putting an entry on a device.
enum class PinVerdict {
    Allowed,
    Forbidden,      // forbidden for this entry
    ForbiddenInside // an entry inside it is forbidden there: split it
};

// Extra rules plan() adds on top of Accelerate (pins).
struct InferConstraints {
    std::function<PinVerdict(const std::string &name, const Device &device)> verdict;
    // Entries already placed by the caller: skipped entirely (not in the map).
    std::function<bool(const std::string &name)> skip;
    // Entries that must be split whatever their size (ancestors of skipped entries). A module of a
    // no-split class is not split: the rest of it (without the skipped entries) is placed as one
    // unit, and the map gets the keys of its parts.
    std::function<bool(const std::string &name)> mustSplit;
};

struct InferOptions {
    Memory maxMemory;
    std::vector<std::string> noSplitClasses;
    std::optional<DType> dtype;
    SpecialDtypes specialDtypes;
    bool offloadBuffers = false;
    bool fallbackAllocation = false;
    bool cleanResult = true;
    // Not Accelerate's: room kept free on a device whatever the largest layer (plan()'s policies:
    // the parts a GPU brings in for the blocks it runs). The reserve is the larger of the two.
    std::vector<std::pair<Device, double>> minimumReserve;
    // Optional precomputed computeModuleSizes(tree, dtype, specialDtypes) / findTiedParameters(tree).
    const SizeMap *sizes = nullptr;
    const std::vector<std::vector<std::string>> *tiedGroups = nullptr;
};

struct InferResult {
    std::vector<std::pair<std::string, Device>> deviceMap;
    bool bufferWarning = false;
    double nonGpuBufferBytes = 0;
    std::vector<std::pair<Device, double>> insufficientMemory; // device_minimum_assignment_memory
    std::vector<std::pair<Device, double>> memoryUsed;         // device_memory_used incl. reservations
    std::string bufferWarningText;         // toEnglish(bufferWarningMessages)
    std::string insufficientMemoryText;    // toEnglish(insufficientMemoryMessages)
    std::vector<Message> bufferWarningMessages;
    std::vector<Message> insufficientMemoryMessages;
};

InferResult inferAutoDeviceMap(const ModuleTree &tree, const InferOptions &options,
                               const std::function<void(const InferEvent &)> &observer = {},
                               const InferConstraints *constraints = nullptr);

} // namespace mizan::planner::accel
