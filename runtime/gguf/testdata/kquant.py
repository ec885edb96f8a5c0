#!/usr/bin/env python3
"""Independent helpers for the k-quant tests, built on Debian's python3-gguf
(gguf-py, unpacked by infill/remote/testdata/fetch-llama.sh; put its
dist-packages on PYTHONPATH):

  kquant.py model OUT.gguf
      writes a random-weight Dream model (arch "dream", llama.cpp's tensor
      names) in F32 whose every matrix has rows a multiple of 256, so that
      llama-quantize can make it Q4_K_M with Q4_K and Q6_K only (narrower
      rows fall back to Q5_0 and Q8_0);
  kquant.py model OUT f64
      the same with blk.0.attn_q.weight stored as F64 (a type no weight
      is read in);
  kquant.py dequant-blocks TYPE IN OUT
      dequantizes raw blocks of TYPE (a backend format name: q4_K, q5_0,
      iq4_nl, ...) in IN to little-endian float32 (OUT) with
      gguf.quants.dequantize;
  kquant.py ggml-blocks TYPE VALUES IN OUT LIB
      dequantizes raw blocks of TYPE in IN (VALUES values in all) to
      little-endian float32 (OUT) with ggml's own C decoder,
      dequantize_row_TYPE of libggml-base (LIB), through ctypes;
  kquant.py imatrix IN.gguf OUT.gguf
      writes an importance matrix for IN's layer weights in llama.cpp's
      GGUF imatrix format, every column equally important (what
      llama-quantize needs to write the IQ1 and IQ2 types and IQ3_XXS);
  kquant.py dequant-file IN.gguf OUT.gguf
      rewrites IN with every quantized tensor replaced by gguf-py's float32
      dequantization of it (metadata copied), the float32 model a
      quantized file stands for.
"""
import sys

import numpy as np
import gguf

ARCH = "dream"
SHAPE = dict(hidden=256, layers=2, heads=4, kv=2, head_dim=64, inter=512, vocab=512)


def write_model(out, f64=False):
    s = SHAPE
    rng = np.random.default_rng(20261202)
    w = gguf.GGUFWriter(out, ARCH)
    w.add_context_length(1024)
    w.add_embedding_length(s["hidden"])
    w.add_block_count(s["layers"])
    w.add_feed_forward_length(s["inter"])
    w.add_head_count(s["heads"])
    w.add_head_count_kv(s["kv"])
    w.add_key_length(s["head_dim"])
    w.add_value_length(s["head_dim"])
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_mask_token_id(s["vocab"] - 1)
    w.add_bos_token_id(s["vocab"] - 2)
    w.add_eos_token_id(s["vocab"] - 2)
    w.add_pad_token_id(s["vocab"] - 3)

    def mat(rows, cols, std):
        return (rng.standard_normal((rows, cols)) * std).astype(np.float32)

    h, q, kv, f, v = s["hidden"], s["heads"] * s["head_dim"], s["kv"] * s["head_dim"], s["inter"], s["vocab"]
    w.add_tensor("token_embd.weight", mat(v, h, 1.0))
    for i in range(s["layers"]):
        p = "blk.%d." % i
        w.add_tensor(p + "attn_norm.weight", (1 + 0.1 * rng.standard_normal(h)).astype(np.float32))
        wq = mat(q, h, h ** -0.5)
        w.add_tensor(p + "attn_q.weight", wq.astype(np.float64) if f64 and i == 0 else wq)
        w.add_tensor(p + "attn_q.bias", mat(1, q, 0.1)[0])
        w.add_tensor(p + "attn_k.weight", mat(kv, h, h ** -0.5))
        w.add_tensor(p + "attn_k.bias", mat(1, kv, 0.1)[0])
        w.add_tensor(p + "attn_v.weight", mat(kv, h, h ** -0.5))
        w.add_tensor(p + "attn_v.bias", mat(1, kv, 0.1)[0])
        w.add_tensor(p + "attn_output.weight", mat(h, q, q ** -0.5))
        w.add_tensor(p + "ffn_norm.weight", (1 + 0.1 * rng.standard_normal(h)).astype(np.float32))
        w.add_tensor(p + "ffn_gate.weight", mat(f, h, h ** -0.5))
        w.add_tensor(p + "ffn_up.weight", mat(f, h, h ** -0.5))
        w.add_tensor(p + "ffn_down.weight", mat(h, f, f ** -0.5))
    w.add_tensor("output_norm.weight", np.ones(h, dtype=np.float32))
    # Logits a few units wide: greedy choices are decided, as in a trained
    # model, not by the last bits.
    w.add_tensor("output.weight", mat(v, h, 4 * h ** -0.5))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def dequant_blocks(typ, src, out):
    qt = gguf.GGMLQuantizationType[typ.upper()]
    raw = np.fromfile(src, dtype=np.uint8)
    gguf.quants.dequantize(raw, qt).astype("<f4").tofile(out)


def dequant_file(src, out):
    r = gguf.GGUFReader(src)
    arch = r.fields["general.architecture"]
    w = gguf.GGUFWriter(out, bytes(arch.parts[arch.data[0]]).decode())
    for name, field in r.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        vt = field.types[0]
        if vt == gguf.GGUFValueType.ARRAY:
            et = field.types[1]
            if et == gguf.GGUFValueType.STRING:
                val = [bytes(field.parts[i]).decode() for i in field.data]
            else:
                val = [field.parts[i][0].item() for i in field.data]
            w.add_key_value(name, val, vt, sub_type=et)
        elif vt == gguf.GGUFValueType.STRING:
            w.add_key_value(name, bytes(field.parts[field.data[0]]).decode(), vt)
        else:
            w.add_key_value(name, field.parts[field.data[0]][0].item(), vt)
    for t in r.tensors:
        shape = tuple(int(d) for d in reversed(t.shape))
        data = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32).reshape(shape)
        w.add_tensor(t.name, data)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def ggml_blocks(typ, n, inp, out, lib):
    import ctypes

    fn = getattr(ctypes.CDLL(lib), "dequantize_row_" + typ)
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
    fn.restype = None
    raw = np.fromfile(inp, dtype=np.uint8)
    y = np.zeros(n, dtype=np.float32)
    fn(raw.ctypes.data, y.ctypes.data, n)
    y.tofile(out)


def write_imatrix(src, out):
    r = gguf.GGUFReader(src)
    w = gguf.GGUFWriter(out, "imatrix")
    w.add_type("imatrix")
    w.add_array("imatrix.datasets", ["uniform"])
    w.add_uint32("imatrix.chunk_count", 1)
    w.add_uint32("imatrix.chunk_size", 512)
    for t in r.tensors:
        if t.name.startswith("blk.") and t.name.endswith(".weight") and len(t.shape) == 2:
            w.add_tensor(t.name + ".in_sum2", np.ones((1, int(t.shape[0])), np.float32))
            w.add_tensor(t.name + ".counts", np.ones((1, 1), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    cmd = sys.argv[1]
    if cmd == "model":
        write_model(sys.argv[2], f64=sys.argv[3:] == ["f64"])
    elif cmd == "dequant-blocks":
        dequant_blocks(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "ggml-blocks":
        ggml_blocks(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6])
    elif cmd == "imatrix":
        write_imatrix(sys.argv[2], sys.argv[3])
    elif cmd == "dequant-file":
        dequant_file(sys.argv[2], sys.argv[3])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
