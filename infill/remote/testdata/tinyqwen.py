#!/usr/bin/env python3
"""Write a tiny Qwen2-architecture GGUF for llama-server, with Debian's python3-gguf.

The model is built by hand, not trained: every transformer block is zero (the
residual stream is the token's embedding), so the next token depends only on
the current one. Embeddings are a constant first coordinate plus a random
+-1 code; the output row of a token is the sum of its predecessors' codes, and
<|endoftext|> reads the constant coordinate. Greedy decoding therefore walks a
fixed chain: after <|fim_middle|> or a tab it writes CHAIN, then ends. The
vocabulary is byte-level BPE (GPT-2 byte mapping, Qwen2 pre-tokenizer) with
Qwen's FIM tokens, so llama-server's /infill and /v1/completions both work.

    python3 tinyqwen.py OUT.gguf
"""
import random
import sys

import numpy as np
import gguf

CHAIN = "go f()"  # distinct bytes: a bigram chain cannot repeat one
SPECIALS = ["<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
            "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"]


def byte_tokens():
    """GPT-2's byte-to-unicode table: 256 printable stand-ins, in byte order."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, (chr(c) for c in cs)))
    return [table[b] for b in range(256)]


def main(out):
    rng = random.Random(7)
    tokens = byte_tokens() + ["ĠĠ"] + SPECIALS
    types = [gguf.TokenType.NORMAL] * 257 + [gguf.TokenType.CONTROL] * len(SPECIALS)
    vocab = 288  # padded (the embedding rows past the tokens are unused)
    while len(tokens) < vocab:
        tokens.append(f"[PAD{len(tokens)}]")
        types.append(gguf.TokenType.UNUSED)
    ids = {t: i for i, t in enumerate(tokens)}
    n_embd, n_ff, n_head, n_kv, n_layer, ctx = 64, 128, 4, 2, 2, 2048

    codes = np.array([[rng.choice((-1.0, 1.0)) for _ in range(n_embd - 1)] for _ in range(vocab)], dtype=np.float32)
    embd = np.concatenate([np.ones((vocab, 1), np.float32), codes], axis=1)
    out_w = np.zeros((vocab, n_embd), np.float32)
    out_w[ids["<|endoftext|>"], 0] = 60.0  # wins unless a chain row does (~2*63)
    table = byte_tokens()
    chain = [table[b] for b in CHAIN.encode()]
    preds = {chain[0]: ["<|fim_middle|>", table[ord("\t")]]}
    for a, b in zip(chain, chain[1:]):
        preds.setdefault(b, []).append(a)
    for tok, ps in preds.items():
        for p in ps:
            out_w[ids[tok], 1:] += 2.0 * codes[ids[p]]

    w = gguf.GGUFWriter(out, "qwen2")
    w.add_name("dream-lsp test tiny qwen2 (hand-built chain)")
    w.add_context_length(ctx)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(10000.0)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(["Ġ Ġ"])
    w.add_bos_token_id(ids["<|endoftext|>"])
    w.add_eos_token_id(ids["<|endoftext|>"])
    w.add_pad_token_id(ids["<|endoftext|>"])
    w.add_add_bos_token(False)

    head_dim = n_embd // n_head
    z = lambda *s: np.zeros(s, np.float32)
    w.add_tensor("token_embd.weight", embd)
    w.add_tensor("output_norm.weight", np.ones(n_embd, np.float32))
    w.add_tensor("output.weight", out_w)
    for i in range(n_layer):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", np.ones(n_embd, np.float32))
        w.add_tensor(p + "attn_q.weight", z(n_embd, n_embd))
        w.add_tensor(p + "attn_q.bias", z(n_embd))
        w.add_tensor(p + "attn_k.weight", z(n_kv * head_dim, n_embd))
        w.add_tensor(p + "attn_k.bias", z(n_kv * head_dim))
        w.add_tensor(p + "attn_v.weight", z(n_kv * head_dim, n_embd))
        w.add_tensor(p + "attn_v.bias", z(n_kv * head_dim))
        w.add_tensor(p + "attn_output.weight", z(n_embd, n_embd))
        w.add_tensor(p + "ffn_norm.weight", np.ones(n_embd, np.float32))
        w.add_tensor(p + "ffn_gate.weight", z(n_ff, n_embd))
        w.add_tensor(p + "ffn_up.weight", z(n_ff, n_embd))
        w.add_tensor(p + "ffn_down.weight", z(n_embd, n_ff))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main(sys.argv[1])
