// Writes runtime/tokenizer/testdata/js_random_cases.json: random short
// strings over a tricky alphabet (Unicode spaces, combining marks, letters
// that case-fold to ASCII, digits of several scripts, CR/LF runs, added
// tokens) with the ids that @huggingface/tokenizers gives (added tokens
// recognised). A second, independent oracle for the Go tokenizer besides the
// shared golden cases. Usage (after `npm install` here): node gen_cases.mjs
import { Tokenizer } from "@huggingface/tokenizers";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const modelDir = path.join(here, "../../../shared/reference/dream-v0-7b");
const tok = new Tokenizer(
  JSON.parse(fs.readFileSync(path.join(modelDir, "tokenizer.json"), "utf8")),
  JSON.parse(fs.readFileSync(path.join(modelDir, "tokenizer_config.json"), "utf8")),
);
const alphabet = [..."aZz09 _.-'\"(){}\t\n\r;:,/\\<>|!?sStTlLdDmMrReEvV#=+*&^%$@~`"].concat([
  "\u00a0", "\u3000", "\u0085", "\u2028", "\u000b", "\u000c", "é", "e\u0301", "\u0301", "\u0338", "日", "한",
  "😀", "👍🏽", "١", "½", "Ⅻ", "ſ", "ß", "\u200b", "\ufeff", "ǅ", "  ", "\n\n", "\r\n", "''", "Å", "\u212b",
  "ﬁ", "\u1680", "\u205f", "\u00ad", "\u2060", "ᄀ", "ᅡ", "가", "\u0345", "\u2126", "q\u0307\u0323",
  "<|mask|>", "<|endoftext|>", "<|fim_prefix|>", "<|im_start|>", "<|", "|>",
]);
let seed = 8;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
};
const cases = [];
for (let i = 0; i < 2000; i++) {
  const n = 1 + Math.floor(rnd() * 16);
  let text = "";
  for (let k = 0; k < n; k++) text += alphabet[Math.floor(rnd() * alphabet.length)];
  cases.push({ text, specials: tok.encode(text, { add_special_tokens: false }).ids });
}
const out = path.join(here, "../../runtime/tokenizer/testdata/js_random_cases.json");
fs.writeFileSync(out, "[\n" + cases.map((c) => JSON.stringify(c)).join(",\n") + "\n]\n");
console.log(`wrote ${cases.length} cases to ${out}`);
