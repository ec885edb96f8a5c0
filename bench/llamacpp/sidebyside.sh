#!/usr/bin/env bash
# dream-lsp beside llama.cpp's llama-diffusion-cli (Debian's llama.cpp, unpacked by
# infill/remote/testdata/fetch-llama.sh) on the same random-weight Dream GGUF files shaped like
# Qwen2.5-0.5B (bench/llamacpp/mkdream.py) at F32, BF16 and Q8_0: 256 prompt tokens + 64 masks,
# 2 threads, greedy.
#
#   bash bench/llamacpp/sidebyside.sh            # agreement and timing; prints the table
#   PHASES=time bash bench/llamacpp/sidebyside.sh
#
# Environment: SHAPE (qwen0.5b, the default, or qwen0.5b-k: hidden 1024 and 16 heads, every row
# whole 256-value super-blocks as in Dream 7B, so llama-quantize's k-quant and IQ types fall back
# nowhere; files q05-* and q05k-*), DREAM (a dream-lsp binary; default: built from a clean snapshot of HEAD), MODELS (folder of the GGUF files, written there when missing; default
# /tmp/llamacpp15), OUT (results; default $MODELS/run-<UTC time>), PHASES ("agree time"),
# AGREE_FORMATS / TIME_FORMATS ("f32 bf16 q8_0"; q4km adds llama-quantize's Q4_K_M, q5km its Q5_K_M,
# iq4_xs its IQ4_XS and so on: below), LLAMA_GGML_BACKEND (default best: the ggml CPU
# variant this CPU scores highest), SHORT/LONG (llama.cpp step counts whose difference gives its
# CPU per step; 2 and 8), OURSTEPS (dream-lsp bench's denoise steps, 8), AGREE_STEPS (64),
# SIDES (what the time phase runs: llama = llama.cpp at 2 threads, llama1 = llama.cpp at one thread,
# where ggml's barrier spinning cannot inflate its CPU time on an oversubscribed machine, ours =
# dream-lsp bench; default "llama ours"; llama.cpp's numbers do not change with our commits, so a
# rerun for a new commit needs only ours, with LLAMA_RESULTS naming the earlier results.tsv),
# OURMATMUL (dream-lsp bench's --matmul: f32 by default, bf16 for the AMX tiles), PERBLOCK (1, the
# default: ours also at Fast-dLLM's per-block dual cache, blocks of 32 and one reveal a step; 0 to
# skip), ROUNDS (1: the time phase's sides run in turn this many times, and the table gives each
# round's ratios, against that round's llama.cpp, and their medians: on a shared VM whose speed
# moves from minute to minute only ratios measured side by side mean anything).
#
# (a) Agreement: llama-diffusion-cli --top-k 1 with one block over the canvas and 64 steps reveals
#     one mask per step, the leftmost (every confidence is 1, ties go to the lower position);
#     dream-lsp debug denoise with confidence_threshold and blocks of one slot does the same. No
#     K/V cache on our side. With AGREE_STEPS < 64 both reveal the leftmost masks in Dream's timestep
#     schedule (llama.cpp --diffusion-eps 1e-3; ours confidence_threshold in blocks of one slot
#     commits max(k, 1) leftmost, k the schedule's count, never 0 here). llama.cpp prints text, not ids, so the 64 tokens are compared as the
#     text llama.cpp renders them (control tokens empty); the report gives how many leading tokens
#     of ours reproduce a prefix of llama.cpp's text.
# (b) CPU per step: llama.cpp's process CPU (user+sys, /usr/bin/time) at LONG minus at SHORT steps,
#     divided by LONG-SHORT, so loading cancels; dream-lsp bench's own CPU per denoise run (after a
#     warm-up, load excluded) divided by its steps, with the K/V cache off and the dual cache on.
#     Per-block (PERBLOCK=1): dream-lsp bench with confidence_threshold in blocks of 32, 64 steps,
#     the dual cache refreshed at each block (--refresh -1), CPU per step after its warm-up.
# (c) Peak RSS: maxrss of each process (/usr/bin/time), llama.cpp's LONG run and dream-lsp's bench.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
MODELS=${MODELS:-/tmp/llamacpp15}
OUT=${OUT:-$MODELS/run-$(date -u +%Y%m%dT%H%M%SZ)}
PHASES=${PHASES:-agree time}
AGREE_FORMATS=${AGREE_FORMATS:-f32 bf16 q8_0}
TIME_FORMATS=${TIME_FORMATS:-f32 bf16 q8_0}
SHORT=${SHORT:-2}
LONG=${LONG:-8}
OURSTEPS=${OURSTEPS:-8}
AGREE_STEPS=${AGREE_STEPS:-64}
SIDES=${SIDES:-llama ours}
PERBLOCK=${PERBLOCK:-1}
ROUNDS=${ROUNDS:-1}
SHAPE=${SHAPE:-qwen0.5b}
case $SHAPE in
  qwen0.5b) q=q05 ;;
  qwen0.5b-k) q=q05k ;;
  *) echo "sidebyside: SHAPE $SHAPE: qwen0.5b or qwen0.5b-k" >&2; exit 2 ;;
