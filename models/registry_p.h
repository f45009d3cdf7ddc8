#pragma once

// The architecture registry's data model: one table (Family) per model family, describing the
// module tree transformers builds from a config.json. Internal to models/.

#include "expr_p.h"
#include "planner/dtype.h"
#include "planner/moduletree.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace mizan::models::detail {

enum class Role {
    Param,     // nn.Parameter
    Buffer,    // persistent buffer (in checkpoints)
    Transient, // non-persistent buffer: in the model, never in checkpoints
};

// A tensor a module registers. Shape dims and `when` are expressions over the family's variables.
struct TensorSpec {
    std::string name;
    std::vector<std::string> shape;
    std::string when;              // empty = always
    Role role = Role::Param;
    std::optional<DType> dtype;    // fixed dtype (bool masks, float32 rotary); empty = model dtype
};

// A module. `cls` may contain "{P}" (the family's class prefix) or be "@act" (the activation
// class named by the config). With `repeat` set, the module is a ModuleList of `repeat` copies of
// children[0] named "0".."N-1" (the variable `i` holds the index while building a copy).
struct NodeSpec {
    std::string name;
    std::string cls;
    std::vector<TensorSpec> tensors;
    std::vector<NodeSpec> children;
    std::string when;
    std::string repeat;
};

// A numeric variable read from config.json: the first present key of `keys` ("a|b"), else
// `fallback` evaluated over the variables defined before it. Booleans read as 0/1.
struct VarSpec {
    std::string name;
    std::string keys;
    std::string fallback; // empty: required
};

struct TieSpec {
    std::string when;                 // e.g. "TIE"
    std::vector<std::string> tensors; // full names; the ones the tree does not have are skipped
};

struct Family {
    std::string name;                       // "llama"
    std::vector<std::string> architectures; // "LlamaForCausalLM"
    std::vector<std::string> modelTypes;    // config "model_type" values
    std::string classPrefix;                // "{P}" in class names
    std::string activationKeys;             // config keys naming the activation ("hidden_act")
    std::string defaultActivation;          // when the config names none
    std::vector<VarSpec> vars;
    NodeSpec root;                          // root.cls is the architecture
    std::vector<std::string> noSplitClasses;
    std::vector<TieSpec> ties;
    std::vector<std::string> keepFp32Modules; // local module names (T5 "wo")
    std::string sourceNote;                   // where the layout facts come from
    // Family-specific derived values that are not plain lookups (T5's feed_forward_proj).
    void (*adjust)(const nlohmann::json &config, Env &env, std::string &activation) = nullptr;
};

const std::vector<Family> &families();
// By architectures[0] first, then by model_type; nullptr when unknown.
const Family *findFamily(const nlohmann::json &config);

enum class Layout { V5, V4 };

struct Built {
    planner::ModuleTree tree;
    std::vector<std::vector<std::string>> tiedGroups;
    std::vector<std::string> keepFp32Tensors;
    Env env;
};
// Builds the module tree of `family` for `config`, floating tensors in `dtype`.
Built build(const Family &family, const nlohmann::json &config, DType dtype, Layout layout);
// What build(family, config, any dtype, layout) would make, with the same errors, from the tables
// alone: no tree is made, the copies of a ModuleList that do not depend on their index are counted
// once.
struct TreeCounts {
    std::int64_t parameters = 0; // numel of parameters, a tied group once (aggregateSizes' count)
    std::int64_t modules = 0;    // tree.size()
};
TreeCounts countTree(const Family &family, const nlohmann::json &config, Layout layout);

// Class of an activation name as transformers' ACT2CLS maps it ("silu" -> "SiLUActivation").
std::string activationClass(const std::string &activation);

} // namespace mizan::models::detail
