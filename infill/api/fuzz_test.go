package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dream-lsp/dream-lsp/infill/infilltest"
)

// FuzzRequest sends arbitrary bodies to every completion endpoint: the
// answer is 200 or a 4xx with a JSON error, never a panic or a 5xx, and
// the server still answers a good request afterwards.
func FuzzRequest(f *testing.F) {
	seeds := []string{
		`{"prompt":"x","suffix":"y","max_tokens":4}`,
		`{"prompt":["x"],"dream":{"lengths":[1,2],"steps":2,"alg":"origin","seed":3,"bos":true,"expand":false}}`,
		`{"input_prefix":"a","input_suffix":"b","input_extra":[{"filename":"f","text":"t"}],"n_predict":-1,"cache_prompt":true}`,
		`{"prompt":"x","stream":true,"options":{"num_predict":3,"seed":1}}`,
		`{"prompt":"x","max_tokens":"3"}`, `{"prompt":1e400}`, `{"dream":{"lengths":[-1]}}`, `[]`, `null`, `{`, "",
		`{"prompt":"\u0000\ud800"}`, `{"prompt":"x","n":2}`, `{"input_extra":[{"filename":"a\nb"}]}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	s, err := New(Options{Runtime: &infilltest.Runtime{Script: echoScript}, Model: "m"})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Shutdown()
	h := s.Handler()
	paths := []string{PathOpenAI, PathMistral, PathLlamaCpp, PathOllama}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		path := paths[int(which)%len(paths)]
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", path, strings.NewReader(string(body))))
		code := rec.Code
		switch {
		case code == http.StatusOK:
		case code >= 400 && code < 500:
			var v struct{ Error json.RawMessage }
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || len(v.Error) == 0 {
				t.Fatalf("%s %q: %d with a body that is not a JSON error: %q", path, body, code, rec.Body.String())
			}
		default:
			t.Fatalf("%s %q: status %d: %s", path, body, code, rec.Body.String())
		}
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", PathOpenAI, strings.NewReader(`{"prompt":"still fine"}`)))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "<fine>") {
			t.Fatalf("after %q: %d %s", body, rec.Code, rec.Body.String())
		}
	})
}
