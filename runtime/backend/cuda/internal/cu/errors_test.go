package cu

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestErrorNamesCallAndStatus(t *testing.T) {
	for _, c := range []struct {
		call string
		code Result
		want []string
	}{
		{"cuMemAlloc_v2", ErrorOutOfMemory, []string{"cuMemAlloc_v2", "CUDA_ERROR_OUT_OF_MEMORY", "(2)"}},
		{"cuInit", ErrorNoDevice, []string{"cuInit", "CUDA_ERROR_NO_DEVICE", "(100)"}},
		{"cuLaunchKernel", ErrorIllegalAddress, []string{"cuLaunchKernel", "CUDA_ERROR_ILLEGAL_ADDRESS"}},
		{"cuModuleLoadData", ErrorNoBinaryForGPU, []string{"CUDA_ERROR_NO_BINARY_FOR_GPU"}},
		{"cuFoo", Result(12345), []string{"cuFoo", "CUresult(12345)"}},
	} {
		err := check(c.call, c.code)
		if err == nil {
			t.Fatalf("check(%s, %d) = nil", c.call, c.code)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q lacks %q", err, w)
			}
		}
		wrapped := fmt.Errorf("outer: %w", err)
		if !errors.Is(wrapped, c.code) {
			t.Errorf("errors.Is(%v, %v) = false", wrapped, c.code)
		}
		var e *Error
		if !errors.As(wrapped, &e) || e.Call != c.call || e.Code != c.code {
			t.Errorf("errors.As gave %+v", e)
		}
	}
	if err := check("cuInit", Success); err != nil {
		t.Errorf("check(success) = %v", err)
	}
	if errors.Is(check("cuInit", ErrorNoDevice), ErrorOutOfMemory) {
		t.Error("a NO_DEVICE error matches OUT_OF_MEMORY")
	}
}

func TestErrorDetail(t *testing.T) {
	e := &Error{Call: "cuCtxSynchronize", Code: ErrorIllegalAddress, Detail: "an illegal memory access was encountered"}
	if got := e.Error(); !strings.Contains(got, "illegal memory access") || !strings.HasPrefix(got, "cuCtxSynchronize: ") {
		t.Errorf("Error() = %q", got)
	}
}

func TestResultNamesDistinct(t *testing.T) {
	seen := map[string]Result{}
	for r, n := range resultNames {
		if !strings.HasPrefix(n, "CUDA_") {
			t.Errorf("%d: name %q", r, n)
		}
		if prev, dup := seen[n]; dup {
			t.Errorf("name %s used by %d and %d", n, prev, r)
		}
		seen[n] = r
	}
}
