#include "notes.h"

namespace mizan::loader {

namespace {

const std::vector<std::pair<NoteId, planner::MessageShape>> &shapes()
{
    using K = planner::MessageArgKind;
    using J = planner::MessageJoin;
    using N = NoteId;
    constexpr auto quoted = planner::MessageStyle::QuotedTexts;
    static const std::vector<std::pair<NoteId, planner::MessageShape>> table = {
        {N::MetadataNoFormat, {"metadata-no-format", "__metadata__ has no \"format\" (transformers expects \"pt\")", J::Sentence, {}}},
        {N::MetadataFormatNotPt, {"metadata-format-not-pt",
         "__metadata__ format is \"%1\", not \"pt\"; the tensors may not be PyTorch layouts", J::Sentence, {K::Text}}},
        {N::MetadataNoFormatInFile, {"metadata-no-format-in-file", "%1: __metadata__ has no \"format\" (transformers expects \"pt\")",
         J::Sentence, {K::Text}}},
        {N::MetadataNoFormatInShards, {"metadata-no-format-in-shards",
         "__metadata__ has no \"format\" (transformers expects \"pt\") (in %1 shards: %2)", J::Sentence, {K::Count, K::Texts}, quoted}},
        {N::MetadataNoFormatInShardsMore, {"metadata-no-format-in-shards-more",
         "__metadata__ has no \"format\" (transformers expects \"pt\") (in %1 shards: %2 and %3 more)", J::Sentence,
         {K::Count, K::Texts, K::Count}, quoted}},
        {N::MetadataFormatNotPtInFile, {"metadata-format-not-pt-in-file",
         "%1: __metadata__ format is \"%2\", not \"pt\"; the tensors may not be PyTorch layouts", J::Sentence, {K::Text, K::Text}}},
        {N::MetadataFormatNotPtInShards, {"metadata-format-not-pt-in-shards",
         "__metadata__ format is \"%1\", not \"pt\"; the tensors may not be PyTorch layouts (in %2 shards: %3)", J::Sentence,
         {K::Text, K::Count, K::Texts}, quoted}},
        {N::MetadataFormatNotPtInShardsMore, {"metadata-format-not-pt-in-shards-more",
         "__metadata__ format is \"%1\", not \"pt\"; the tensors may not be PyTorch layouts (in %2 shards: %3 and %4 more)", J::Sentence,
         {K::Text, K::Count, K::Texts, K::Count}, quoted}},
    };
    return table;
}

} // namespace

const planner::MessageShape &shapeOf(NoteId id)
{
    return planner::shapeInTable(shapes(), id, "loader");
}

} // namespace mizan::loader
