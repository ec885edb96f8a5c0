// Package settings defines the server's user settings, their defaults and
// how they are read from the client. It is the single source of the setting
// names and documentation used by the editor clients (VS Code's package.json,
// Neovim's setup{}), so every setting has one camelCase name everywhere.
//
// The client sends settings as a JSON object in initializationOptions, in
// workspace/didChangeConfiguration, or in answer to workspace/configuration
// (section "dream"). Either the settings object itself or an object with a
// "dream" member holding it is accepted.
package settings

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sort"
	"time"
)

// Options are the user settings. The zero value is not valid; start from
// Default.
type Options struct {
	Model            string   `json:"model"`            // model directory; "" = the built-in model
	Device           string   `json:"device"`           // "auto", "cpu" or "cuda"
	Steps            int      `json:"steps"`            // denoising steps; 0 = the engine's default
	MaxTokens        int      `json:"maxTokens"`        // longest middle in tokens; 0 = the engine's default
	DebounceMs       int      `json:"debounceMs"`       // wait after an automatic trigger before inferring
	EnabledLanguages []string `json:"enabledLanguages"` // LSP language ids; ["*"] = all, empty = DefaultLanguages
	TriggerMode      string   `json:"triggerMode"`      // "automatic" or "manual" (invoked requests only)
	Algorithm        string   `json:"algorithm"`        // sampler algorithm; "" = the engine's default
	DeadlineMs       int      `json:"deadlineMs"`       // hard limit for one completion, debounce excluded
	// MinConfidence is the model confidence a suggestion needs to be shown
	// (0: no threshold); pass it to the engine with infill.Threshold.
	MinConfidence float64 `json:"minConfidence"`
	// Remote, when its URL is set, is a model behind HTTP used instead of
	// the in-process one (infill/remote; docs/DEPLOY.md).
	Remote Remote `json:"remote"`
}

// Remote selects a model server: another dream-lsp (`dream-lsp api`) or a
// fill-in-the-middle server (llama-server, Ollama, vLLM, Mistral).
type Remote struct {
	URL   string `json:"url"`   // base URL; "" = the in-process model
	API   string `json:"api"`   // "openai", "mistral", "llamacpp" or "ollama"
	Model string `json:"model"` // model name sent to the server ("" = none)
	// APIKeyEnv names the environment variable holding the API key (the
	// key itself never appears in settings or logs).
	APIKeyEnv string `json:"apiKeyEnv"`
}

// String is the setting's JSON form (how docs/protocol.md shows the default).
func (r Remote) String() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// RemoteAPIs are the request shapes the remote setting accepts.
var RemoteAPIs = []string{"openai", "mistral", "llamacpp", "ollama"}

// Setting documents one setting.
type Setting struct {
	Name        string // camelCase key
	Type        string // "string", "integer", "number", "array" or "object"
	Default     any
	Enum        []string // allowed values, if restricted
	Min, Max    int      // bounds of integers
	Description string
}

// All returns the documentation of every setting, in a stable order.
func All() []Setting {
	d := Default()
	return []Setting{
		{Name: "model", Type: "string", Default: d.Model, Description: "Path of a Hugging Face model directory (Dream or DreamCoder); empty uses the built-in model."},
		{Name: "device", Type: "string", Default: d.Device, Enum: []string{"auto", "cpu", "cuda"}, Description: "Where the model runs: auto picks CUDA when a usable GPU is found."},
		{Name: "steps", Type: "integer", Default: d.Steps, Min: 0, Max: 512, Description: "Denoising steps for the longest length candidate (shorter ones get proportionally fewer); 0: one token per step."},
		{Name: "maxTokens", Type: "integer", Default: d.MaxTokens, Min: 0, Max: 1024, Description: "Longest completion in tokens; 0 uses the engine's default."},
		{Name: "debounceMs", Type: "integer", Default: d.DebounceMs, Min: 0, Max: 5000, Description: "Milliseconds to wait after typing before an automatic completion starts; a newer request for the same document replaces a waiting one."},
		{Name: "enabledLanguages", Type: "array", Default: d.EnabledLanguages, Description: "LSP language ids to complete (programming languages by default, not JSON, Markdown or plain text); [\"*\"] completes every language, an empty list the default ones."},
		{Name: "triggerMode", Type: "string", Default: d.TriggerMode, Enum: []string{"automatic", "manual"}, Description: "automatic completes while typing; manual only on an explicit request."},
		{Name: "algorithm", Type: "string", Default: d.Algorithm, Enum: []string{"", "origin", "maskgit_plus", "topk_margin", "entropy", "confidence_threshold"}, Description: "Dream unmasking algorithm; empty uses the engine's default."},
		{Name: "deadlineMs", Type: "integer", Default: d.DeadlineMs, Min: 50, Max: 60000, Description: "Hard limit in milliseconds for one completion; a request that runs out answers with nothing and the status turns slow."},
		{Name: "remote", Type: "object", Default: d.Remote, Description: "A model server to use instead of the in-process model: {url, api (openai, mistral, llamacpp or ollama), model, apiKeyEnv (the name of an environment variable holding the API key)}; an empty url uses the in-process model."},
		{Name: "minConfidence", Type: "number", Default: d.MinConfidence, Min: 0, Max: 1, Description: "Least model confidence (0-1) a suggestion needs to be shown, for automatic and invoked requests alike; 0 shows every suggestion that parses and is not a no-op."},
	}
}

// Default returns the default settings.
func Default() Options {
	return Options{
		Device:           "auto",
		DebounceMs:       150,
		EnabledLanguages: DefaultLanguages(),
		TriggerMode:      "automatic",
		DeadlineMs:       2000,
		Remote:           Remote{API: "openai"},
		MinConfidence:    0.12, // = infill.DefaultMinConfidence (checked by a test in infill)
	}
}