esac
export LLAMA_GGML_BACKEND=${LLAMA_GGML_BACKEND:-best}
NP=256
NM=64
N=$((NP + NM))
llama=$repo/infill/remote/.llama/llama-diffusion-cli
pydist=$repo/infill/remote/.llama/root/usr/lib/python3/dist-packages
tokdir=${TOKDIR:-$repo/../shared/reference/dream-v0-7b}
mkdir -p "$OUT" "$MODELS"
[ -x "$llama" ] || { echo "sidebyside: $llama missing: run bash infill/remote/testdata/fetch-llama.sh" >&2; exit 1; }

# dream-lsp: DREAM if given (say in DREAM_REV what it was built from), else built from a clean
# snapshot of HEAD (other work in progress in the checkout is left out).
commit=$(git rev-parse --short HEAD)
if [ -n "${DREAM:-}" ]; then
  dream=$DREAM
  commit=${DREAM_REV:-"$DREAM (given)"}
else
  dream=$OUT/dream-lsp
  rm -rf "$OUT/src" && mkdir -p "$OUT/src"
  git archive HEAD | tar -x -C "$OUT/src"
  (cd "$OUT/src" && go build -o "$dream" ./cmd/dream-lsp)
  rm -rf "$OUT/src"
fi

for f in f32 bf16 q8_0; do
  if [ ! -s "$MODELS/$q-$f.gguf" ]; then
    echo "sidebyside: writing $MODELS/$q-{f32,bf16,q8_0}.gguf" >&2
    PYTHONPATH=$pydist /usr/bin/python3 bench/llamacpp/mkdream.py --shape "$SHAPE" --tokenizer "$tokdir" "$MODELS/$q" f32 bf16 q8_0 >&2
    break
  fi
done
# Other formats are llama-quantize's of the F32 file, written on first use: q4km is Q4_K_M (mostly
# Q5_0 and Q8_0 at this shape, Q4_K and Q6_K for the 4,864-wide ffn_down rows), q5km Q5_K_M, q3km
# Q3_K_M, q4ks Q4_K_S (the k-quant mixes: q<N>k<m|s|l>), and any other name is the type in capitals
# (q4_0, q6_k, iq4_xs, iq3_m, iq2_xxs: Q4_0, Q6_K, IQ4_XS, IQ3_M, IQ2_XXS). The IQ1, IQ2 and IQ3
# types are the "i1" files': llama-quantize gets an importance matrix for them, every column
# equally important (runtime/gguf/testdata/kquant.py imatrix).
lib=$repo/infill/remote/.llama/root/usr/lib/x86_64-linux-gnu
for f in $(printf '%s\n' $TIME_FORMATS $AGREE_FORMATS | sort -u); do
  case $f in f32 | bf16 | q8_0) continue ;; esac
  [ -s "$MODELS/$q-$f.gguf" ] && continue
  if [[ $f =~ ^q([0-9])k([msl])$ ]]; then
    typ="Q${BASH_REMATCH[1]}_K_${BASH_REMATCH[2]^^}"
  else
    typ=${f^^}
  fi
  imatrix=()
  if [[ $typ =~ ^IQ[123]_ ]]; then
    [ -s "$MODELS/$q-imatrix.gguf" ] ||
      (cd runtime/gguf && PYTHONPATH=$pydist /usr/bin/python3 testdata/kquant.py imatrix "$MODELS/$q-f32.gguf" "$MODELS/$q-imatrix.gguf")
    imatrix=(--imatrix "$MODELS/$q-imatrix.gguf")
  fi
  echo "sidebyside: writing $MODELS/$q-$f.gguf ($typ)" >&2
  GGML_BACKEND_PATH=$lib/ggml/backends0/libggml-cpu-sse42.so "$lib/ld-linux-x86-64.so.2" --library-path "$lib:$lib/llama:$lib/ggml" \
    "$repo/infill/remote/.llama/root/usr/bin/llama-quantize" "${imatrix[@]}" "$MODELS/$q-f32.gguf" "$MODELS/$q-$f.gguf" "$typ" 2 >&2
