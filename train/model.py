"""The Dream architecture (Qwen2 layers with bidirectional attention) in PyTorch.

Tensor names and [out, in] shapes are those of Dream-v0-7B (../shared/docs/dream-model.md §3):
q/k/v projections carry biases, o/gate/up/down do not, lm_head is untied. The hidden state at
position j scores the token at position j+1 (the logit shift, §5).
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Config:
    """Model sizes; the names follow config.json."""

    def __init__(self, vocab_size=4096, hidden_size=256, intermediate_size=704,
                 num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
                 rope_theta=10000.0, rms_norm_eps=1e-6, max_position_embeddings=2048,
                 mask_token_id=4095, eos_token_id=4093, pad_token_id=4093, bos_token_id=4093):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.num_key_value_heads = num_key_value_heads
        self.rope_theta = rope_theta
        self.rms_norm_eps = rms_norm_eps
        self.max_position_embeddings = max_position_embeddings
        self.mask_token_id = mask_token_id
        self.eos_token_id = eos_token_id
        self.pad_token_id = pad_token_id
        self.bos_token_id = bos_token_id

    @property
    def head_dim(self):
        return self.hidden_size // self.num_attention_heads

    def to_dict(self):
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d):
        keys = cls().__dict__.keys()
        return cls(**{k: v for k, v in d.items() if k in keys})


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope_cos_sin(positions, head_dim, theta, dtype):
    """cos, sin of shape [L, head_dim] for NeoX rotate-half RoPE."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    freqs = positions.float()[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        hd = c.head_dim
        self.q_proj = nn.Linear(c.hidden_size, c.num_attention_heads * hd, bias=True)
        self.k_proj = nn.Linear(c.hidden_size, c.num_key_value_heads * hd, bias=True)
        self.v_proj = nn.Linear(c.hidden_size, c.num_key_value_heads * hd, bias=True)
        self.o_proj = nn.Linear(c.num_attention_heads * hd, c.hidden_size, bias=False)

    def forward(self, x, cos, sin, attn_bias=None):
        b, n, _ = x.shape
        c = self.c
        hd = c.head_dim
        q = self.q_proj(x).view(b, n, c.num_attention_heads, hd).transpose(1, 2)
        k = self.k_proj(x).view(b, n, c.num_key_value_heads, hd).transpose(1, 2)
        v = self.v_proj(x).view(b, n, c.num_key_value_heads, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = c.num_attention_heads // c.num_key_value_heads
        if rep > 1:
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        att = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)
        if attn_bias is not None:
            att = att + attn_bias
        att = torch.softmax(att.float(), dim=-1).to(q.dtype)  # bidirectional: no causal mask
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, n, -1)
        return self.o_proj(y)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.mlp = MLP(c)

    def forward(self, x, cos, sin, attn_bias=None):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, attn_bias)
        return x + self.mlp(self.post_attention_layernorm(x))


class Inner(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList([Layer(c) for _ in range(c.num_hidden_layers)])
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)


class Dream(nn.Module):
    """DreamModel: model.* (embeddings, layers, norm) and an untied lm_head."""

    def __init__(self, c):
        super().__init__()
        self.config = c
        self.model = Inner(c)
        self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)

    def init_weights(self, gen, std=0.02):
        for name, p in self.named_parameters():
            if name.endswith("layernorm.weight") or name.endswith("norm.weight"):
                nn.init.ones_(p)
            elif name.endswith(".bias"):
                nn.init.zeros_(p)
            else:
                with torch.no_grad():
                    p.copy_(torch.randn(p.shape, generator=gen) * std)
        # Scale residual output projections down (GPT-2 style) for stable early training.
        for layer in self.model.layers:
            with torch.no_grad():
                layer.self_attn.o_proj.weight.mul_(1.0 / math.sqrt(2 * len(self.model.layers)))
                layer.mlp.down_proj.weight.mul_(1.0 / math.sqrt(2 * len(self.model.layers)))

    def hidden(self, ids, positions=None, attn_bias=None):
        """Final normed hidden states [B, L, H] for token ids [B, L]."""
        b, n = ids.shape
        if positions is None:
            positions = torch.arange(n)
        x = self.model.embed_tokens(ids)
        cos, sin = rope_cos_sin(positions, self.config.head_dim, self.config.rope_theta, x.dtype)
        for layer in self.model.layers:
            x = layer(x, cos, sin, attn_bias)
        return self.model.norm(x)

    def shifted_logits(self, ids):
        """Logits [B, L, V] where row p scores the token at position p (row 0 copies raw row 0)."""
        raw = self.lm_head(self.hidden(ids))
        return torch.cat([raw[:, :1], raw[:, :-1]], dim=1)
