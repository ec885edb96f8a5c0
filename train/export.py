"""Export a trained model as a Hugging Face Dream directory that runtime/engine loads.

Files: config.json (model_type "Dream", every key of Dream-v0-7B's config with our sizes),
generation_config.json, tokenizer.json, model.safetensors (bf16) or, above --shard-mib,
model-0000i-of-0000n.safetensors + model.safetensors.index.json.

Usage: /usr/bin/python3 train/export.py --ckpt train/work/ckpt.pt --out runtime/builtin/model
"""

import argparse
import json
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
import model as M  # noqa: E402
import st  # noqa: E402


def hf_config(c):
    return {
        "_name_or_path": "dream-lsp/builtin-cpu",
        "architectures": ["DreamModel"],
        "attention_dropout": 0.0,
        "auto_map": {"AutoConfig": "configuration_dream.DreamConfig", "AutoModel": "modeling_dream.DreamModel"},
        "bos_token_id": c.bos_token_id,
        "eos_token_id": c.eos_token_id,
        "hidden_act": "silu",
        "hidden_size": c.hidden_size,
        "initializer_range": 0.02,
        "intermediate_size": c.intermediate_size,
        "mask_token_id": c.mask_token_id,
        "max_position_embeddings": c.max_position_embeddings,
        "max_window_layers": c.num_hidden_layers,
        "model_type": "Dream",
        "num_attention_heads": c.num_attention_heads,
        "num_hidden_layers": c.num_hidden_layers,
        "num_key_value_heads": c.num_key_value_heads,
        "pad_token_id": c.pad_token_id,
        "rms_norm_eps": c.rms_norm_eps,
        "rope_scaling": None,
        "rope_theta": c.rope_theta,
        "sliding_window": None,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.46.2",
        "use_cache": False,
        "use_mrope": False,
        "use_sliding_window": False,
        "vocab_size": c.vocab_size,
    }


def generation_config(c):
    return {
        "_from_model_config": True,
        "alg": "maskgit_plus",
        "alg_temp": None,
        "bos_token_id": c.bos_token_id,
        "eos_token_id": c.eos_token_id,
        "eps": 0.001,
        "mask_token_id": c.mask_token_id,
        "output_history": False,
        "pad_token_id": c.pad_token_id,
        "steps": 512,
        "temperature": 0.0,
        "top_k": None,
        "top_p": None,
        "transformers_version": "4.46.2",
    }


def export(net, tok, out, shard_mib=16, dtype=torch.bfloat16):
    """Write the directory; returns the list of files written."""
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        if f.endswith(".safetensors") or f.endswith(".json"):
            os.remove(os.path.join(out, f))
    c = net.config
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(hf_config(c), f, indent=2, sort_keys=True)
        f.write("\n")
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump(generation_config(c), f, indent=2, sort_keys=True)
        f.write("\n")
    tok.save(os.path.join(out, "tokenizer.json"))
    tensors = {k: v.detach().to(dtype).contiguous() for k, v in net.state_dict().items()}
    limit = shard_mib * 1024 * 1024 - 64 * 1024  # leave room for the header
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    if total <= limit:
        st.save(tensors, os.path.join(out, "model.safetensors"), {"format": "pt"})
    else:
        shards = [[]]
        size = 0
        for name in sorted(tensors):
            n = tensors[name].numel() * tensors[name].element_size()
            if size + n > limit and shards[-1]:
                shards.append([])
                size = 0
            shards[-1].append(name)
            size += n
        weight_map = {}
        for i, names in enumerate(shards):
            fn = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
            st.save({k: tensors[k] for k in names}, os.path.join(out, fn), {"format": "pt"})
            weight_map.update({k: fn for k in names})
        with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
            f.write("\n")
    return sorted(os.listdir(out))


def load_dir(d):
    """Load an exported directory back (weights upcast to float32) with its tokenizer."""
    cfg = json.load(open(os.path.join(d, "config.json")))
    c = M.Config.from_dict(cfg)
    net = M.Dream(c)
    idx = os.path.join(d, "model.safetensors.index.json")
    tensors = {}
    if os.path.exists(idx):
        for f in sorted(set(json.load(open(idx))["weight_map"].values())):
            tensors.update(st.load(os.path.join(d, f)))
    else:
        tensors = st.load(os.path.join(d, "model.safetensors"))
    net.load_state_dict({k: v.float() for k, v in tensors.items()})
    return net.eval(), bpe.Tokenizer.load(os.path.join(d, "tokenizer.json"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--shard-mib", type=int, default=16)
    ap.add_argument("--f32", action="store_true", help="store float32 instead of bfloat16")
    ap.add_argument("--max-pos", type=int, default=0,
                    help="record this max_position_embeddings instead of the checkpoint's (RoPE has no learned "
                         "positions; use the longest canvas the model was trained on so callers stay within it)")
    a = ap.parse_args()
    ck = torch.load(a.ckpt, map_location="cpu")
    cfg = dict(ck["config"])
    if a.max_pos:
        cfg["max_position_embeddings"] = a.max_pos
    net = M.Dream(M.Config.from_dict(cfg))
    net.load_state_dict(ck["model"])
    tok = bpe.Tokenizer.load(ck["tokenizer"])
    files = export(net, tok, a.out, a.shard_mib, torch.float32 if a.f32 else torch.bfloat16)
    card = os.path.join(os.path.dirname(a.ckpt), "model_card.json")
    if os.path.exists(card):
        shutil.copy(card, os.path.join(a.out, "..", "model_card.json"))
    print("wrote", a.out, files)


if __name__ == "__main__":
    main()