done

# The prompt: the first 256 tokens of a Go file of this repository, cut where decoding and
# re-encoding give the same 256 ids.
/usr/bin/python3 - "$dream" "$tokdir" "$OUT" "$NP" <<'PY'
import json, subprocess, sys
dream, tokdir, out, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def enc(text):
    r = subprocess.run([dream, "debug", "tokenize", "--model", tokdir, "--plain"], input=text.encode(), capture_output=True, check=True)
    return json.loads(r.stdout)["ids"]
def dec(ids):
    r = subprocess.run([dream, "debug", "tokenize", "--model", tokdir, "--decode"], input=json.dumps(ids).encode(), capture_output=True, check=True)
    return json.loads(r.stdout)["text"]
src = open("runtime/sampler/sampler.go", encoding="utf-8").read()
ids = enc(src)
for start in range(0, 200):
    want = ids[start:start + n]
    text = dec(want)
    if enc(text) == want:
        open(f"{out}/prompt.txt", "w", encoding="utf-8").write(text)
        json.dump(want, open(f"{out}/prompt.json", "w"))
        sys.exit(0)
sys.exit("no stable 256-token window found")
PY
prompt=$(cat "$OUT/prompt.txt")
ids=$(/usr/bin/python3 -c 'import json,sys; print(",".join(map(str, json.load(open(sys.argv[1])))))' "$OUT/prompt.json")
for _ in $(seq $NM); do ids="$ids,mask"; done

# timed CMD...: runs CMD under /usr/bin/time -v into $tv; cpu and rss read from it.
timed() { /usr/bin/time -v -o "$tv" "$@"; }
cpu_of() { awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u+s}' "$1"; }
rss_of() { awk -F': ' '/Maximum resident/ {printf "%.0f", $2/1024}' "$1"; }
llama_args=(-ub "$N" -b "$N" -c "$N" -t 2 -tb 2 --top-k 1 --temp 0 --seed 1 --log-jsonl)
# One block over the canvas: with 64 steps, one reveal per step; with fewer, Dream's own timestep
# schedule (eps 1e-3, floor(n·(1 − s/t)) reveals a step, the rest at the last), which ours runs too.
if [ "$AGREE_STEPS" -eq "$NM" ]; then agree_sched=(--diffusion-block-length "$N"); else agree_sched=(--diffusion-eps 0.001); fi

