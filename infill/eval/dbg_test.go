package eval

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestDbgPost is a debugging aid: it prints how the engine's
// post-processing treats the reference middles of the tasks named in DBG.
func TestDbgPost(t *testing.T) {
	ids := os.Getenv("DBG")
	if ids == "" {
		t.Skip("debugging aid: set DBG=task-id,... to print prefix, suffix, reference and processed middle")
	}
	dir := evalDir(t)
	for _, set := range Sets {
		all, _ := Load(dir, set)
		for _, id := range strings.Split(ids, ",") {
			for _, tk := range all {
				if tk.ID != id {
					continue
				}
				rc := newRefCompleter([]*Task{tk})
				res, err := rc.Complete(context.Background(), infillReq(tk))
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s\nPREFIX TAIL %q\nSUFFIX HEAD %q\nREF %q\nGOT %q", id, tail(tk.Prefix), head(tk.Suffix), tk.Middle, res.Candidates[0].Text)
			}
		}
	}
}

func tail(s string) string {
	if len(s) > 120 {
		return s[len(s)-120:]
	}
	return s
}
func head(s string) string {
	if len(s) > 120 {
		return s[:120]
	}
	return s
}
