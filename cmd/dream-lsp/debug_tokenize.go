package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/dream-lsp/dream-lsp/runtime/tokenizer"
)

// tokenizeOutput is what `debug tokenize` prints when encoding.
type tokenizeOutput struct {
	Mode    string   `json:"mode"` // "plain" or "special"
	Count   int      `json:"count"`
	IDs     []int    `json:"ids"`
	Offsets [][2]int `json:"offsets,omitempty"` // byte range of each token in the input
}

// debugTokenize encodes stdin with the model's tokenizer and prints the ids
// as JSON, or with --decode reads ids and prints the text.
func debugTokenize(args []string, stdout, stderr io.Writer) error {
	return debugTokenizeIO(args, os.Stdin, stdout, stderr)
}

func debugTokenizeIO(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("debug tokenize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelDir := fs.String("model", "", "model directory with tokenizer.json or vocab.json + merges.txt (required)")
	plain := fs.Bool("plain", false, "plain mode: added tokens such as <|mask|> in the input are text (as for user files)")
	decode := fs.Bool("decode", false, "read ids (a JSON array, or this command's own output) and print {\"text\"}")
	skipSpecial := fs.Bool("skip-special", false, "with --decode: drop special tokens")
	offsets := fs.Bool("offsets", false, "also print each token's byte range in the input")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: dream-lsp debug tokenize --model DIR [--plain] [--offsets] < text")
		fmt.Fprintln(stderr, "       dream-lsp debug tokenize --model DIR --decode [--skip-special] < ids.json")
		fmt.Fprintln(stderr, "Encodes stdin and prints {\"mode\", \"count\", \"ids\"[, \"offsets\"]}; without --plain, added tokens are recognised.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *modelDir == "" || fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("%w: --model is required and no arguments are taken", errUsage)
	}
	tok, err := tokenizer.Load(*modelDir)
	if err != nil {
		return err
	}
	input, err := io.ReadAll(stdin)
	if err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	if *decode {
		ids, err := parseIDList(input)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		text := tok.Decode(ids)
		if *skipSpecial {
			text = tok.DecodeSkipSpecial(ids)
		}
		return enc.Encode(struct {
			Text string `json:"text"`
		}{text})
	}
	out := tokenizeOutput{Mode: "special"}
	var spans []tokenizer.Span
	switch {
	case *plain && *offsets:
		out.IDs, spans = tok.EncodeWithOffsets(string(input))
	case *plain:
		out.IDs = tok.Encode(string(input))
	case *offsets:
		out.IDs, spans = tok.EncodeSpecialWithOffsets(string(input))
	default:
		out.IDs = tok.EncodeSpecial(string(input))
	}
	if *plain {
		out.Mode = "plain"
	}
	out.Count = len(out.IDs)
	if *offsets {
		out.Offsets = make([][2]int, len(spans))
		for i, s := range spans {
			out.Offsets[i] = [2]int{s.Start, s.End}
		}
	}
	return enc.Encode(out)
}

// parseIDList accepts a JSON array of ids or an object with an "ids" array.
func parseIDList(data []byte) ([]int, error) {
	data = bytes.TrimSpace(data)
	var ids []int
	if len(data) > 0 && data[0] == '{' {
		var obj struct {
			IDs []int `json:"ids"`
		}
		if err := json.Unmarshal(data, &obj); err != nil {
			return nil, fmt.Errorf("parse ids object: %w", err)
		}
		return obj.IDs, nil
	}
	if err := json.Unmarshal(data, &ids); err != nil {
		return nil, fmt.Errorf("parse ids: want a JSON array of integers or {\"ids\": [...]}: %w", err)
	}
	return ids, nil
}
