// Package remote is the infill engine's client for a model behind an HTTP
// API: another dream-lsp (`dream-lsp api`) or an autoregressive
// fill-in-the-middle server (llama-server, Ollama, vLLM, SGLang, Mistral).
// It takes the windows the engine cut (infill.FillRequest) and returns
// middles; the engine keeps choosing spans, windows and lengths and still
// post-processes and validates what comes back.
//
// Four request shapes: openai (/v1/completions, prompt + suffix), mistral
// (/v1/fim/completions), llamacpp (/infill: input_prefix, input_suffix,
// input_extra for other files' code, cache_prompt) and ollama
// (/api/generate with suffix). Diffusion settings travel in a "dream"
// object that dream-lsp api reads and other servers ignore; a server that
// answers with every length's middle (dream.middles) gives the engine
// several candidates, others one.
//
// Single-line requests stream and stop at the first line break after some
// text (all the engine keeps), so an autoregressive server stops early.
//
// Each attempt has a timeout and follows the caller's context: a cancelled
// request aborts its HTTP call. Retries happen only where the request
// cannot have been processed: a connection refused before anything was
// sent, and 503 or 429 with Retry-After; and once, at once, when a
// kept-alive connection turns out closed under the request (the server
// dropped it or restarted; a completion has no side effects).
package remote

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/infill/api"
)

// The request shapes (Config.API).
const (
	OpenAI   = "openai"
	Mistral  = "mistral"
	LlamaCpp = "llamacpp"
	Ollama   = "ollama"
)

// Config selects and tunes a remote model. URL, API, Model and APIKeyEnv
// are the `remote` setting's fields.
type Config struct {
	URL   string // base URL, e.g. http://gpu-box:8080 (a path prefix is kept)
	API   string // OpenAI, Mistral, LlamaCpp or Ollama ("": OpenAI)
	Model string // the model name sent to servers that want one
	// APIKeyEnv names the environment variable holding the API key, sent
	// as a bearer token. The key is never logged nor put in errors.
	APIKeyEnv string
	// NoDream leaves the "dream" object out of requests, for servers that
	// refuse unknown fields (Mistral's hosted API does; default for mistral).
	NoDream bool
	Timeout time.Duration // one attempt (0: DefaultTimeout)
	Retries int           // extra attempts where safe (0: DefaultRetries; < 0: none)
	Backoff time.Duration // the first wait after a refused connection, doubled each time (0: DefaultBackoff)
	// MaxRetryAfter caps the wait a 503/429 Retry-After asks for
	// (0: DefaultMaxRetryAfter); a longer ask is an error at once.
	MaxRetryAfter time.Duration
	Client        *http.Client // nil: a client with no overall timeout (attempts have theirs)
	Logger        *slog.Logger // nil: slog.Default()
}

// Defaults for Config.
const (
	DefaultTimeout       = 30 * time.Second
	DefaultRetries       = 2
	DefaultBackoff       = 100 * time.Millisecond
	DefaultMaxRetryAfter = 5 * time.Second
	maxResponse          = 8 << 20
)

// ErrUnreachable wraps failures to reach the server at all (refused,
// no route, DNS): the status the editor shows says so.
var ErrUnreachable = errors.New("remote: server unreachable")

// StatusError is an HTTP answer other than 200.
type StatusError struct {
	Code    int
	Message string // the server's error message, when it sent one
}

func (e *StatusError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("remote: HTTP %d", e.Code)
	}
	return fmt.Sprintf("remote: HTTP %d: %s", e.Code, e.Message)
}

// Client talks to one server. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base *url.URL
	key  string
	hc   *http.Client
	log  *slog.Logger
}