// Debounce returns DebounceMs as a duration.
func (o Options) Debounce() time.Duration { return time.Duration(o.DebounceMs) * time.Millisecond }

// Deadline returns DeadlineMs as a duration.
func (o Options) Deadline() time.Duration { return time.Duration(o.DeadlineMs) * time.Millisecond }

// defaultLanguages are the LSP language ids (and Neovim filetypes, which
// Neovim sends as language ids) completed by default: the languages with
// tree-sitter queries and other common programming languages. Settings
// files, prose and data (JSON, Markdown, plain text, YAML) are left out:
// ghost text while editing settings.json helps nobody.
var defaultLanguages = []string{
	"go", "python", "c", "cpp", "cuda-cpp", "cuda", "java", "javascript", "javascriptreact",
	"typescript", "typescriptreact", "rust", "csharp", "cs", "kotlin", "scala", "swift",
	"objective-c", "objective-cpp", "objc", "objcpp", "ruby", "php", "lua", "perl", "r", "julia",
	"dart", "haskell", "ocaml", "elixir", "erlang", "clojure", "fsharp", "groovy", "zig", "nim",
	"shellscript", "sh", "bash", "zsh", "powershell", "ps1", "sql", "vue", "svelte",
}

// DefaultLanguages returns the language ids enabledLanguages defaults to.
func DefaultLanguages() []string { return slices.Clone(defaultLanguages) }

// LanguageEnabled reports whether completions are enabled for languageID:
// "*" in the list enables every language; an empty list means the default
// ones.
func (o Options) LanguageEnabled(languageID string) bool {
	langs := o.EnabledLanguages
	if len(langs) == 0 {
		langs = defaultLanguages
	}
	return slices.Contains(langs, "*") || slices.Contains(langs, languageID)
}

// Merge returns o with the settings in raw applied. raw is a JSON object
// (or null, which changes nothing), either the settings themselves or an
// object whose "dream" member holds them. Keys it does not know and values of
// the wrong type or out of range are skipped and reported in problems, so one
// bad value never discards the others; err is set only when raw is not a JSON
// object.
func (o Options) Merge(raw []byte) (merged Options, problems []string, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return o, nil, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return o, nil, fmt.Errorf("settings: not a JSON object: %w", err)
	}
	byName := map[string]Setting{}
	for _, s := range All() {
		byName[s.Name] = s
	}
	if inner, ok := obj["dream"]; ok {
		var nested map[string]json.RawMessage
		if err := json.Unmarshal(inner, &nested); err == nil && nested != nil {
			obj = nested
		}
	} else if !slices.ContainsFunc(slices.Collect(maps.Keys(obj)), func(k string) bool { _, ok := byName[k]; return ok }) {
		// Some clients push every section of their configuration; with
		// neither a "dream" section nor a known key there is nothing for us.
		return o, nil, nil
	}
	merged = o
	merged.EnabledLanguages = slices.Clone(o.EnabledLanguages)
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s, ok := byName[k]
		if !ok {
			problems = append(problems, fmt.Sprintf("unknown setting %q", k))
			continue
		}
		if err := merged.set(s, obj[k]); err != nil {
			problems = append(problems, fmt.Sprintf("setting %q: %v", k, err))
		}
	}
	return merged, problems, nil
}

func (o *Options) set(s Setting, v json.RawMessage) error {
	switch s.Type {
	case "string":
		var str string
		if err := json.Unmarshal(v, &str); err != nil {
			return fmt.Errorf("want a string, got %s", v)
		}
		if s.Enum != nil && !slices.Contains(s.Enum, str) {
			return fmt.Errorf("%q is not one of %q", str, s.Enum)
		}
		switch s.Name {
		case "model":
			o.Model = str
		case "device":
			o.Device = str
		case "triggerMode":
			o.TriggerMode = str
		case "algorithm":
			o.Algorithm = str
		}
	case "integer":
		var f float64
		if err := json.Unmarshal(v, &f); err != nil || f != float64(int(f)) {
			return fmt.Errorf("want an integer, got %s", v)
		}
		n := int(f)
		if n < s.Min || n > s.Max {
			return fmt.Errorf("%d is outside [%d, %d]", n, s.Min, s.Max)
		}
		switch s.Name {
		case "steps":
			o.Steps = n
		case "maxTokens":
			o.MaxTokens = n
		case "debounceMs":
			o.DebounceMs = n
		case "deadlineMs":
			o.DeadlineMs = n
		}
	case "number":
		var f float64
		if err := json.Unmarshal(v, &f); err != nil {
			return fmt.Errorf("want a number, got %s", v)
		}
		if f < float64(s.Min) || f > float64(s.Max) {
			return fmt.Errorf("%g is outside [%d, %d]", f, s.Min, s.Max)
		}
		if s.Name == "minConfidence" {
			o.MinConfidence = f
		}
	case "object": // remote, the only object
		var r Remote
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return fmt.Errorf("want {url, api, model, apiKeyEnv}: %v", err)
		}
		if r.API == "" {
			r.API = "openai"
		}
		if !slices.Contains(RemoteAPIs, r.API) {
			return fmt.Errorf("api %q is not one of %q", r.API, RemoteAPIs)
		}
		if r.URL != "" {
			u, err := url.Parse(r.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("url %q: want http://HOST[:PORT] or https://...", r.URL)
			}
		}
		o.Remote = r
	case "array":
		var list []string
		if err := json.Unmarshal(v, &list); err != nil {
			return fmt.Errorf("want a list of strings, got %s", v)
		}
		if list == nil {
			list = []string{}
		}
		o.EnabledLanguages = list
	}
	return nil
}
