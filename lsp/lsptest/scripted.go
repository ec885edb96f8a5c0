package lsptest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/infill/infilltest"
)

// Rule is one scripted answer: when the text before the masks (the prefix
// window up to the cursor, or up to a hole) ends with Before, the model
// "writes" Middle, byte for byte, spaces, tabs and newlines included.
type Rule struct {
	Before string `json:"before"`
	Middle string `json:"middle"`
}

// Script is the JSON file behind DREAM_LSP_TEST_ENGINE=scripted:FILE.
type Script struct {
	Rules      []Rule  `json:"rules"`
	Confidence float32 `json:"confidence"` // of every slot; 0: 0.9
}

// Scripted is the real infill engine (span detection, windows, canvases,
// post-processing, parse validation, ranking, typed-ahead reuse) over a
// fake runtime whose "model" writes the scripted raw middle. Unlike Echo it
// exercises everything between the model and the editor, so a test that
// knows the raw middle can state, by hand, the exact text a user must see.
// Where no rule matches, the model writes nothing (no suggestion).
type Scripted struct {
	*infill.Engine
	longest int
}

// NewScripted returns a Scripted engine for s. Every middle is returned
// whole: each canvas gets room for the longest middle, whatever maxTokens
// the client asked for (this fixture tests what happens after the model,
// not the choice of length).
func NewScripted(s Script) (*Scripted, error) {
	if len(s.Rules) == 0 {
		return nil, errors.New("lsptest: script has no rules")
	}
	longest := 1
	for i, r := range s.Rules {
		if r.Before == "" {
			return nil, fmt.Errorf("lsptest: script rule %d has an empty \"before\"", i)
		}
		longest = max(longest, len(r.Middle))
	}
	conf := s.Confidence
	if conf == 0 {
		conf = 0.9
	}
	rules := append([]Rule(nil), s.Rules...)
	rt := &infilltest.Runtime{Script: func(_, _, _ int, before string) infilltest.Fill {
		best := -1
		for i, r := range rules {
			if strings.HasSuffix(before, r.Before) && (best < 0 || len(r.Before) > len(rules[best].Before)) {
				best = i
			}
		}
		if best < 0 {
			return infilltest.Fill{Conf: conf}
		}
		return infilltest.Fill{Text: rules[best].Middle, Conf: conf}
	}}
	lengths := []int{longest}
	eng := infill.New(rt, infill.Options{SingleLineLengths: lengths, MultiLineLengths: lengths, MaxTokens: longest})
	return &Scripted{Engine: eng, longest: longest}, nil
}

// LoadScripted reads a Script from a JSON file.
func LoadScripted(path string) (*Scripted, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("lsptest: %w", err)
	}
	var s Script
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("lsptest: script %s: %w", path, err)
	}
	return NewScripted(s)
}

// Complete implements lsp.Engine: the real infill path, with the length
// fixed to fit every scripted middle.
func (e *Scripted) Complete(ctx context.Context, req infill.Request) (*infill.Result, error) {
	req.Length, req.MaxTokens = "", e.longest
	return e.Engine.Complete(ctx, req)
}

// Backend implements lsp.EngineInfo.
func (e *Scripted) Backend() string { return "cpu" }

// ModelName implements lsp.EngineInfo.
func (e *Scripted) ModelName() string { return "test-scripted" }