results=$OUT/results.tsv
: >"$results"
# LLAMA_RESULTS: a previous run's results.tsv whose llama.cpp rows are reused (with SIDES=ours).
[ -n "${LLAMA_RESULTS:-}" ] && grep -E '^llama' "$LLAMA_RESULTS" >>"$results"
backend=""
for phase in $PHASES; do
  case $phase in
  agree)
    for f in $AGREE_FORMATS; do
      m=$MODELS/$q-$f.gguf
      tv=$OUT/agree-llama-$f.time
      timed "$llama" -m "$m" -p "$prompt" "${llama_args[@]}" "${agree_sched[@]}" --diffusion-steps "$AGREE_STEPS" >"$OUT/agree-llama-$f.jsonl" 2>"$OUT/agree-llama-$f.err"
      tv=$OUT/agree-ours-$f.time
      timed "$dream" debug denoise --model "$m" --ids "$ids" --steps "$AGREE_STEPS" --alg confidence_threshold --block-size 1 \
        --eps 0.001 --temperature 0 --top-k 1 --top-p 1 --threads 2 >"$OUT/agree-ours-$f.json" 2>"$OUT/agree-ours-$f.err"
      /usr/bin/python3 - "$OUT" "$f" "$tokdir" "$NP" "$AGREE_STEPS" >>"$results" <<'PY'
import json, sys
out, f, tokdir, n_prompt = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
# llama.cpp's text: the message after "total time", "\n" + text + "\n".
msgs = []
for line in open(f"{out}/agree-llama-{f}.jsonl", "rb"):
    try:
        msgs.append(json.loads(line.decode("utf-8", "surrogateescape"))["msg"])
    except Exception:
        pass
i = max(k for k, m in enumerate(msgs) if "total time:" in m)
theirs = msgs[i + 1][1:-1]
# Ours: the 64 ids rendered as llama.cpp's common_detokenize(special=false) does.
def byte_decoder():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, k = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + k); k += 1
    return {chr(c): b for b, c in zip(bs, cs)}
bd = byte_decoder()
vocab = {i: t for t, i in json.load(open(f"{tokdir}/vocab.json", encoding="utf-8")).items()}
cfg = json.load(open(f"{tokdir}/tokenizer_config.json", encoding="utf-8"))
added = {int(i): (d["content"], d.get("special", False)) for i, d in cfg["added_tokens_decoder"].items()}
promoted = {"<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>", "</s>"}
def piece(t):
    if t in added:
        text, special = added[t]
        return b"" if special or text in promoted else text.encode()
    s = vocab.get(t, "")
    return b"" if s in promoted else bytes(bd[c] for c in s)
gen = json.load(open(f"{out}/agree-ours-{f}.json"))["output"][n_prompt:]
render = lambda ids: b"".join(piece(t) for t in ids).decode("utf-8", "replace")
ours = render(gen)
agree = 0
for k in range(1, len(gen) + 1):
    # a token can end mid-character: compare without a trailing replacement char
    if theirs.startswith(render(gen[:k]).rstrip("\ufffd")):
        agree = k
    else:
        break
print(f"agree\t{f}\t{len(gen)}\t{agree}\t{'identical' if ours == theirs else 'differ'}\t{sys.argv[5]}")
if ours != theirs:
    print(f"ours  {ours!r}\nllama {theirs!r}", file=sys.stderr)
