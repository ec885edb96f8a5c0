#!/usr/bin/env python3
"""Write random-weight Dream GGUF files (arch "dream", llama.cpp's converter
layout) with Dream's real byte-level BPE tokenizer embedded, using Debian's
python3-gguf (unpacked by infill/remote/testdata/fetch-llama.sh), for the
side-by-side against llama.cpp's llama-diffusion-cli.

Every weight is drawn once, N(0, 0.02) rounded to bfloat16 (norm weights 1),
from a stream seeded by the tensor's name, so the F32 and BF16 files hold the
same values exactly and Q8_0 is ggml's quantization of them. All requested
types are written in one pass, tensor by tensor (nothing is held whole).

    PYTHONPATH=infill/remote/.llama/root/usr/lib/python3/dist-packages \\
    /usr/bin/python3 bench/llamacpp/mkdream.py --shape qwen0.5b \\
        --tokenizer ../shared/reference/dream-v0-7b OUT_PREFIX f32 bf16 q8_0

writes OUT_PREFIX-f32.gguf, OUT_PREFIX-bf16.gguf, OUT_PREFIX-q8_0.gguf.
Shapes: qwen0.5b (the shape of `dream-lsp bench --shape qwen0.5b`: hidden 896,
24 layers, 14 heads x 64, 2 KV heads, intermediate 4864, vocabulary 151,936,
untied head), qwen0.5b-k (the same with hidden 1024 and 16 heads: every weight row is whole
256-value super-blocks, as in Dream 7B, so llama-quantize's k-quant and IQ types need no
fallback; 726M parameters) and tiny (hidden 128, 2 layers, 4 heads x 32, 2 KV heads,
intermediate 256, the same vocabulary) for the quick agreement test.
"""
import argparse
import json
import os
import zlib

import numpy as np
import gguf

SHAPES = {
    "qwen0.5b": dict(hidden=896, layers=24, heads=14, kv=2, head_dim=64, inter=4864, vocab=151936),
    "qwen0.5b-k": dict(hidden=1024, layers=24, heads=16, kv=2, head_dim=64, inter=4864, vocab=151936),
    "tiny": dict(hidden=128, layers=2, heads=4, kv=2, head_dim=32, inter=256, vocab=151936),
}
TYPES = {"f32": (gguf.GGMLQuantizationType.F32, gguf.LlamaFileType.ALL_F32),
         "bf16": (gguf.GGMLQuantizationType.BF16, gguf.LlamaFileType.MOSTLY_BF16),
         "q8_0": (gguf.GGMLQuantizationType.Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0)}
MASK, EOT = 151666, 151643
# llama-diffusion-cli always wraps -p in the model's chat template; this one
# returns the user's text unchanged, so the tokens it denoises after are
# exactly the prompt's (Dream's own template would add im_start/im_end turns).
RAW_TEMPLATE = "{% for message in messages %}{{ message['content'] }}{% endfor %}"


def tokenizer(d, vocab_size):
    """Dream's vocabulary as convert_hf_to_gguf.py's DreamModel lays it out:
    [PADi] fillers UNUSED, special added tokens CONTROL, other added tokens
    USER_DEFINED, the rest NORMAL; merges from merges.txt."""
    vocab = json.load(open(os.path.join(d, "vocab.json"), encoding="utf-8"))
    added, special = {}, set()
    p = os.path.join(d, "added_tokens.json")
    if os.path.exists(p):
        added.update(json.load(open(p, encoding="utf-8")))
    for i, t in json.load(open(os.path.join(d, "tokenizer_config.json"), encoding="utf-8")).get(
            "added_tokens_decoder", {}).items():
        added[t["content"]] = int(i)
        if t.get("special"):
            special.add(t["content"])
    rev = {i: t for t, i in vocab.items()}
    addrev = {i: t for t, i in added.items()}
    tokens, types = [], []
    for i in range(vocab_size):
        if i in addrev:
            tokens.append(addrev[i])
            types.append(gguf.TokenType.CONTROL if addrev[i] in special else gguf.TokenType.USER_DEFINED)
        elif i in rev:
            tokens.append(rev[i])
            types.append(gguf.TokenType.NORMAL)
        else:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
    merges = [ln.rstrip("\n") for ln in open(os.path.join(d, "merges.txt"), encoding="utf-8")
              if ln.strip() and not ln.startswith("#version")]
    return tokens, types, merges


