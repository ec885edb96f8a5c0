package denoise

import "math"

// eosTail pads every run of masks after its first end-of-text: once a slot
// of a run of the canvas's initial masks (orig) holds eos, every slot after
// it in the run that is still masked becomes eos in the same step, with
// the probability the model gives eos there as its confidence.
//
// Why: a middle shorter than its masks ends in eos padding, and a caller
// reads the middle up to its first eos (infill's cleanMiddle). With fewer
// steps than masks the schedule commits several slots a step; the slots
// after an eos would be filled with noise that the masks before it then
// attend to. Padding at once ends such a row early (issue 15). On the
// built-in model it ended no row early on the cases tried: its padding
// grows from the end of the run (docs/BENCHMARKS.md "LSP latency").
//
// canvas and conf are the row's current tokens and confidences (updated in
// place); want are the positions of the slots logits has rows for (the
// masks before this step's commits). It returns how many slots it padded.
func eosTail(canvas []int, conf []float32, orig []int, want []int, logits []float32, vocab, mask, eos int) int {
	if eos < 0 || eos >= vocab {
		return 0
	}
	row := make(map[int]int, len(want)) // canvas position -> logits row
	for j, p := range want {
		row[p] = j
	}
	n := 0
	padding := false
	for p := range orig {
		if orig[p] != mask {
			padding = false // the run ended
			continue
		}
		switch {
		case !padding:
			padding = canvas[p] == eos
		case canvas[p] == mask:
			j, ok := row[p]
			if !ok {
				continue
			}
			l := logits[j*vocab : (j+1)*vocab]
			m := l[0]
			for _, v := range l {
				m = max(m, v)
			}
			sum := 0.0
			for _, v := range l {
				sum += math.Exp(float64(v - m))
			}
			canvas[p], conf[p] = eos, float32(math.Exp(float64(l[eos]-m))/sum)
			n++
		}
	}
	return n
}
