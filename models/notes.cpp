#include "notes.h"

namespace mizan::models {

namespace {

const std::vector<std::pair<NoteId, planner::MessageShape>> &shapes()
{
    using K = planner::MessageArgKind;
    using J = planner::MessageJoin;
    using N = NoteId;
    static const std::vector<std::pair<NoteId, planner::MessageShape>> table = {
        {N::NoRepeatedBlocks, {"no-repeated-blocks", "no repeated block structure found: no module class is kept whole", J::Sentence, {}}},
        {N::NoSplitClassGuessed, {"no-split-class-guessed",
         "unknown architecture: the no-split class \"%1\" is a structural guess (repeated numbered blocks)", J::Sentence, {K::Text}}},
        {N::IgnoredBuffers, {"ignored-buffers",
         "%1 non-persistent buffer(s) saved in the checkpoint (causal masks, rotary inv_freq) are ignored, as transformers does",
         J::Sentence, {K::Count}}},
        {N::BareBaseModel, {"bare-base-model", "the checkpoint holds the bare base model: tensor names lack the \"%1.\" prefix of %2",
         J::Sentence, {K::Text, K::Text}}},
        {N::NoConfigJson, {"no-config-json", "no config.json: module classes unknown, tree derived from tensor names", J::Sentence, {}}},
        {N::LayoutNotFollowed, {"layout-not-followed",
         "the checkpoint's tensors do not follow the %1 layout of the registry (%2 of %3 tensors matched): tree derived from tensor names",
         J::Sentence, {K::Text, K::Count, K::Count}}},
        {N::ConfigNotOfFamily, {"config-not-of-family", "config.json does not describe a %1 model (%2): tree derived from tensor names",
         J::Sentence, {K::Text, K::Text}}},
        {N::MixtralV4Layout, {"mixtral-v4-layout",
         "Mixtral checkpoint in the transformers 4.x layout (block_sparse_moe.experts.N): the tree follows it", J::Sentence, {}}},
        {N::TensorsMissing, {"tensors-missing", "%1 tensor(s) of the model are missing from the checkpoint", J::Sentence, {K::Count}}},
        {N::TensorsUnexpected, {"tensors-unexpected", "%1 checkpoint tensor(s) are not part of the model", J::Sentence, {K::Count}}},
        {N::ShapesDiffer, {"shapes-differ", "%1 tensor shape(s) differ from config.json", J::Sentence, {K::Count}}},
    };
    return table;
}

} // namespace

const planner::MessageShape &shapeOf(NoteId id)
{
    return planner::shapeInTable(shapes(), id, "models");
}

} // namespace mizan::models
