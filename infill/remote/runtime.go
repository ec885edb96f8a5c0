package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/dream-lsp/dream-lsp/infill"
	"github.com/dream-lsp/dream-lsp/runtime/tokenizer"
)

// Info is what a server says about its model.
type Info struct {
	Model string
	// MaxPositions is the model's longest canvas when the server is a
	// dream-lsp api (0: unknown or unlimited).
	MaxPositions int
}

// Info reads GET /v1/models (the first model). Servers without that
// endpoint (Ollama) answer an error; callers fall back to defaults.
func (c *Client) Info(ctx context.Context) (Info, error) {
	actx, cancel := context.WithTimeout(ctx, min(c.cfg.Timeout, 5*time.Second))
	defer cancel()
	u := *c.base
	u.Path += "/v1/models"
	hr, err := http.NewRequestWithContext(actx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Info{}, err
	}
	if c.key != "" {
		hr.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.hc.Do(hr)
	if err != nil {
		return Info{}, fmt.Errorf("%w: %s: %v", ErrUnreachable, c.base.Redacted(), cleanErr(err))
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return Info{}, &StatusError{Code: resp.StatusCode, Message: errorMessage(raw)}
	}
	var v struct {
		Data []struct {
			ID    string `json:"id"`
			Dream *struct {
				MaxPositions int `json:"max_positions"`
			} `json:"dream"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || len(v.Data) == 0 {
		return Info{}, fmt.Errorf("remote: /v1/models: no model listed")
	}
	info := Info{Model: v.Data[0].ID}
	if d := v.Data[0].Dream; d != nil && d.MaxPositions > 0 {
		info.MaxPositions = d.MaxPositions
	}
	return info, nil
}

// ErrNoLocalModel is returned by Runtime.Denoise: with a remote model only
// the engine's Fill path (prefix, suffix, lengths) goes over the network;
// joint hole filling needs the model in-process.
var ErrNoLocalModel = errors.New("remote: this needs the model in-process (the remote model fills one middle at a time)")

// Runtime is the engine's runtime when the model is remote: a tokenizer
// for counting window and middle tokens (the built-in model's, or the
// server model's own when the client has it) and the server's canvas limit.
// It has no model: Denoise fails with ErrNoLocalModel.
type Runtime struct {
	Tok    *tokenizer.Tokenizer
	MaxPos int
}

var _ infill.Runtime = (*Runtime)(nil)

func (r *Runtime) Encode(text string) []int { return r.Tok.Encode(text) }
func (r *Runtime) Decode(ids []int) string  { return r.Tok.DecodeSkipSpecial(ids) }
func (r *Runtime) MaskID() int              { return -1 }
func (r *Runtime) EOSID() int               { return -1 }
func (r *Runtime) PadID() int               { return -1 }
func (r *Runtime) ExpandID() (int, bool)    { return 0, false }
func (r *Runtime) MaxPositions() int        { return r.MaxPos }

// BOSID reports a BOS so the engine tells the server (FillRequest.BOS)
// when the prefix starts the file; the server puts its model's own.
func (r *Runtime) BOSID() (int, bool) { return -1, true }

func (r *Runtime) Denoise(context.Context, infill.DenoiseRequest) (*infill.DenoiseResult, error) {
	return nil, ErrNoLocalModel
}
