package sampler

import (
	"errors"
	"testing"
)

// TestStepTransfer checks DreamOn's fixed commit count: exactly k slots,
// the most confident ones, whatever the (absent) schedule says.
func TestStepTransfer(t *testing.T) {
	const vocab = 4
	// Slot 0 is unsure, slot 1 certain of token 2, slot 2 fairly sure of 3.
	logits := []float32{
		0, 0.1, 0, 0,
		0, 0, 9, 0,
		0, 0, 0, 3,
	}
	for _, tc := range []struct {
		alg   Alg
		k     int
		slots []int
	}{
		{MaskGITPlus, 1, []int{1}},
		{Entropy, 1, []int{1}},
		{TopKMargin, 2, []int{1, 2}},
		{Entropy, 5, []int{0, 1, 2}},
	} {
		s, err := New(Options{Alg: tc.alg}, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.StepTransfer(logits, vocab, tc.k)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(tc.slots) {
			t.Fatalf("%s k=%d: %d commits, want %d", tc.alg, tc.k, len(got), len(tc.slots))
		}
		for i, c := range got {
			if c.Slot != tc.slots[i] {
				t.Errorf("%s k=%d: commit %d at slot %d, want %d", tc.alg, tc.k, i, c.Slot, tc.slots[i])
			}
		}
		if tc.k == 1 && got[0].Token != 2 {
			t.Errorf("%s: token %d, want 2", tc.alg, got[0].Token)
		}
	}
	for _, alg := range []Alg{Origin, ConfidenceThreshold} {
		s, _ := New(Options{Alg: alg}, 1, 0)
		if _, err := s.StepTransfer(logits, vocab, 1); !errors.Is(err, ErrOptions) {
			t.Errorf("%s: err %v, want ErrOptions", alg, err)
		}
	}
	s, _ := New(Options{Alg: Entropy}, 1, 0)
	if _, err := s.StepTransfer(logits, vocab, 0); err == nil {
		t.Error("k = 0 accepted")
	}
	if _, err := s.StepTransfer(logits[:5], vocab, 1); err == nil {
		t.Error("ragged logits accepted")
	}
}