PY
    done
    ;;
  time)
    for round in $(seq "$ROUNDS"); do
    for f in $TIME_FORMATS; do
      m=$MODELS/$q-$f.gguf
      case " $SIDES " in *" llama "*)
      for s in "$SHORT" "$LONG"; do
        tv=$OUT/time-llama-$f-$s-r$round.time
        timed "$llama" -m "$m" -p "$prompt" "${llama_args[@]}" --diffusion-block-length "$N" --diffusion-steps "$s" >"$OUT/time-llama-$f-$s-r$round.jsonl" 2>"$OUT/time-llama-$f-$s-r$round.err"
      done
      backend=$(sed -n 's/^llama-diffusion-cli: ggml backend //p' "$OUT/time-llama-$f-$LONG-r$round.err" | head -1)
      c1=$(cpu_of "$OUT/time-llama-$f-$SHORT-r$round.time")
      c2=$(cpu_of "$OUT/time-llama-$f-$LONG-r$round.time")
      wall=$(grep -o 'time per step: [0-9.]*ms' "$OUT/time-llama-$f-$LONG-r$round.jsonl" | head -1 | grep -o '[0-9.]*')
      printf 'llama\t%s\t%s\t%s\t%s\t%s\n' "$f" "$(echo "($c2 - $c1) / ($LONG - $SHORT)" | bc -l)" "$(rss_of "$OUT/time-llama-$f-$LONG-r$round.time")" "$wall" "$round" >>"$results"
        ;;
      esac
      case " $SIDES " in
      *" llama1 "*)
        for s in "$SHORT" "$LONG"; do
          tv=$OUT/time-llama1-$f-$s-r$round.time
          timed "$llama" -m "$m" -p "$prompt" "${llama_args[@]}" -t 1 -tb 1 --diffusion-block-length "$N" --diffusion-steps "$s" >"$OUT/time-llama1-$f-$s-r$round.jsonl" 2>"$OUT/time-llama1-$f-$s-r$round.err"
        done
        c1=$(cpu_of "$OUT/time-llama1-$f-$SHORT-r$round.time")
        c2=$(cpu_of "$OUT/time-llama1-$f-$LONG-r$round.time")
        printf 'llama-t1\t%s\t%s\t%s\t-\t%s\n' "$f" "$(echo "($c2 - $c1) / ($LONG - $SHORT)" | bc -l)" "$(rss_of "$OUT/time-llama1-$f-$LONG-r$round.time")" "$round" >>"$results"
        ;;
      esac
      case " $SIDES " in *" ours "*)
      tv=$OUT/time-ours-$f-r$round.time
      timed "$dream" bench --model "$m" --tokens "$N" --masks "$NM" --steps "$OURSTEPS" --runs 1 --cache both --threads 2 --matmul "${OURMATMUL:-f32}" --json >"$OUT/time-ours-$f-r$round.json" 2>"$OUT/time-ours-$f-r$round.err"
      /usr/bin/python3 - "$OUT/time-ours-$f-r$round.json" "$f" "$OURSTEPS" "$(rss_of "$tv")" "$round" >>"$results" <<'PY'
import json, sys
rep, f, steps, rss, rnd = json.load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
for r in rep["results"]:
    if r["name"].startswith("denoise"):
        mode = "cache" if "kv cache" in r["name"] else "nocache"
        print(f"ours-{mode}\t{f}\t{r['cpu_ms_per_run'] / 1000 / steps:.3f}\t{rss}\t{r['median_ms'] / steps:.0f}\t{rnd}")
    else:
        print(f"ours-forward\t{f}\t{r['cpu_ms_per_run'] / 1000:.3f}\t{rss}\t{r.get('gflop_per_cpu_s', 0):.1f}\t{rnd}")
PY
      if [ "$PERBLOCK" = 1 ]; then
        tv=$OUT/time-perblock-$f-r$round.time
        timed "$dream" bench --model "$m" --tokens "$N" --masks "$NM" --steps "$NM" --runs 1 --alg confidence_threshold --block-size 32 \
          --cache on --refresh -1 --threads 2 --matmul "${OURMATMUL:-f32}" --json >"$OUT/time-perblock-$f-r$round.json" 2>"$OUT/time-perblock-$f-r$round.err"
        /usr/bin/python3 - "$OUT/time-perblock-$f-r$round.json" "$f" "$NM" "$(rss_of "$tv")" "$round" >>"$results" <<'PY'
import json, sys
rep, f, steps, rss, rnd = json.load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
for r in rep["results"]:
    if r["name"].startswith("denoise"):
        print(f"ours-perblock\t{f}\t{r['cpu_ms_per_run'] / 1000 / steps:.3f}\t{rss}\t{r['median_ms'] / steps:.0f}\t{rnd}")
PY
      fi
        ;;
      esac
    done
    done
    ;;
  *) echo "sidebyside: unknown phase $phase" >&2; exit 2 ;;
  esac
done

# The table.
{
  echo "dream-lsp $commit beside llama.cpp $("$llama" --version 2>&1 | sed -n 's/^version: //p' | head -1), ggml CPU backend ${backend:-?}"
  echo "$(date -u +%F\ %H:%MZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); ${NP} prompt tokens + ${NM} masks, 2 threads; results in $OUT"
  /usr/bin/python3 bench/llamacpp/table.py "$results"
} | tee "$OUT/table.txt"