def plan(s):
    """(GGUF name, numpy shape [rows, cols] or [n]) in llama.cpp's order."""
    h, q, kv, f, v = s["hidden"], s["heads"] * s["head_dim"], s["kv"] * s["head_dim"], s["inter"], s["vocab"]
    out = [("token_embd.weight", (v, h))]
    for i in range(s["layers"]):
        b = f"blk.{i}."
        out += [(b + "attn_norm.weight", (h,)),
                (b + "attn_q.weight", (q, h)), (b + "attn_q.bias", (q,)),
                (b + "attn_k.weight", (kv, h)), (b + "attn_k.bias", (kv,)),
                (b + "attn_v.weight", (kv, h)), (b + "attn_v.bias", (kv,)),
                (b + "attn_output.weight", (h, q)),
                (b + "ffn_norm.weight", (h,)),
                (b + "ffn_gate.weight", (f, h)), (b + "ffn_up.weight", (f, h)), (b + "ffn_down.weight", (h, f))]
    out += [("output_norm.weight", (h,)), ("output.weight", (v, h))]
    return out


def values(name, shape, seed):
    """The tensor's float32 values, bf16-representable."""
    if name.endswith("norm.weight"):
        return np.ones(shape, dtype=np.float32)
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    x = rng.standard_normal(shape, dtype=np.float32)
    x *= np.float32(0.02)
    u = x.view(np.uint32)
    u += np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))  # round to nearest even
    u &= np.uint32(0xFFFF0000)
    return x


def encode(x, typ):
    """The bytes (as a numpy array) and raw type of x stored as typ: vectors
    stay F32, as llama.cpp's converter keeps them."""
    if x.ndim == 1 or typ == "f32":
        return x, None
    qt = TYPES[typ][0]
    return gguf.quants.quantize(x, qt), qt


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", default="qwen0.5b", choices=sorted(SHAPES))
    ap.add_argument("--tokenizer", required=True, help="directory with vocab.json, merges.txt, tokenizer_config.json")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--context", type=int, default=32768)
    ap.add_argument("prefix")
    ap.add_argument("types", nargs="+", choices=sorted(TYPES))
    a = ap.parse_args()
    s = SHAPES[a.shape]
    tokens, types, merges = tokenizer(a.tokenizer, s["vocab"])
    tensors = plan(s)
    writers = {}
    for t in a.types:
        w = gguf.GGUFWriter(f"{a.prefix}-{t}.gguf", "dream")
        w.add_name(f"random-dream-{a.shape}")
        w.add_block_count(s["layers"])
        w.add_context_length(a.context)
        w.add_embedding_length(s["hidden"])
        w.add_feed_forward_length(s["inter"])
        w.add_head_count(s["heads"])
        w.add_head_count_kv(s["kv"])
        w.add_key_length(s["head_dim"])
        w.add_value_length(s["head_dim"])
        w.add_rope_freq_base(1e6)
        w.add_layer_norm_rms_eps(1e-6)
        w.add_causal_attention(False)
        w.add_file_type(TYPES[t][1])
        w.add_quantization_version(gguf.GGML_QUANT_VERSION)
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre("qwen2")
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_merges(merges)
        w.add_bos_token_id(EOT)
        w.add_eos_token_id(EOT)
        w.add_pad_token_id(EOT)
        w.add_mask_token_id(MASK)
        w.add_add_bos_token(False)
        w.add_add_eos_token(False)
        w.add_chat_template(RAW_TEMPLATE)
        for name, shape in tensors:
            n = int(np.prod(shape))
            if len(shape) == 1 or t == "f32":
                w.add_tensor_info(name, shape, np.dtype(np.float32), n * 4)
            else:
                qt = TYPES[t][0]
                bshape = gguf.quant_shape_to_byte_shape(shape, qt)
                w.add_tensor_info(name, bshape, np.dtype(np.uint8), int(np.prod(bshape)), raw_dtype=qt)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_ti_data_to_file()
        writers[t] = w
    for name, shape in tensors:
        x = values(name, shape, a.seed)
        for t, w in writers.items():
            data, _ = encode(x, t)
            w.write_tensor_data(data)
    for t, w in writers.items():
        w.close()
        print(f"{a.prefix}-{t}.gguf")


if __name__ == "__main__":
    main()
