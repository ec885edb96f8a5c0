#!/usr/bin/env python3
"""Writes pretokenize_golden.json: pre-token splits of tricky strings under
Qwen2's and GPT-2's patterns, computed with Python's `regex` module (a
backtracking engine with look-ahead, like the Oniguruma that Hugging Face's
tokenizers use). The Go tests compare the hand-written scanner with it.

Run from this directory: python3 gen_pretokenize.py
"""
import json
import random

import regex

QWEN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
GPT2 = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

HAND = [
    "", " ", "  ", "\n", "\r\n", "a", "hello world", " hello", "  hello", "   hello  ",
    "x  \n  y", "x \n\n y", "a\n\n\nb", "a \t\n \tb", "\t\tfoo", "\n\tfoo", "\r\nfoo", " \r\n",
    "foo  ", "foo \n", "trailing   ", "   ", " \t ", "\u3000\u3000x", "a\u00a0b", "a\u00a0\u00a0b",
    "\u0085x", "x\u0085\u0085y", "a\u2028b", "\v\fz", "\x1c\x1dq",
    "don't", "DON'T", "I'm", "we'll", "they're", "you've", "he'd", "it's", "IT'S", "'s", "''s",
    "'ſ", "'S", "'Re", "'LL", "'lL", "x'", "'", "'x", "''", "' s",
    "123", "1234567", " 42", "x1y2", "½¼", "١٢٣", "Ⅻ", "3.14", "-1", "1e10", "0x1F",
    "foo.bar", "(x)", "f(x, y)", "a+=b", " += ", "!!!\n", "}\n\n", "};\r\n", " ...\n\n",
    "a.b\n", "if (x) {\n\treturn\n}\n", "func main() {\n\tfmt.Println(\"hi\")\n}\n",
    "#include <stdio.h>\n", "// comment\n", "    def f(self):\n        pass\n",
    "<|mask|>", "<|endoftext|>", "a<|mask|>b", "<|fim_prefix|>x",
    "héllo", "e\u0301", "naïve café", "日本語のテキスト", "한국어 텍스트", "Ελληνικά", "русский язык",
    "emoji 😀😀 ok", "👍🏽", "a😀b", "\u200bzero\u200bwidth", "\ufeffbom", "tab\tsep\tvalues",
    "x\u0301\u0302", " \u0301", "\u0301abc", "Ǆ ǅ ǆ", "ß SS", "ﬁ ligature",
    "mixed123abc", "snake_case_name", "camelCaseName", "CONSTANT_NAME", "a__b", "$var", "@decorator",
    "http://example.com/path?q=1", "C:\\path\\file.txt", "\"quoted\"", "'single'", "`backtick`",
]

ALPHABET = list("aZz09 _.-'\"(){}\t\n\r;:,/\\<>|!?sStTlLdDmMrReEvV") + [
    "\u00a0", "\u3000", "\u0085", "\u2028", "\u000b", "\u000c", "é", "e\u0301", "\u0301", "日", "한",
    "😀", "١", "½", "Ⅻ", "ſ", "ß", "\u200b", "\ufeff", "ǅ", "  ", "\n\n", "\r\n", "''",
]


def split(pattern, text):
    return [m.group(0) for m in regex.finditer(pattern, text)]


def main():
    rng = random.Random(8)
    texts = list(HAND)
    for _ in range(400):
        n = rng.randint(1, 24)
        texts.append("".join(rng.choice(ALPHABET) for _ in range(n)))
    cases = []
    for t in texts:
        q, g = split(QWEN, t), split(GPT2, t)
        assert "".join(q) == t and "".join(g) == t, t
        cases.append({"text": t, "qwen": q, "gpt2": g})
    with open("pretokenize_golden.json", "w", encoding="utf-8") as f:
        f.write("[\n")
        f.write(",\n".join(json.dumps(c, ensure_ascii=False) for c in cases))
        f.write("\n]\n")


if __name__ == "__main__":
    main()
