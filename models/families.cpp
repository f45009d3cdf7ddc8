// The registry's tables: one per model family, describing the module tree transformers builds
// from a config.json (names, classes, registration order, parameters and buffers, ties,
// _no_split_modules). Facts come from huggingface/transformers src/transformers/models/<family>/
// modeling_<family>.py and configuration_<family>.py (v5.x, with the 4.48-4.57 differences noted)
// and checked by tst_models; per-family notes below.

#include "registry_p.h"

#include <algorithm>

namespace mizan::models::detail {

namespace {

// ---- building blocks (torch.nn layers as transformers uses them) ----

TensorSpec param(std::string name, std::vector<std::string> shape, std::string when = {})
{
    return TensorSpec{std::move(name), std::move(shape), std::move(when), Role::Param, std::nullopt};
}

// nn.Linear(in, out, bias): weight [out, in], bias [out].
NodeSpec linear(std::string name, std::string out, std::string in, std::string bias = "1",
                std::string cls = "Linear")
{
    return NodeSpec{std::move(name), std::move(cls),
                    {param("weight", {out, in}), param("bias", {out}, bias == "1" ? "" : bias)}, {}, {}, {}};
}

// transformers' Conv1D(nf, nx) (GPT-2): weight [nx, nf] (transposed), bias [nf].
NodeSpec conv1d(std::string name, std::string nf, std::string nx)
{
    return NodeSpec{std::move(name), "Conv1D", {param("weight", {nx, nf}), param("bias", {nf})}, {}, {}, {}};
}

NodeSpec embedding(std::string name, std::string rows, std::string dim, std::string cls = "Embedding")
{
    return NodeSpec{std::move(name), std::move(cls), {param("weight", {rows, dim})}, {}, {}, {}};
}

// nn.LayerNorm(dim) with elementwise affine: weight, bias.
NodeSpec layerNorm(std::string name, std::string dim, std::string cls = "LayerNorm", std::string bias = "1")
{
    return NodeSpec{std::move(name), std::move(cls),
                    {param("weight", {dim}), param("bias", {dim}, bias == "1" ? "" : bias)}, {}, {}, {}};
}

// RMSNorm: weight only.
NodeSpec rmsNorm(std::string name, std::string dim, std::string cls = "{P}RMSNorm")
{
    return NodeSpec{std::move(name), std::move(cls), {param("weight", {dim})}, {}, {}, {}};
}

NodeSpec leaf(std::string name, std::string cls, std::string when = {})
{
    return NodeSpec{std::move(name), std::move(cls), {}, {}, std::move(when), {}};
}

NodeSpec dropout(std::string name) { return leaf(std::move(name), "Dropout"); }
NodeSpec activation(std::string name) { return leaf(std::move(name), "@act"); }

// Rotary embedding module: non-persistent float32 buffers of length `len` (= rotary_dim / 2).
// v5 registers inv_freq and original_inv_freq, 4.48-4.57 only inv_freq.
NodeSpec rotary(std::string name, std::string cls, std::string len, std::string when = {})
{
    return NodeSpec{std::move(name), std::move(cls),
                    {TensorSpec{"inv_freq", {len}, {}, Role::Transient, DType::F32},
                     TensorSpec{"original_inv_freq", {len}, "V5", Role::Transient, DType::F32}},
                    {}, std::move(when), {}};
}

// Causal mask buffers of GPT-2 / GPT-J attention (4.x: register_buffer(..., persistent=False)).
std::vector<TensorSpec> maskBuffers()
{
    return {TensorSpec{"bias", {"1", "1", "P", "P"}, {}, Role::Transient, DType::Bool},
            TensorSpec{"masked_bias", {}, {}, Role::Transient, std::nullopt}};
}

// An element of a braced list of children that is moved, not copied, into the node: the elements
// of an initializer_list are const, and copying them would copy every subtree of the tables once
// per level of nesting (most of the start-up time of a command that reads the registry).
struct Moved {
    Moved(NodeSpec &&n) : node(std::move(n)) {}
    Moved(const NodeSpec &n) : node(n) {}
    mutable NodeSpec node;
};

NodeSpec node(std::string name, std::string cls, std::initializer_list<Moved> children, std::string when = {})
{
    NodeSpec n{std::move(name), std::move(cls), {}, {}, std::move(when), {}};
    n.children.reserve(children.size());
    for (const auto &c : children)
        n.children.push_back(std::move(c.node));
    return n;
}

NodeSpec repeated(std::string name, std::string count, NodeSpec item)
{
    NodeSpec n{std::move(name), "ModuleList", {}, {}, {}, std::move(count)};
    n.children.push_back(std::move(item));
    return n;
}

// ---- variables shared by the LLaMA-style families ----
std::vector<VarSpec> llamaVars(std::string qkvBias, std::string oBias)
{
    return {
        {"H", "hidden_size", ""},
        {"L", "num_hidden_layers", ""},
        {"NH", "num_attention_heads", ""},
        {"KV", "num_key_value_heads", "NH"},
        {"HD", "head_dim", "floor(H/NH)"},
        {"I", "intermediate_size", ""},
        {"V", "vocab_size", ""},
        {"P", "max_position_embeddings", "0"},
        {"PRF", "partial_rotary_factor", "1"},
        {"AB", "attention_bias", "0"},
        {"QKVB", "_mizan_qkv_bias", qkvBias},
        {"OB", "_mizan_o_bias", oBias},
        {"MB", "mlp_bias", "0"},
        {"E", "num_local_experts", "0"},
        {"TIE", "tie_word_embeddings", "0"},
    };
}

NodeSpec llamaAttention()
{
    return node("self_attn", "{P}Attention",
                {linear("q_proj", "NH*HD", "H", "QKVB"), linear("k_proj", "KV*HD", "H", "QKVB"),
                 linear("v_proj", "KV*HD", "H", "QKVB"), linear("o_proj", "H", "NH*HD", "OB")});
}

// LlamaForCausalLM-shaped model: model{embed_tokens, layers, norm, rotary_emb}, lm_head.
NodeSpec llamaRoot(NodeSpec layer)
{
    return node("", "{P}ForCausalLM",
                {node("model", "{P}Model",
                      {embedding("embed_tokens", "V", "H"), repeated("layers", "L", std::move(layer)),
                       rmsNorm("norm", "H"), rotary("rotary_emb", "{P}RotaryEmbedding", "ceil(floor(HD*PRF)/2)")}),
                 linear("lm_head", "V", "H", "0")});
}

NodeSpec llamaLayer()
{
    return node("", "{P}DecoderLayer",
                {llamaAttention(),
                 node("mlp", "{P}MLP",
                      {linear("gate_proj", "I", "H", "MB"), linear("up_proj", "I", "H", "MB"),
                       linear("down_proj", "H", "I", "MB"), activation("act_fn")}),
                 rmsNorm("input_layernorm", "H"), rmsNorm("post_attention_layernorm", "H")});
}

// Mixtral. v5: mlp = MixtralSparseMoeBlock{gate (MixtralTopKRouter, bare weight [E, H]),
// experts (MixtralExperts: bare gate_up_proj [E, 2I, H], down_proj [E, H, I], act_fn)}.
// 4.48-4.57: block_sparse_moe{gate Linear(H, E), experts.0..E-1 MixtralBlockSparseTop2MLP{w1, w2, w3, act_fn}}.
NodeSpec mixtralLayer()
{
    NodeSpec gateV5{"gate", "{P}TopKRouter", {param("weight", {"E", "H"})}, {}, {}, {}};
    NodeSpec expertsV5{"experts", "{P}Experts",
                       {param("gate_up_proj", {"E", "2*I", "H"}), param("down_proj", {"E", "H", "I"})},
                       {activation("act_fn")}, {}, {}};
    NodeSpec expertV4 = node("", "{P}BlockSparseTop2MLP",
                             {linear("w1", "I", "H", "0"), linear("w2", "H", "I", "0"),
                              linear("w3", "I", "H", "0"), activation("act_fn")});
    return node("", "{P}DecoderLayer",
                {llamaAttention(),
                 node("mlp", "{P}SparseMoeBlock", {gateV5, expertsV5}, "V5"),
                 node("block_sparse_moe", "{P}SparseMoeBlock",
                      {linear("gate", "E", "H", "0"), repeated("experts", "E", std::move(expertV4))}, "!V5"),
                 rmsNorm("input_layernorm", "H"), rmsNorm("post_attention_layernorm", "H")});
}

std::vector<Family> makeFamilies()
{
    std::vector<Family> f;

    // LLaMA 2 / 3 / 3.1 (GQA via num_key_value_heads). modeling_llama.py: attention_bias adds
    // bias to q/k/v/o, mlp_bias to the MLP; LlamaConfig.tie_word_embeddings defaults to False.
    f.push_back(Family{"llama", {"LlamaForCausalLM"}, {"llama"}, "Llama", "hidden_act", "silu",
                       llamaVars("AB", "AB"), llamaRoot(llamaLayer()), {"LlamaDecoderLayer"},
                       {{"TIE", {"model.embed_tokens.weight", "lm_head.weight"}}}, {},
                       "modeling_llama.py", nullptr});

    // Mistral: Llama layout, no biases (modeling_mistral.py), tie default False.
    f.push_back(Family{"mistral", {"MistralForCausalLM"}, {"mistral"}, "Mistral", "hidden_act", "silu",
                       llamaVars("0", "0"), llamaRoot(llamaLayer()), {"MistralDecoderLayer"},
                       {{"TIE", {"model.embed_tokens.weight", "lm_head.weight"}}}, {},
                       "modeling_mistral.py", nullptr});

    // Qwen2: q/k/v with bias, o_proj without (modeling_qwen2.py), tie default False.
    f.push_back(Family{"qwen2", {"Qwen2ForCausalLM"}, {"qwen2"}, "Qwen2", "hidden_act", "silu",
                       llamaVars("1", "0"), llamaRoot(llamaLayer()), {"Qwen2DecoderLayer"},
                       {{"TIE", {"model.embed_tokens.weight", "lm_head.weight"}}}, {},
                       "modeling_qwen2.py", nullptr});

    // Mixtral (MoE): see mixtralLayer(). MixtralConfig.tie_word_embeddings defaults to False.
    f.push_back(Family{"mixtral", {"MixtralForCausalLM"}, {"mixtral"}, "Mixtral", "hidden_act", "silu",
                       llamaVars("0", "0"), llamaRoot(mixtralLayer()), {"MixtralDecoderLayer"},
                       {{"TIE", {"model.embed_tokens.weight", "lm_head.weight"}}}, {},
                       "modeling_mixtral.py", nullptr});

    // GPT-2 (modeling_gpt2.py): Conv1D layers, GPT2Attention's non-persistent "bias" (bool causal
    // mask [1,1,P,P]) and "masked_bias" (scalar) buffers as in 4.x (unconfirmed for v5).
    // lm_head tied to wte (GPT2Config inherits tie_word_embeddings=True).
    {
        NodeSpec attn{"attn", "GPT2Attention", maskBuffers(),
                      {conv1d("c_attn", "3*H", "H"), conv1d("c_proj", "H", "H"), dropout("attn_dropout"),
                       dropout("resid_dropout")}, {}, {}};
        NodeSpec block = node("", "GPT2Block",
                              {layerNorm("ln_1", "H"), attn, layerNorm("ln_2", "H"),
                               node("mlp", "GPT2MLP",
                                    {conv1d("c_fc", "I", "H"), conv1d("c_proj", "H", "I"), activation("act"),
                                     dropout("dropout")})});
        f.push_back(Family{
            "gpt2", {"GPT2LMHeadModel"}, {"gpt2"}, "GPT2", "activation_function", "gelu_new",
            {{"H", "n_embd|hidden_size", ""}, {"L", "n_layer|num_hidden_layers", ""},
             {"NH", "n_head|num_attention_heads", ""}, {"KV", "_mizan_kv", "NH"}, {"HD", "_mizan_hd", "floor(H/NH)"},
             {"I", "n_inner", "4*H"}, {"V", "vocab_size", ""}, {"P", "n_positions|max_position_embeddings", ""},
             {"TIE", "tie_word_embeddings", "1"}},
            node("", "GPT2LMHeadModel",
                 {node("transformer", "GPT2Model",
                       {embedding("wte", "V", "H"), embedding("wpe", "P", "H"), dropout("drop"),
                        repeated("h", "L", std::move(block)), layerNorm("ln_f", "H")}),
                  linear("lm_head", "V", "H", "0")}),
            {"GPT2Block"},
            {{"TIE", {"transformer.wte.weight", "lm_head.weight"}}}, {}, "modeling_gpt2.py", nullptr});
    }

    // GPT-J (modeling_gptj.py): parallel block with one norm; q/k/v/out without bias; the same
    // two mask buffers as GPT-2 (P = n_positions; 4.x, unconfirmed for v5); lm_head with bias.
    // GPTJConfig.tie_word_embeddings defaults to False.
    {
        NodeSpec attn{"attn", "GPTJAttention", maskBuffers(),
                      {dropout("attn_dropout"), dropout("resid_dropout"), linear("k_proj", "H", "H", "0"),
                       linear("v_proj", "H", "H", "0"), linear("q_proj", "H", "H", "0"),
                       linear("out_proj", "H", "H", "0")}, {}, {}};
        NodeSpec block = node("", "GPTJBlock",
                              {layerNorm("ln_1", "H"), attn,
                               node("mlp", "GPTJMLP",
                                    {linear("fc_in", "I", "H"), linear("fc_out", "H", "I"), activation("act"),
                                     dropout("dropout")})});
        f.push_back(Family{
            "gptj", {"GPTJForCausalLM"}, {"gptj"}, "GPTJ", "activation_function", "gelu_new",
            {{"H", "n_embd|hidden_size", ""}, {"L", "n_layer|num_hidden_layers", ""},
             {"NH", "n_head|num_attention_heads", ""}, {"KV", "_mizan_kv", "NH"}, {"HD", "_mizan_hd", "floor(H/NH)"},
             {"I", "n_inner", "4*H"}, {"V", "vocab_size", ""}, {"P", "n_positions|max_position_embeddings", ""},
             {"TIE", "tie_word_embeddings", "0"}},
            node("", "GPTJForCausalLM",
                 {node("transformer", "GPTJModel",
                       {embedding("wte", "V", "H"), dropout("drop"), repeated("h", "L", std::move(block)),
                        layerNorm("ln_f", "H")}),
                  linear("lm_head", "V", "H")}),
            {"GPTJBlock"},
            {{"TIE", {"transformer.wte.weight", "lm_head.weight"}}}, {}, "modeling_gptj.py", nullptr});
    }

    // GPT-NeoX (modeling_gpt_neox.py, >= 4.48): no attention dropout module or mask buffers;
    // model-level rotary_emb (rotary_dim = head_dim * rotary_pct). Not tied by default.
    {
        NodeSpec layer = node("", "GPTNeoXLayer",
                              {layerNorm("input_layernorm", "H"), layerNorm("post_attention_layernorm", "H"),
                               dropout("post_attention_dropout"), dropout("post_mlp_dropout"),
                               node("attention", "GPTNeoXAttention",
                                    {linear("query_key_value", "3*H", "H", "AB"), linear("dense", "H", "H", "AB")}),
                               node("mlp", "GPTNeoXMLP",
                                    {linear("dense_h_to_4h", "I", "H"), linear("dense_4h_to_h", "H", "I"),
                                     activation("act")})});
        f.push_back(Family{
            "gpt_neox", {"GPTNeoXForCausalLM"}, {"gpt_neox"}, "GPTNeoX", "hidden_act", "gelu",
            {{"H", "hidden_size", ""}, {"L", "num_hidden_layers", ""}, {"NH", "num_attention_heads", ""},
             {"KV", "_mizan_kv", "NH"}, {"HD", "_mizan_hd", "floor(H/NH)"}, {"I", "intermediate_size", ""},
             {"V", "vocab_size", ""}, {"P", "max_position_embeddings", "0"},
             {"RP", "rotary_pct|partial_rotary_factor", "0.25"}, {"AB", "attention_bias", "1"},
             {"TIE", "tie_word_embeddings", "0"}},
            node("", "GPTNeoXForCausalLM",
                 {node("gpt_neox", "GPTNeoXModel",
                       {embedding("embed_in", "V", "H"), dropout("emb_dropout"), repeated("layers", "L", std::move(layer)),
                        layerNorm("final_layer_norm", "H"),
                        rotary("rotary_emb", "GPTNeoXRotaryEmbedding", "ceil(floor(HD*RP)/2)")}),
                  linear("embed_out", "V", "H", "0")}),
            {"GPTNeoXLayer"},
            {{"TIE", {"gpt_neox.embed_in.weight", "embed_out.weight"}}}, {}, "modeling_gpt_neox.py", nullptr});
    }

    // Falcon (modeling_falcon.py): fused query_key_value sized by the attention variant
    // (new_decoder_architecture: (2*KV + NH) * HD; multi_query: H + 2*HD; else 3*H); FalconLinear
    // layers (bias per config.bias); norms: ln_attn + ln_mlp when new_decoder_architecture (two
    // norms in parallel attention), else input_layernorm (+ post_attention_layernorm when not
    // parallel_attn). Model-level rotary_emb unless alibi. Tie default True.
    {
        NodeSpec layer = node(
            "", "FalconDecoderLayer",
            {node("self_attention", "FalconAttention",
                  {linear("query_key_value", "QKV", "H", "B", "FalconLinear"),
                   linear("dense", "H", "H", "B", "FalconLinear"), dropout("attention_dropout")}),
             node("mlp", "FalconMLP",
                  {linear("dense_h_to_4h", "FF", "H", "B", "FalconLinear"), activation("act"),
                   linear("dense_4h_to_h", "H", "FF", "B", "FalconLinear")}),
             [] { auto n = layerNorm("post_attention_layernorm", "H"); n.when = "!PAR"; return n; }(),
             [] { auto n = layerNorm("input_layernorm", "H"); n.when = "!PAR || NLN != 2"; return n; }(),
             [] { auto n = layerNorm("ln_attn", "H"); n.when = "PAR && NLN == 2"; return n; }(),
             [] { auto n = layerNorm("ln_mlp", "H"); n.when = "PAR && NLN == 2"; return n; }()});
        f.push_back(Family{
            "falcon", {"FalconForCausalLM", "RWForCausalLM"}, {"falcon", "RefinedWeb", "RefinedWebModel"}, "Falcon",
            "activation", "gelu",
            {{"H", "hidden_size|n_embd", ""}, {"L", "num_hidden_layers|n_layer", ""},
             {"NH", "num_attention_heads|n_head", ""}, {"HD", "_mizan_hd", "floor(H/NH)"},
             {"NEW", "new_decoder_architecture", "0"}, {"MQ", "multi_query", "1"},
             {"KV", "num_kv_heads|n_head_kv", "NEW*NH + (1-NEW)*(MQ*1 + (1-MQ)*NH)"},
             {"QKV", "_mizan_qkv", "NEW*(2*KV + NH)*HD + (1-NEW)*(MQ*(H + 2*HD) + (1-MQ)*3*H)"},
             {"FF", "ffn_hidden_size", "4*H"}, {"I", "_mizan_i", "FF"}, {"V", "vocab_size", ""},
             {"P", "max_position_embeddings", "0"}, {"B", "bias", "0"}, {"PAR", "parallel_attn", "1"},
             {"NLN", "num_ln_in_parallel_attn", "NEW*2 + (1-NEW)*1"}, {"ALIBI", "alibi", "0"},
             {"TIE", "tie_word_embeddings", "1"}},
            node("", "FalconForCausalLM",
                 {node("transformer", "FalconModel",
                       {embedding("word_embeddings", "V", "H"), repeated("h", "L", std::move(layer)), layerNorm("ln_f", "H"),
                        rotary("rotary_emb", "FalconRotaryEmbedding", "ceil(HD/2)", "!ALIBI")}),
                  linear("lm_head", "V", "H", "0")}),
            {"FalconDecoderLayer"},
            {{"TIE", {"transformer.word_embeddings.weight", "lm_head.weight"}}}, {}, "modeling_falcon.py", nullptr});
    }

    // BLOOM (modeling_bloom.py): ALiBi, no rotary, no buffers; MLP 4H with BloomGelu. Tie default True.
    {
        NodeSpec block = node("", "BloomBlock",
                              {layerNorm("input_layernorm", "H"),
                               node("self_attention", "BloomAttention",
                                    {linear("query_key_value", "3*H", "H"), linear("dense", "H", "H"),
                                     dropout("attention_dropout")}),
                               layerNorm("post_attention_layernorm", "H"),
                               node("mlp", "BloomMLP",
                                    {linear("dense_h_to_4h", "4*H", "H"), leaf("gelu_impl", "BloomGelu"),
                                     linear("dense_4h_to_h", "H", "4*H")})});
        f.push_back(Family{
            "bloom", {"BloomForCausalLM"}, {"bloom"}, "Bloom", "_mizan_act", "gelu",
            {{"H", "hidden_size|n_embed", ""}, {"L", "n_layer|num_hidden_layers", ""},
             {"NH", "n_head|num_attention_heads", ""}, {"KV", "_mizan_kv", "NH"}, {"HD", "_mizan_hd", "floor(H/NH)"},
             {"I", "_mizan_i", "4*H"}, {"V", "vocab_size", ""}, {"P", "_mizan_p", "0"},
             {"TIE", "tie_word_embeddings", "1"}},
            node("", "BloomForCausalLM",
                 {node("transformer", "BloomModel",
                       {embedding("word_embeddings", "V", "H"), layerNorm("word_embeddings_layernorm", "H"),
                        repeated("h", "L", std::move(block)), layerNorm("ln_f", "H")}),
                  linear("lm_head", "V", "H", "0")}),
            {"BloomBlock"},
            {{"TIE", {"transformer.word_embeddings.weight", "lm_head.weight"}}}, {}, "modeling_bloom.py", nullptr});
    }

    // OPT (modeling_opt.py): OPTDecoder registers embed_tokens (V x word_embed_proj_dim),
    // embed_positions (max_pos + 2 rows: OPTLearnedPositionalEmbedding's offset), project_out /
    // project_in when word_embed_proj_dim != hidden_size, final_layer_norm (when
    // do_layer_norm_before and not _remove_final_layer_norm), then layers. Tie default True.
    {
        NodeSpec layer = node("", "OPTDecoderLayer",
                              {node("self_attn", "OPTAttention",
                                    {linear("k_proj", "H", "H", "AB"), linear("v_proj", "H", "H", "AB"),
                                     linear("q_proj", "H", "H", "AB"), linear("out_proj", "H", "H", "AB")}),
                               activation("activation_fn"),
                               layerNorm("self_attn_layer_norm", "H", "LayerNorm", "1"),
                               linear("fc1", "I", "H", "AB"), linear("fc2", "H", "I", "AB"),
                               layerNorm("final_layer_norm", "H")});
        NodeSpec finalNorm = layerNorm("final_layer_norm", "H");
        finalNorm.when = "DLNB && !RFLN";
        f.push_back(Family{
            "opt", {"OPTForCausalLM"}, {"opt"}, "OPT", "activation_function", "relu",
            {{"H", "hidden_size", ""}, {"L", "num_hidden_layers", ""}, {"NH", "num_attention_heads", ""},
             {"KV", "_mizan_kv", "NH"}, {"HD", "_mizan_hd", "floor(H/NH)"}, {"I", "ffn_dim", ""},
             {"V", "vocab_size", ""}, {"P", "max_position_embeddings", ""}, {"WP", "word_embed_proj_dim", "H"},
             {"DLNB", "do_layer_norm_before", "1"}, {"RFLN", "_remove_final_layer_norm", "0"},
             {"AB", "enable_bias", "1"}, {"TIE", "tie_word_embeddings", "1"}},
            node("", "OPTForCausalLM",
                 {node("model", "OPTModel",
                       {node("decoder", "OPTDecoder",
                             {embedding("embed_tokens", "V", "WP"),
                              embedding("embed_positions", "P+2", "H", "OPTLearnedPositionalEmbedding"),
                              [] { auto n = linear("project_out", "WP", "H", "0"); n.when = "WP != H"; return n; }(),
                              [] { auto n = linear("project_in", "H", "WP", "0"); n.when = "WP != H"; return n; }(),
                              finalNorm, repeated("layers", "L", std::move(layer))})}),
                  linear("lm_head", "V", "WP", "0")}),
            {"OPTDecoderLayer"},
            {{"TIE", {"model.decoder.embed_tokens.weight", "lm_head.weight"}}}, {}, "modeling_opt.py", nullptr});
    }

    // Phi (phi-2, modeling_phi.py): final_layernorm registered last; lm_head with bias;
    // rotary dim = head_dim * partial_rotary_factor. Optional q/k LayerNorms (qk_layernorm).
    {
        NodeSpec layer = node(
            "", "PhiDecoderLayer",
            {node("self_attn", "PhiAttention",
                  {linear("q_proj", "NH*HD", "H"), linear("k_proj", "KV*HD", "H"), linear("v_proj", "KV*HD", "H"),
                   linear("dense", "H", "NH*HD"),
                   [] { auto n = layerNorm("q_layernorm", "HD"); n.when = "QKLN"; return n; }(),
                   [] { auto n = layerNorm("k_layernorm", "HD"); n.when = "QKLN"; return n; }()}),
             node("mlp", "PhiMLP", {activation("activation_fn"), linear("fc1", "I", "H"), linear("fc2", "H", "I")}),
             layerNorm("input_layernorm", "H"), dropout("resid_dropout")});
        f.push_back(Family{
            "phi", {"PhiForCausalLM"}, {"phi"}, "Phi", "hidden_act", "gelu_new",
            {{"H", "hidden_size", ""}, {"L", "num_hidden_layers", ""}, {"NH", "num_attention_heads", ""},
             {"KV", "num_key_value_heads", "NH"}, {"HD", "head_dim", "floor(H/NH)"}, {"I", "intermediate_size", ""},
             {"V", "vocab_size", ""}, {"P", "max_position_embeddings", "0"}, {"PRF", "partial_rotary_factor", "0.5"},
             {"QKLN", "qk_layernorm", "0"}, {"TIE", "tie_word_embeddings", "0"}},
            node("", "PhiForCausalLM",
                 {node("model", "PhiModel",
                       {embedding("embed_tokens", "V", "H"), repeated("layers", "L", std::move(layer)),
                        rotary("rotary_emb", "PhiRotaryEmbedding", "ceil(floor(HD*PRF)/2)"), dropout("embed_dropout"),
                        layerNorm("final_layernorm", "H")}),
                  linear("lm_head", "V", "H")}),
            {"PhiDecoderLayer"},
            {{"TIE", {"model.embed_tokens.weight", "lm_head.weight"}}}, {}, "modeling_phi.py", nullptr});
    }

    // T5 (modeling_t5.py, T0pp = T5 v1.1 layout): shared embedding passed to both T5Stacks as
    // embed_tokens (one object), T5Block.layer = [T5LayerSelfAttention, (decoder)
    // T5LayerCrossAttention, T5LayerFF], relative_attention_bias in block 0's self-attention only,
    // gated FF (wi_0, wi_1) when feed_forward_proj is "gated-*". _keep_in_fp32_modules = ["wo"].
    // lm_head tied to shared when tie_word_embeddings (T5Config default True; T0pp: False).
    {
        auto attention = [](std::string name, std::string relBias) {
            return node(std::move(name), "T5Attention",
                        {linear("q", "NH*DKV", "D", "0"), linear("k", "NH*DKV", "D", "0"),
                         linear("v", "NH*DKV", "D", "0"), linear("o", "D", "NH*DKV", "0"),
                         [&] { auto n = embedding("relative_attention_bias", "NB", "NH"); n.when = relBias; return n; }()});
        };
        auto feedForward = [](std::string name) {
            NodeSpec gated = node("DenseReluDense", "T5DenseGatedActDense",
                                  {linear("wi_0", "FF", "D", "0"), linear("wi_1", "FF", "D", "0"),
                                   linear("wo", "D", "FF", "0"), dropout("dropout"), activation("act")}, "GATED");
            NodeSpec plain = node("DenseReluDense", "T5DenseActDense",
                                  {linear("wi", "FF", "D", "0"), linear("wo", "D", "FF", "0"), dropout("dropout"),
                                   activation("act")}, "!GATED");
            return node(std::move(name), "T5LayerFF",
                        {gated, plain, rmsNorm("layer_norm", "D", "T5LayerNorm"), dropout("dropout")});
        };
        NodeSpec encoderBlock = node(
            "", "T5Block",
            {node("layer", "ModuleList",
                  {node("0", "T5LayerSelfAttention",
                        {attention("SelfAttention", "i == 0"), rmsNorm("layer_norm", "D", "T5LayerNorm"),
                         dropout("dropout")}),
                   feedForward("1")})});
        NodeSpec decoderBlock = node(
            "", "T5Block",
            {node("layer", "ModuleList",
                  {node("0", "T5LayerSelfAttention",
                        {attention("SelfAttention", "i == 0"), rmsNorm("layer_norm", "D", "T5LayerNorm"),
                         dropout("dropout")}),
                   node("1", "T5LayerCrossAttention",
                        {attention("EncDecAttention", "0"), rmsNorm("layer_norm", "D", "T5LayerNorm"),
                         dropout("dropout")}),
                   feedForward("2")})});
        auto stack = [](std::string name, std::string count, NodeSpec block) {
            return node(std::move(name), "T5Stack",
                        {embedding("embed_tokens", "V", "D"), repeated("block", std::move(count), std::move(block)),
                         rmsNorm("final_layer_norm", "D", "T5LayerNorm"), dropout("dropout")});
        };
        f.push_back(Family{
            "t5", {"T5ForConditionalGeneration"}, {"t5"}, "T5", "dense_act_fn", "relu",
            {{"D", "d_model", ""}, {"H", "_mizan_h", "D"}, {"DKV", "d_kv", ""}, {"FF", "d_ff", ""},
             {"I", "_mizan_i", "FF"}, {"L", "num_layers", ""}, {"LD", "num_decoder_layers", "L"},
             {"NH", "num_heads", ""}, {"KV", "_mizan_kv", "NH"}, {"HD", "_mizan_hd", "DKV"},
             {"NB", "relative_attention_num_buckets", "32"}, {"V", "vocab_size", ""},
             {"P", "n_positions", "0"}, {"GATED", "is_gated_act", "0"}, {"TIE", "tie_word_embeddings", "1"}},
            node("", "T5ForConditionalGeneration",
                 {embedding("shared", "V", "D"), stack("encoder", "L", encoderBlock),
                  stack("decoder", "LD", decoderBlock), linear("lm_head", "V", "D", "0")}),
            {"T5Block"},
            {{"", {"shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight"}},
             {"TIE", {"shared.weight", "lm_head.weight"}}},
            {"wo"}, "modeling_t5.py",
            // configuration_t5.py: feed_forward_proj "gated-gelu" means gated with gelu_new;
            // "gated-X" gated with X; otherwise X ungated.
            [](const nlohmann::json &config, Env &env, std::string &act) {
                auto it = config.find("feed_forward_proj");
                if (it == config.end() || !it->is_string())
                    return;
                std::string proj = it->get<std::string>();
                const bool gated = proj.rfind("gated-", 0) == 0;
                env["GATED"] = gated ? 1 : 0;
                if (!config.contains("dense_act_fn"))
                    act = proj == "gated-gelu" ? "gelu_new" : (gated ? proj.substr(6) : proj);
            }});
    }
    return f;
}

} // namespace

const std::vector<Family> &families()
{
    static const std::vector<Family> kFamilies = makeFamilies();
    return kFamilies;
}

} // namespace mizan::models::detail
