package infill

import (
	"slices"
	"testing"
)

func TestRowSteps(t *testing.T) {
	for _, c := range []struct {
		name            string
		totals          []int
		steps, maxSteps int
		want            []int
		longest         int
	}{
		{"one per mask, no cap", []int{11, 33, 64}, 0, -1, []int{11, 33, 64}, 64},
		{"one per mask up to the cap", []int{11, 33, 64}, 0, 12, []int{11, 12, 12}, 12},
		{"all under the cap", []int{3, 6}, 0, 12, []int{3, 6}, 6},
		{"explicit steps scale with the share", []int{11, 33, 64}, 16, 12, []int{3, 9, 16}, 16},
		{"explicit steps beyond the masks", []int{4}, 10, 0, []int{10}, 10},
		{"no masks still runs a step", []int{0, 5}, 0, 12, []int{1, 5}, 5},
	} {
		got, longest := rowSteps(c.totals, c.steps, c.maxSteps)
		if !slices.Equal(got, c.want) || longest != c.longest {
			t.Errorf("%s: rowSteps(%v, %d, %d) = %v, %d; want %v, %d", c.name, c.totals, c.steps, c.maxSteps, got, longest, c.want, c.longest)
		}
	}
}

// TestSamplerDefaults: a request without τ or block gets infill's
// defaults, not the sampler's (Fast-dLLM's 0.9 and 32-slot blocks).
func TestSamplerDefaults(t *testing.T) {
	if got := threshold(0); got != DefaultThreshold {
		t.Errorf("threshold(0) = %v, want %v", got, DefaultThreshold)
	}
	if got := threshold(0.5); got != 0.5 {
		t.Errorf("threshold(0.5) = %v", got)
	}
	if got := blockSize(0); got != DefaultBlockSize {
		t.Errorf("blockSize(0) = %v, want %v", got, DefaultBlockSize)
	}
	if got := blockSize(8); got != 8 {
		t.Errorf("blockSize(8) = %v", got)
	}
}
