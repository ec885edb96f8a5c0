package dl

import (
	"strings"
	"testing"
)

func TestOpenMissingLibrary(t *testing.T) {
	_, err := Open("libdream-lsp-does-not-exist.so.7")
	if err == nil || !strings.Contains(err.Error(), "libdream-lsp-does-not-exist.so.7") {
		t.Fatalf("Open of a missing library: err = %v, want one naming the library", err)
	}
}

func TestCStrings(t *testing.T) {
	b := CString("sm_90")
	if len(b) != 6 || b[5] != 0 || string(b[:5]) != "sm_90" {
		t.Fatalf("CString = %q", b)
	}
	if got := GoString(&b[0], 100); got != "sm_90" {
		t.Errorf("GoString = %q", got)
	}
	if got := GoString(&b[0], 2); got != "sm" {
		t.Errorf("GoString with max 2 = %q", got)
	}
	if got := GoString(nil, 10); got != "" {
		t.Errorf("GoString(nil) = %q", got)
	}
	cs := NewCStrings([]string{"-std=c++17", "--minimal"})
	defer cs.Free()
	if cs.Len() != 2 || cs.Ptr() == 0 {
		t.Errorf("CStrings len %d ptr %x", cs.Len(), cs.Ptr())
	}
	empty := NewCStrings(nil)
	defer empty.Free()
	if empty.Ptr() != 0 {
		t.Error("empty CStrings has a non-nil pointer")
	}
}
