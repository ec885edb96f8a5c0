// Encodes the same Go source files as runtime/tokenizer's BenchmarkEncode
// with @huggingface/tokenizers (pure JavaScript), single-threaded, and
// prints MB/s. Usage (after `npm install` here):
//
//   node bench.mjs [--model DIR] [--limit BYTES] [--max-file BYTES] [--passes N] [--golden FILE]
//
// File choice matches benchCorpus in runtime/tokenizer/bench_test.go: every
// .go file under $(go env GOROOT)/src outside testdata/ and vendor/, sorted
// by path, every 7th file of at most MAX-FILE bytes (256 KiB) until LIMIT
// bytes (2 MiB). The "small" corpus of BenchmarkEncode is
// --limit 1048576 --max-file 16384. --golden checks the golden
// cases (added tokens recognised) before timing.
import { Tokenizer } from "@huggingface/tokenizers";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => {
    if (a.startsWith("--")) acc.push([a.slice(2), all[i + 1]]);
    return acc;
  }, []),
);
const modelDir = args.model ?? path.join(here, "../../../shared/reference/dream-v0-7b");
const limit = Number(args.limit ?? 2 << 20);
// Skip huge generated files (e.g. cmd/compile's 3 MB opGen.go).
const maxFile = Number(args["max-file"] ?? 256 << 10);
const passes = Number(args.passes ?? 3);

const t0 = performance.now();
const tok = new Tokenizer(
  JSON.parse(fs.readFileSync(path.join(modelDir, "tokenizer.json"), "utf8")),
  JSON.parse(fs.readFileSync(path.join(modelDir, "tokenizer_config.json"), "utf8")),
);
const loadMs = performance.now() - t0;

if (args.golden) {
  const cases = JSON.parse(fs.readFileSync(args.golden, "utf8"));
  let bad = 0;
  for (const c of cases) {
    const got = tok.encode(c.text, { add_special_tokens: false }).ids;
    if (JSON.stringify(got) !== JSON.stringify(c.specials)) bad++;
  }
  console.error(`golden: ${cases.length - bad}/${cases.length} cases match`);
}

const goroot = execFileSync("go", ["env", "GOROOT"], { encoding: "utf8" }).trim();
const root = path.join(goroot, "src");
const paths = [];
(function walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== "testdata" && e.name !== "vendor") walk(p);
    } else if (e.name.endsWith(".go")) {
      paths.push(p);
    }
  }
})(root);
paths.sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
const files = [];
let total = 0;
for (let i = 0; i < paths.length && total < limit; i += 7) {
  const data = fs.readFileSync(paths[i]);
  if (data.length > maxFile) continue;
  files.push(data.toString("utf8"));
  total += data.length;
}

let tokens = 0;
for (const f of files) tokens += tok.encode(f, { add_special_tokens: false }).ids.length; // warm-up
// Wall time per pass, and CPU time (user + system) per pass: on a machine
// shared with other work, wall time includes waiting for a core.
const times = [];
const cpuTimes = [];
for (let p = 0; p < passes; p++) {
  const s = performance.now();
  const c = process.cpuUsage();
  for (const f of files) tok.encode(f, { add_special_tokens: false });
  times.push((performance.now() - s) / 1000);
  const dc = process.cpuUsage(c);
  cpuTimes.push((dc.user + dc.system) / 1e6);
}
const best = Math.min(...times);
console.log(JSON.stringify({
  implementation: "@huggingface/tokenizers 0.2.0 (node " + process.version + ")",
  files: files.length,
  bytes: total,
  tokens,
  load_ms: Math.round(loadMs),
  pass_seconds: times.map((t) => +t.toFixed(3)),
  mb_per_s_best: +(total / best / 1e6).toFixed(2),
  mb_per_s_median: +(total / times.sort()[Math.floor(times.length / 2)] / 1e6).toFixed(2),
  cpu_seconds: cpuTimes.map((t) => +t.toFixed(3)),
  cpu_mb_per_s_best: +(total / Math.min(...cpuTimes) / 1e6).toFixed(2),
}));
