package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// job is a request of any shape, decoded: what to fill and how to answer.
type job struct {
	endpoint  string
	model     string
	prefix    string // the llama.cpp prompt (the middle's start) appended
	suffix    string
	extra     []Chunk
	maxTokens int // 0: the server's default
	stream    bool
	seed      *uint64
	dream     *Dream
}

// apiError is an answer with a status code other than 200.
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// openAIRequest is /v1/completions (prompt + suffix).
type openAIRequest struct {
	Model     string  `json:"model"`
	Prompt    *prompt `json:"prompt"`
	Suffix    *string `json:"suffix"`
	MaxTokens *int    `json:"max_tokens"`
	Stream    bool    `json:"stream"`
	Seed      *uint64 `json:"seed"`
	N         *int    `json:"n"`
	Dream     *Dream  `json:"dream"`
}

// mistralRequest is /v1/fim/completions.
type mistralRequest struct {
	Model      string  `json:"model"`
	Prompt     *string `json:"prompt"`
	Suffix     *string `json:"suffix"`
	MaxTokens  *int    `json:"max_tokens"`
	Stream     bool    `json:"stream"`
	RandomSeed *uint64 `json:"random_seed"`
	Dream      *Dream  `json:"dream"`
}

// llamaRequest is llama.cpp's /infill.
type llamaRequest struct {
	Model       string  `json:"model"`
	InputPrefix string  `json:"input_prefix"`
	InputSuffix string  `json:"input_suffix"`
	InputExtra  []Chunk `json:"input_extra"`
	Prompt      string  `json:"prompt"`
	NPredict    *int    `json:"n_predict"`
	CachePrompt bool    `json:"cache_prompt"`
	Stream      bool    `json:"stream"`
	Seed        *int64  `json:"seed"`
	Dream       *Dream  `json:"dream"`
}

// ollamaRequest is Ollama's /api/generate (stream defaults to true).
type ollamaRequest struct {
	Model   string `json:"model"`
	Prompt  string `json:"prompt"`
	Suffix  string `json:"suffix"`
	Stream  *bool  `json:"stream"`
	Options *struct {
		NumPredict *int    `json:"num_predict"`
		Seed       *uint64 `json:"seed"`
	} `json:"options"`
	Dream *Dream `json:"dream"`
}

// prompt is OpenAI's prompt: a string, or an array holding one string.
type prompt string

func (p *prompt) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*p = prompt(s)
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil || len(list) != 1 {
		return errors.New(`"prompt" must be a string or an array of one string`)
	}
	*p = prompt(list[0])
	return nil
}

// decodeBody reads exactly one JSON object from r into v, with errors a
// client can act on: the byte offset of a syntax error, the field and type
// of a wrong value, 413 for a body over the limit.
func decodeBody(r io.Reader, v any) *apiError {
	body, err := io.ReadAll(r)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &apiError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", mbe.Limit)}
		}
		return badRequest("reading the body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("empty body: want a JSON object")
	}
	if t := bytes.TrimSpace(body); t[0] != '{' {
		return badRequest("the body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("malformed JSON: data after the object")
	}
	return nil
}

func jsonError(err error) *apiError {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return badRequest("malformed JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "(body)"
		}
		return badRequest("field %q: got a JSON %s, want %s", field, te.Value, jsonType(te.Type.Kind().String()))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: unexpected end of the body")
	}
	return badRequest("bad request: %v", err)
}

func jsonType(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"), strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "true or false"
	case kind == "slice", kind == "array":
		return "an array"
	case kind == "struct", kind == "map", kind == "ptr":
		return "an object"
	}
	return kind
}

// setSuffixMaxTokens sets the optional "suffix" and "max_tokens" that the
// OpenAI and Mistral shapes share; a negative max_tokens is a bad request.
func (j *job) setSuffixMaxTokens(suffix *string, maxTokens *int) *apiError {
	if suffix != nil {
		j.suffix = *suffix
	}
	if maxTokens != nil {
		if *maxTokens < 0 {
			return badRequest(`"max_tokens" must not be negative`)
		}
		j.maxTokens = *maxTokens
	}
	return nil
}

// decodeJob decodes a body of the endpoint's shape.
func decodeJob(endpoint string, r io.Reader) (*job, *apiError) {
	j := &job{endpoint: endpoint}
	switch endpoint {
	case PathOpenAI:
		var q openAIRequest
		if e := decodeBody(r, &q); e != nil {
			return nil, e
		}
		if q.Prompt == nil {
			return nil, badRequest(`missing "prompt"`)
		}
		if q.N != nil && *q.N != 1 {
			return nil, badRequest(`"n" must be 1 (dream.lengths asks for several middles)`)
		}
		j.model, j.prefix, j.stream, j.seed, j.dream = q.Model, string(*q.Prompt), q.Stream, q.Seed, q.Dream
		if e := j.setSuffixMaxTokens(q.Suffix, q.MaxTokens); e != nil {
			return nil, e
		}
	case PathMistral:
		var q mistralRequest
		if e := decodeBody(r, &q); e != nil {
			return nil, e
		}
		if q.Prompt == nil {
			return nil, badRequest(`missing "prompt"`)
		}
		j.model, j.prefix, j.stream, j.seed, j.dream = q.Model, *q.Prompt, q.Stream, q.RandomSeed, q.Dream
		if e := j.setSuffixMaxTokens(q.Suffix, q.MaxTokens); e != nil {
			return nil, e
		}
	case PathLlamaCpp:
		var q llamaRequest
		if e := decodeBody(r, &q); e != nil {
			return nil, e
		}
		j.model, j.prefix, j.suffix, j.extra, j.stream, j.dream = q.Model, q.InputPrefix+q.Prompt, q.InputSuffix, q.InputExtra, q.Stream, q.Dream
		if q.NPredict != nil && *q.NPredict > 0 { // -1: until done; the canvas needs a length, the default's
			j.maxTokens = *q.NPredict
		}
		if q.Seed != nil && *q.Seed >= 0 {
			s := uint64(*q.Seed)
			j.seed = &s
		}
	case PathOllama:
		var q ollamaRequest
		if e := decodeBody(r, &q); e != nil {
			return nil, e
		}
		j.model, j.prefix, j.suffix, j.dream = q.Model, q.Prompt, q.Suffix, q.Dream
		j.stream = q.Stream == nil || *q.Stream
		if q.Options != nil {
			if q.Options.NumPredict != nil && *q.Options.NumPredict > 0 {
				j.maxTokens = *q.Options.NumPredict
			}
			j.seed = q.Options.Seed
		}
	default:
		return nil, &apiError{http.StatusNotFound, "unknown endpoint " + endpoint}
	}
	if d := j.dream; d != nil {
		if d.Steps < 0 || d.Steps > 4096 {
			return nil, badRequest(`"dream.steps" %d outside [0, 4096]`, d.Steps)
		}
		if len(d.Lengths) > maxLengths {
			return nil, badRequest(`"dream.lengths" has %d lengths; at most %d`, len(d.Lengths), maxLengths)
		}
		for _, n := range d.Lengths {
			if n < 1 {
				return nil, badRequest(`"dream.lengths": %d is not a positive length`, n)
			}
		}
		if d.Seed != nil {
			j.seed = d.Seed
		}
	}
	for i, c := range j.extra {
		if strings.ContainsRune(c.Filename, '\n') {
			return nil, badRequest(`"input_extra[%d].filename" holds a newline`, i)
		}
	}
	return j, nil
}

// maxLengths caps dream.lengths: each is a canvas in the batch.
const maxLengths = 8
