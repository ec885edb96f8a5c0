package syntax

import (
	"context"
	"testing"

	"github.com/dream-lsp/dream-lsp/context/lang"
)

func TestErrorCount(t *testing.T) {
	l, _ := lang.ByID("go")
	cases := []struct {
		src  string
		errs bool
	}{
		{"package p\n\nfunc f() int { return 1 }\n", false},
		{"package p\n\nfunc f() int { return 1 +  }\n", true},
		{"package p\n\nfunc f( {\n", true},
	}
	for _, c := range cases {
		n, err := ErrorCount(context.Background(), l, []byte(c.src))
		if err != nil {
			t.Fatal(err)
		}
		if (n > 0) != c.errs {
			t.Errorf("%q: %d errors, want errors=%v", c.src, n, c.errs)
		}
	}
}

func TestCapturesAndEnclosing(t *testing.T) {
	l, _ := lang.ByID("python")
	src := "import os\n\ndef f(x):\n    return os.path.join(x, 'a')\n"
	tr, err := Parse(context.Background(), l, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	caps, err := tr.Captures(lang.QueryImports)
	if err != nil {
		t.Fatal(err)
	}
	if len(caps) != 1 || src[caps[0].Start:caps[0].End] != "import os" {
		t.Errorf("imports = %+v", caps)
	}
	off := len("import os\n\ndef f(x):\n    return os.path.join(")
	if n := tr.Enclosing(off, l.IsArgs); n == nil || n.Type() != "argument_list" {
		t.Errorf("no argument list around the cursor")
	}
	if n := tr.Enclosing(2, l.IsArgs); n != nil {
		t.Errorf("found an argument list in the import line")
	}
}
