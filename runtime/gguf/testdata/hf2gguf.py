#!/usr/bin/env python3
"""Convert a Hugging Face Dream checkpoint (safetensors, config.json and
optionally vocab.json/merges.txt) to a GGUF file laid out as llama.cpp's
convert_hf_to_gguf.py writes arch "dream": the same metadata keys, tensor
names (token_embd, blk.N.attn_q ...), tokenizer arrays and tensor types
(--type f32: everything F32; bf16: matrices BF16, vectors F32; q8_0:
matrices Q8_0 where rows are a multiple of 32, else F16; vectors F32).

It is written from the GGUF spec (ggml docs/gguf.md) with the standard
library and numpy only, independently of the Go reader it checks
(runtime/gguf), because Debian bookworm has no python3-gguf.

usage: hf2gguf.py MODEL_DIR OUT.gguf [--type f32|bf16|q8_0]
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

ALIGN = 32
T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR, T_U64 = 4, 5, 6, 7, 8, 9, 10
G_F32, G_F16, G_Q8_0, G_BF16 = 0, 1, 8, 30


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    hdr = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for name, info in hdr.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = np.frombuffer(body[a:b], dtype=np.uint8)
        dt = info["dtype"]
        if dt == "BF16":
            v = (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif dt == "F16":
            v = raw.view(np.float16).astype(np.float32)
        elif dt == "F32":
            v = raw.view(np.float32)
        else:
            sys.exit(f"{path}: {name}: dtype {dt} not handled")
        out[name] = v.reshape(info["shape"])
    return out


def load_tensors(d):
    idx = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(idx):
        files = sorted(set(json.load(open(idx))["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    t = {}
    for f in files:
        t.update(read_safetensors(os.path.join(d, f)))
    return t


def gguf_name(hf):
    fixed = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}
    if hf in fixed:
        return fixed[hf]
    p = hf.split(".")
    assert p[0] == "model" and p[1] == "layers", hf
    rest = ".".join(p[3:])
    m = {"input_layernorm.weight": "attn_norm.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
         "self_attn.q_proj.weight": "attn_q.weight", "self_attn.q_proj.bias": "attn_q.bias",
         "self_attn.k_proj.weight": "attn_k.weight", "self_attn.k_proj.bias": "attn_k.bias",
         "self_attn.v_proj.weight": "attn_v.weight", "self_attn.v_proj.bias": "attn_v.bias",
         "self_attn.o_proj.weight": "attn_output.weight", "mlp.gate_proj.weight": "ffn_gate.weight",
         "mlp.up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight"}
    return f"blk.{p[2]}.{m[rest]}"


def to_bf16(x):
    u = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    return r.tobytes()


def to_q8_0(x):
    """ggml's quantize_row_q8_0_ref: d = amax/127, q = roundf(x/d)."""
    b = x.astype(np.float32).reshape(-1, 32)
    amax = np.abs(b).max(axis=1)
    d = (amax / np.float32(127)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    v = (b * inv[:, None]).astype(np.float32)
    q = (np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))).astype(np.int8)
    out = np.zeros((b.shape[0], 34), dtype=np.uint8)
    out[:, 0:2] = d.astype(np.float16).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q.view(np.uint8)
    return out.tobytes()


