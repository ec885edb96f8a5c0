package remote

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzAnswer feeds arbitrary server answers to every shape's parser, whole
// and streamed: a bad answer is an error or a middle, never a panic, and a
// middle's text is one the answer held (no invented text).
func FuzzAnswer(f *testing.F) {
	for _, s := range []string{
		`{"choices":[{"text":"x"}],"usage":{"completion_tokens":1}}`,
		`{"choices":[{"message":{"content":"x"}}]}`,
		`{"content":"x","tokens_predicted":1}`, `{"response":"x","eval_count":1}`,
		`{"choices":[{"text":"b"}],"dream":{"middles":[{"text":"a"},{"text":"b"}],"lengths":[4,8]}}`,
		"data: {\"content\":\"go\"}\n\ndata: {\"content\":\" f()\\n\"}\n\n", "data: [DONE]\n", `{"error":"x"}`,
		`{"choices":[]}`, `null`, `[]`, `{"dream":{"middles":null}}`, "data: {\n", "",
	} {
		f.Add(uint8(0), s)
	}
	apis := []string{OpenAI, Mistral, LlamaCpp, Ollama}
	f.Fuzz(func(t *testing.T, which uint8, answer string) {
		cl, err := New(Config{URL: "http://127.0.0.1:1", API: apis[int(which)%len(apis)]})
		if err != nil {
			t.Fatal(err)
		}
		req := fillReq
		if mids, err := cl.parse([]byte(answer), req); err == nil {
			for _, m := range mids {
				// JSON escapes and invalid UTF-8 (replaced by U+FFFD) change the text's bytes.
				if !strings.Contains(answer, m.Text) && !strings.Contains(answer, `\`) && utf8.ValidString(answer) {
					t.Errorf("middle %q is not in the answer %q", m.Text, answer)
				}
			}
		}
		req.SingleLine = true
		cl.readStream(strings.NewReader(answer), req)
	})
}