// New checks cfg and reads the API key from its environment variable.
func New(cfg Config) (*Client, error) {
	if cfg.API == "" {
		cfg.API = OpenAI
	}
	switch cfg.API {
	case OpenAI, LlamaCpp, Ollama:
	case Mistral:
		cfg.NoDream = true
	default:
		return nil, fmt.Errorf("remote: api %q: want openai, mistral, llamacpp or ollama", cfg.API)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("remote: url %q: want http://HOST[:PORT] or https://...", cfg.URL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	c := &Client{cfg: cfg, base: u, hc: cfg.Client, log: cfg.Logger}
	if cfg.APIKeyEnv != "" {
		c.key = os.Getenv(cfg.APIKeyEnv)
		if c.key == "" {
			return nil, fmt.Errorf("remote: apiKeyEnv %s: the environment variable is empty or unset", cfg.APIKeyEnv)
		}
	}
	if c.cfg.Timeout <= 0 {
		c.cfg.Timeout = DefaultTimeout
	}
	if c.cfg.Retries == 0 {
		c.cfg.Retries = DefaultRetries
	}
	if c.cfg.Backoff <= 0 {
		c.cfg.Backoff = DefaultBackoff
	}
	if c.cfg.MaxRetryAfter <= 0 {
		c.cfg.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	return c, nil
}

// API returns the request shape the client speaks.
func (c *Client) API() string { return c.cfg.API }

// URL returns the server's base URL (never holds the key).
func (c *Client) URL() string { return c.base.String() }

// path is the endpoint of the client's shape.
func (c *Client) path() string {
	switch c.cfg.API {
	case Mistral:
		return api.PathMistral
	case LlamaCpp:
		return api.PathLlamaCpp
	case Ollama:
		return api.PathOllama
	}
	return api.PathOpenAI
}

// Fill asks the server for the middles of req. A dream-lsp api answers
// one middle per length, with confidences; other servers answer one middle
// of up to the longest length, without confidences (Middle.NoConfidence).
//
// A single-line request (FillRequest.SingleLine) streams: the answer is
// read as it comes, and once it holds a line break after some text (all
// the engine keeps of a single-line middle) the connection is closed, so
// an autoregressive server stops generating. dream-lsp api sends its
// middles in one event.
func (c *Client) Fill(ctx context.Context, req infill.FillRequest) ([]infill.Middle, error) {
	b := c.body(req)
	consume := func(r io.Reader) ([]infill.Middle, error) {
		raw, err := io.ReadAll(io.LimitReader(r, maxResponse+1))
		if err != nil {
			return nil, err
		}
		if len(raw) > maxResponse {
			return nil, fmt.Errorf("remote: the answer is over %d bytes", maxResponse)
		}
		return c.parse(raw, req)
	}
	if req.SingleLine {
		b["stream"] = true
		consume = func(r io.Reader) ([]infill.Middle, error) { return c.readStream(r, req) }
	}
	body, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("remote: %w", err)
	}
	return c.post(ctx, c.path(), body, consume)
}

// maxTokens is the longest middle asked for.
func maxTokens(req infill.FillRequest) int {
	n := req.MaxTokens
	for _, l := range req.Lengths {
		n = max(n, l)
	}
	if n <= 0 {
		n = infill.DefaultMaxTokens
	}
	return n
}

// body is the request in the client's shape. Sampling is greedy
// (temperature 0), as in-process.
func (c *Client) body(req infill.FillRequest) map[string]any {
	n := maxTokens(req)
	related := infill.RenderRelated(req.Related, req.Comment)
	b := map[string]any{}
	switch c.cfg.API {
	case OpenAI, Mistral:
		b["prompt"], b["suffix"], b["max_tokens"], b["temperature"], b["stream"] = related+req.Prefix, req.Suffix, n, 0, false
	case LlamaCpp:
		extra := make([]api.Chunk, 0, len(req.Related))
		for _, ch := range req.Related {
			extra = append(extra, api.Chunk{Filename: ch.Path, Text: ch.Text})
		}
		b["input_prefix"], b["input_suffix"], b["input_extra"], b["n_predict"] = req.Prefix, req.Suffix, extra, n
		b["cache_prompt"], b["temperature"], b["stream"] = true, 0, false
	case Ollama:
		b["prompt"], b["suffix"], b["stream"] = related+req.Prefix, req.Suffix, false
		b["options"] = map[string]any{"num_predict": n, "temperature": 0}
	}
	if c.cfg.Model != "" {
		b["model"] = c.cfg.Model
	}
	if !c.cfg.NoDream {
		expand := req.Expand
		b["dream"] = api.Dream{Steps: req.Steps, Alg: req.Alg, Lengths: req.Lengths, BOS: req.BOS, Expand: &expand}
	}
	return b
}

// parse reads the answer of the client's shape.
func (c *Client) parse(raw []byte, req infill.FillRequest) ([]infill.Middle, error) {
	var r struct {
		Choices []struct {
			Text    *string `json:"text"`
			Message *struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
		Usage *struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
		Content         *string          `json:"content"`
		TokensPredicted int              `json:"tokens_predicted"`
		Response        *string          `json:"response"`
		EvalCount       int              `json:"eval_count"`
		Dream           *api.DreamResult `json:"dream"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("remote: the %s answer is not JSON: %v", c.cfg.API, err)
	}
	if d := r.Dream; d != nil && len(d.Middles) > 0 && (len(req.Lengths) == 0 || len(d.Middles) == len(req.Lengths) || req.Expand) {
		return d.Middles, nil
	}
	var text *string
	tokens := 0
	switch c.cfg.API {
	case OpenAI, Mistral:
		if len(r.Choices) > 0 {
			if ch := r.Choices[0]; ch.Text != nil {
				text = ch.Text
			} else if ch.Message != nil {
				text = &ch.Message.Content
			}
		}
		if r.Usage != nil {
			tokens = r.Usage.CompletionTokens
		}
	case LlamaCpp:
		text, tokens = r.Content, r.TokensPredicted
	case Ollama:
		text, tokens = r.Response, r.EvalCount
	}
	if text == nil {
		return nil, fmt.Errorf("remote: the %s answer holds no completion: %.200s", c.cfg.API, raw)
	}
	return []infill.Middle{{Text: *text, Tokens: tokens, NoConfidence: true}}, nil
}

// post sends body, retrying only where the server cannot have acted on
// it, and returns the 200 answer's body.
func (c *Client) post(ctx context.Context, path string, body []byte, consume func(io.Reader) ([]infill.Middle, error)) ([]infill.Middle, error) {
	wait := c.cfg.Backoff
	staleRetried := false
	for attempt := 0; ; attempt++ {
		mids, retryAfter, err := c.attempt(ctx, path, body, consume)
		if err == nil {
			return mids, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, errStale) && !staleRetried {
			// Once, at once, on a new connection, whatever Retries says:
			// the kept-alive connection was dead (the server closed it
			// or went away), not the request's fault.
			staleRetried = true
			attempt--
			c.log.Debug("remote: retrying on a new connection", "url", c.base.Redacted(), "err", err)
			continue
		}
		if attempt >= c.cfg.Retries || c.cfg.Retries < 0 {
			return nil, err
		}
		var d time.Duration
		switch {
		case errors.Is(err, errRefused):
			d, wait = wait, 2*wait
		case retryAfter >= 0 && retryAfter <= c.cfg.MaxRetryAfter:
			d = retryAfter
		default:
			return nil, err
		}
		c.log.Debug("remote: retrying", "url", c.base.Redacted(), "attempt", attempt+1, "wait", d, "err", err)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// errRefused marks a connection refused: nothing was sent.
var errRefused = errors.New("connection refused")

// errStale marks a kept-alive connection that was closed under the
// request (EOF or reset before any answer): the server had closed it, or
// died; nothing was answered on it.
var errStale = errors.New("the kept-alive connection was closed")

// attempt makes one HTTP call. retryAfter is >= 0 when the server asked
// to come back later (503 or 429 with Retry-After).
func (c *Client) attempt(ctx context.Context, path string, body []byte, consume func(io.Reader) ([]infill.Middle, error)) (mids []infill.Middle, retryAfter time.Duration, err error) {
	retryAfter = -1
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	u := *c.base
	u.Path += path
	hr, err := http.NewRequestWithContext(actx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, -1, fmt.Errorf("remote: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	if c.key != "" {
		hr.Header.Set("Authorization", "Bearer "+c.key)
	}
	reused := false
	hr = hr.WithContext(httptrace.WithClientTrace(hr.Context(), &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
	}))
	resp, err := c.hc.Do(hr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, -1, ctx.Err()
		}
		if reused && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)) {
			return nil, -1, fmt.Errorf("remote: %s: %w: %v", c.base.Redacted(), errStale, cleanErr(err))
		}
		if errors.Is(actx.Err(), context.DeadlineExceeded) {
			return nil, -1, fmt.Errorf("remote: %s: no answer within %v", c.base.Redacted(), c.cfg.Timeout)
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil, -1, fmt.Errorf("%w: %s: %w", ErrUnreachable, c.base.Redacted(), errRefused)
		}
		var dnsErr *net.DNSError
		var opErr *net.OpError
		if errors.As(err, &dnsErr) || errors.As(err, &opErr) && opErr.Op == "dial" {
			return nil, -1, fmt.Errorf("%w: %s: %v", ErrUnreachable, c.base.Redacted(), cleanErr(err))
		}
		return nil, -1, fmt.Errorf("remote: %s: %v", c.base.Redacted(), cleanErr(err))
	}
	defer resp.Body.Close() // before the whole answer is read: closes the connection, the server stops
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		if resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests {
			if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s >= 0 {
				retryAfter = time.Duration(s) * time.Second
			}
		}
		return nil, retryAfter, &StatusError{Code: resp.StatusCode, Message: errorMessage(raw)}
	}
	mids, err = consume(resp.Body)
	if err != nil {
		if ctx.Err() != nil {
			return nil, -1, ctx.Err()
		}
		if errors.Is(actx.Err(), context.DeadlineExceeded) {
			return nil, -1, fmt.Errorf("remote: %s: no complete answer within %v", c.base.Redacted(), c.cfg.Timeout)
		}
		return nil, -1, fmt.Errorf("remote: reading the answer: %v", cleanErr(err))
	}
	return mids, -1, nil
}

// readStream reads a streamed answer (server-sent events, or NDJSON for
// Ollama) piece by piece. It returns dream-lsp's middles when an event
// carries them, else the text so far once it holds a line break after
// some text (for single-line requests) or when the stream ends.
func (c *Client) readStream(r io.Reader, req infill.FillRequest) ([]infill.Middle, error) {
	sc := bufio.NewScanner(io.LimitReader(r, maxResponse))
	sc.Buffer(make([]byte, 0, 64<<10), maxResponse)
	var text strings.Builder
	pieces := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if c.cfg.API != Ollama {
			data, ok := strings.CutPrefix(line, "data:")
			if !ok {
				continue // SSE comments, event names, blank separators
			}
			line = strings.TrimSpace(data)
			if line == "[DONE]" {
				break
			}
		}
		if line == "" {
			continue
		}
		var ev struct {
			Choices []struct {
				Text  *string `json:"text"`
				Delta *struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
			Content  *string          `json:"content"`
			Response *string          `json:"response"`
			Dream    *api.DreamResult `json:"dream"`
			Error    json.RawMessage  `json:"error"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			return nil, fmt.Errorf("remote: a streamed %s event is not JSON: %.200s", c.cfg.API, line)
		}
		if len(ev.Error) > 0 {
			return nil, fmt.Errorf("remote: the stream ended with an error: %s", errorMessage([]byte(line)))
		}
		if d := ev.Dream; d != nil && len(d.Middles) > 0 && (len(req.Lengths) == 0 || len(d.Middles) == len(req.Lengths) || req.Expand) {
			return d.Middles, nil
		}
		var piece *string
		switch {
		case len(ev.Choices) > 0 && ev.Choices[0].Text != nil:
			piece = ev.Choices[0].Text
		case len(ev.Choices) > 0 && ev.Choices[0].Delta != nil:
			piece = &ev.Choices[0].Delta.Content
		case c.cfg.API == LlamaCpp:
			piece = ev.Content
		case c.cfg.API == Ollama:
			piece = ev.Response
		}
		if piece != nil && *piece != "" {
			text.WriteString(*piece)
			pieces++
		}
		if req.SingleLine && lineDone(text.String()) {
			break
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return []infill.Middle{{Text: text.String(), Tokens: pieces, NoConfidence: true}}, nil
}

// lineDone reports whether s holds a line break after some non-blank text:
// all of a single-line middle the engine keeps (post.FirstLine).
func lineDone(s string) bool {
	lead := len(s) - len(strings.TrimLeft(s, " \t\n"))
	return strings.IndexByte(s[lead:], '\n') >= 0
}

// cleanErr drops the URL that net/http puts in its errors (it may hold
// credentials in user info; the message names the server once already).
func cleanErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// errorMessage extracts the message of an error body in the usual shapes:
// {"error": "..."}, {"error": {"message": "..."}}, {"detail": ...}, or text.
func errorMessage(raw []byte) string {
	var v struct {
		Error  json.RawMessage `json:"error"`
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(raw, &v) == nil {
		var s string
		if json.Unmarshal(v.Error, &s) == nil {
			return s
		}
		var o struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(v.Error, &o) == nil && o.Message != "" {
			return o.Message
		}
		if len(v.Detail) > 0 {
			return string(v.Detail)
		}
	}
	s := strings.TrimSpace(string(raw))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// Check asks the server whether it is up (GET /health for dream-lsp and
// llama.cpp, / for Ollama, /v1/models otherwise), for the editor's status
// when it becomes reachable again.
func (c *Client) Check(ctx context.Context) error {
	path := "/v1/models"
	switch c.cfg.API {
	case LlamaCpp:
		path = "/health"
	case Ollama:
		path = "/"
	}
	actx, cancel := context.WithTimeout(ctx, min(c.cfg.Timeout, 5*time.Second))
	defer cancel()
	u := *c.base
	u.Path += path
	hr, err := http.NewRequestWithContext(actx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	if c.key != "" {
		hr.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.hc.Do(hr)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnreachable, c.base.Redacted(), cleanErr(err))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &StatusError{Code: resp.StatusCode}
	}
	return nil
}