class Writer:
    def __init__(self):
        self.kv = []
        self.tensors = []

    def s(self, x):
        b = x.encode("utf-8")
        return struct.pack("<Q", len(b)) + b

    def add(self, key, typ, val, elem=None):
        self.kv.append((key, typ, val, elem))

    def value(self, typ, val, elem):
        if typ == T_U32:
            return struct.pack("<I", val)
        if typ == T_I32:
            return struct.pack("<i", val)
        if typ == T_F32:
            return struct.pack("<f", val)
        if typ == T_BOOL:
            return struct.pack("<B", 1 if val else 0)
        if typ == T_STR:
            return self.s(val)
        if typ == T_ARR:
            return struct.pack("<IQ", elem, len(val)) + b"".join(self.value(elem, v, None) for v in val)
        raise ValueError(typ)

    def write(self, path):
        head = b"GGUF" + struct.pack("<IQQ", 3, len(self.tensors), len(self.kv))
        for key, typ, val, elem in self.kv:
            head += self.s(key) + struct.pack("<I", typ) + self.value(typ, val, elem)
        off = 0
        blobs = []
        for name, dims, typ, data in self.tensors:
            head += self.s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
            head += struct.pack("<IQ", typ, off)
            pad = (-len(data)) % ALIGN
            blobs.append(data + b"\0" * pad)
            off += len(data) + pad
        head += b"\0" * ((-len(head)) % ALIGN)
        with open(path, "wb") as f:
            f.write(head)
            for b in blobs:
                f.write(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--type", default="f32", choices=["f32", "bf16", "q8_0"])
    a = ap.parse_args()
    cfg = json.load(open(os.path.join(a.model, "config.json")))
    w = Writer()
    w.add("general.architecture", T_STR, "dream")
    w.add("general.name", T_STR, os.path.basename(a.model.rstrip("/")))
    w.add("dream.block_count", T_U32, cfg["num_hidden_layers"])
    w.add("dream.context_length", T_U32, cfg["max_position_embeddings"])
    w.add("dream.embedding_length", T_U32, cfg["hidden_size"])
    w.add("dream.feed_forward_length", T_U32, cfg["intermediate_size"])
    w.add("dream.attention.head_count", T_U32, cfg["num_attention_heads"])
    w.add("dream.attention.head_count_kv", T_U32, cfg["num_key_value_heads"])
    w.add("dream.rope.freq_base", T_F32, float(cfg["rope_theta"]))
    w.add("dream.attention.layer_norm_rms_epsilon", T_F32, float(cfg["rms_norm_eps"]))
    w.add("general.file_type", T_U32, {"f32": 0, "bf16": 32, "q8_0": 7}[a.type])
    w.add("dream.attention.causal", T_BOOL, False)
    vocab_path = os.path.join(a.model, "vocab.json")
    V = cfg["vocab_size"]
    if os.path.exists(vocab_path):
        vocab = json.load(open(vocab_path))
        added, special = {}, set()
        ap_ = os.path.join(a.model, "added_tokens.json")
        if os.path.exists(ap_):
            added = json.load(open(ap_))
        tc = os.path.join(a.model, "tokenizer_config.json")
        if os.path.exists(tc):
            for i, d in json.load(open(tc)).get("added_tokens_decoder", {}).items():
                added[d["content"]] = int(i)
                if d.get("special"):
                    special.add(d["content"])
        rev = {i: t for t, i in vocab.items()}
        addrev = {i: t for t, i in added.items()}
        tokens, types = [], []
        for i in range(V):
            if i in addrev:
                tokens.append(addrev[i])
                types.append(3 if addrev[i] in special else 4)
            elif i in rev:
                tokens.append(rev[i])
                types.append(1)
            else:
                tokens.append(f"[PAD{i}]")
                types.append(5)
        merges = [l.rstrip("\n") for l in open(os.path.join(a.model, "merges.txt"), encoding="utf-8")
                  if l.strip() and not l.startswith("#version")]
        w.add("tokenizer.ggml.model", T_STR, "gpt2")
        w.add("tokenizer.ggml.pre", T_STR, "qwen2")
        w.add("tokenizer.ggml.tokens", T_ARR, tokens, T_STR)
        w.add("tokenizer.ggml.token_type", T_ARR, types, T_I32)
        w.add("tokenizer.ggml.merges", T_ARR, merges, T_STR)
    for key, hf in [("bos", "bos_token_id"), ("eos", "eos_token_id"), ("padding", "pad_token_id"), ("mask", "mask_token_id")]:
        if cfg.get(hf) is not None:
            w.add(f"tokenizer.ggml.{key}_token_id", T_U32, cfg[hf])
    w.add("general.quantization_version", T_U32, 2)
    for hf, t in sorted(load_tensors(a.model).items()):
        dims = list(reversed(t.shape))  # ggml: innermost first
        if a.type == "f32" or t.ndim == 1:
            typ, data = G_F32, t.astype(np.float32).tobytes()
        elif a.type == "bf16":
            typ, data = G_BF16, to_bf16(t)
        elif t.shape[-1] % 32 == 0:
            typ, data = G_Q8_0, to_q8_0(t)
        else:
            typ, data = G_F16, t.astype(np.float16).tobytes()
        w.tensors.append((gguf_name(hf), dims, typ, data))
    w.write(a.out)


if __name__ == "__main__":
    main()
