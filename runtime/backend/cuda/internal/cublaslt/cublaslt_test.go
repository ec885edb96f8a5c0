package cublaslt

import (
	"strings"
	"testing"
)

func TestErrorText(t *testing.T) {
	for _, c := range []struct {
		s    Status
		want string
	}{
		{7, "CUBLAS_STATUS_INVALID_VALUE"},
		{15, "CUBLAS_STATUS_NOT_SUPPORTED"},
		{13, "CUBLAS_STATUS_EXECUTION_FAILED"},
		{42, "cublasStatus_t(42)"},
	} {
		e := &Error{Call: "cublasLtMatmul", Status: c.s}
		if got := e.Error(); !strings.HasPrefix(got, "cublasLtMatmul: ") || !strings.Contains(got, c.want) {
			t.Errorf("Error() = %q, want the call and %s", got, c.want)
		}
	}
}

func TestNewPlanRejectsBadShapes(t *testing.T) {
	var l Lt // no library: the shape check comes first
	for _, s := range []GEMMShape{{M: 0, N: 1, K: 1}, {M: 1, N: -1, K: 1}, {M: 1, N: 1, K: 0}} {
		if _, err := l.NewPlan(s); err == nil {
			t.Errorf("NewPlan(%+v) accepted", s)
		}
	}
}
