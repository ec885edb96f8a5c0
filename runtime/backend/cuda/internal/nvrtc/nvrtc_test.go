package nvrtc

import (
	"strings"
	"testing"
)

func TestErrorText(t *testing.T) {
	e := &Error{Call: "nvrtcCompileProgram", Program: "attention.cu", Code: ErrorCompilation,
		Log: `attention.cu(12): error: identifier "x" is undefined`}
	got := e.Error()
	for _, want := range []string{"attention.cu", "nvrtcCompileProgram", "NVRTC_ERROR_COMPILATION", "(6)", `identifier "x" is undefined`} {
		if !strings.Contains(got, want) {
			t.Errorf("Error() = %q lacks %q", got, want)
		}
	}
	if s := Result(99).String(); s != "nvrtcResult(99)" {
		t.Errorf("unknown result = %q", s)
	}
	if s := Result(5).String(); s != "NVRTC_ERROR_INVALID_OPTION" {
		t.Errorf("Result(5) = %q", s)
	}
}
