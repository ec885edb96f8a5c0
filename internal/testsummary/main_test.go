package main

import (
	"strings"
	"testing"
)

// A go test -json stream with a pass, a skip with its reason, a failing
// subtest and a package that failed to build.
const stream = `{"Action":"start","Package":"example.com/a"}
{"Action":"run","Package":"example.com/a","Test":"TestOK"}
{"Action":"output","Package":"example.com/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"output","Package":"example.com/a","Test":"TestOK","Output":"--- PASS: TestOK (0.00s)\n"}
{"Action":"pass","Package":"example.com/a","Test":"TestOK","Elapsed":0}
{"Action":"run","Package":"example.com/a","Test":"TestGPU"}
{"Action":"output","Package":"example.com/a","Test":"TestGPU","Output":"=== RUN   TestGPU\n"}
{"Action":"output","Package":"example.com/a","Test":"TestGPU","Output":"    gpu_test.go:30: no usable GPU: no libcuda\n"}
{"Action":"output","Package":"example.com/a","Test":"TestGPU","Output":"--- SKIP: TestGPU (0.00s)\n"}
{"Action":"skip","Package":"example.com/a","Test":"TestGPU","Elapsed":0}
{"Action":"run","Package":"example.com/a","Test":"TestText"}
{"Action":"run","Package":"example.com/a","Test":"TestText/tabs"}
{"Action":"output","Package":"example.com/a","Test":"TestText/tabs","Output":"=== RUN   TestText/tabs\n"}
{"Action":"output","Package":"example.com/a","Test":"TestText/tabs","Output":"    text_test.go:9: got \"foo\", want \" foo\"\n"}
{"Action":"output","Package":"example.com/a","Test":"TestText/tabs","Output":"    --- FAIL: TestText/tabs (0.00s)\n"}
{"Action":"fail","Package":"example.com/a","Test":"TestText/tabs","Elapsed":0}
{"Action":"output","Package":"example.com/a","Test":"TestText","Output":"--- FAIL: TestText (0.00s)\n"}
{"Action":"fail","Package":"example.com/a","Test":"TestText","Elapsed":0}
{"Action":"output","Package":"example.com/a","Output":"FAIL\n"}
{"Action":"fail","Package":"example.com/a","Elapsed":0.5}
{"ImportPath":"example.com/b","Action":"build-output","Output":"b.go:3:1: syntax error\n"}
{"Action":"output","Package":"example.com/b","Output":"FAIL\texample.com/b [build failed]\n"}
{"Action":"fail","Package":"example.com/b","Elapsed":0}
{"Action":"skip","Package":"example.com/c","Elapsed":0}
`

func TestSummary(t *testing.T) {
	var out strings.Builder
	s := newSummary(&out)
	if err := s.read(strings.NewReader(stream + "not json\n")); err != nil {
		t.Fatal(err)
	}
	if !s.report() {
		t.Error("report() = false with failed tests")
	}
	got := out.String()
	for _, want := range []string{
		"--- FAIL: TestText/tabs (example.com/a)\n",
		"    " + `    text_test.go:9: got "foo", want " foo"` + "\n",
		"FAIL\texample.com/a\t0.500s\n",
		"FAIL\texample.com/b [build failed]\n",
		"b.go:3:1: syntax error\n",
		"?   \texample.com/c\t[no test files]\n",
		"not json\n",
		"tests: 4 run (3 top-level), 1 passed, 2 failed, 1 skipped (1 top-level); packages: 0 ok, 2 failed\n",
		"SKIP example.com/a TestGPU: gpu_test.go:30: no usable GPU: no libcuda\n",
		"FAIL example.com/a TestText/tabs\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "TestOK") {
		t.Errorf("a passing test's output was printed:\n%s", got)
	}
}

func TestSummaryAllPass(t *testing.T) {
	var out strings.Builder
	s := newSummary(&out)
	ok := `{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"pass","Package":"p","Elapsed":1}
`
	if err := s.read(strings.NewReader(ok)); err != nil {
		t.Fatal(err)
	}
	if s.report() {
		t.Errorf("report() = true with every test passing:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "tests: 1 run (1 top-level), 1 passed, 0 failed, 0 skipped") {
		t.Errorf("totals:\n%s", out.String())
	}
}
