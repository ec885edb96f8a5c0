package denoise

import (
	"math"

	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

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

// eosRuns fills the end-of-text padding of every run of masks a stretch at
// a time: where a run of the canvas's initial masks (orig) ends in slots
// holding eos, each still-masked slot just before them whose token this
// step is eos (eosAt) becomes eos too, right to left until a slot whose
// token is not. conf gets p(eos) there. It returns how many slots it
// filled.
//
// Why: with one token per step a candidate longer than its middle pads
// itself from the end of its run, one eos a step (docs/BENCHMARKS.md "LSP
// latency"): most steps of a long length candidate go to padding the
// model has already settled. Filling that padding at once ends the row
// early while every other slot still commits one a step; committing
// several ordinary slots a step instead fills long candidates with noise.
//
// canvas and conf are the row's current tokens and confidences (updated in
// place); want are the positions of the slots this step scored, and
// eosAt(j, eos) says whether slot j's token this step is eos, with p(eos).
func eosRuns(canvas []int, conf []float32, orig, want []int, mask, eos int, eosAt func(j, eos int) (bool, float32)) int {
	if eos < 0 || len(want) == 0 {
		return 0
	}
	slot := make(map[int]int, len(want)) // canvas position -> scored slot
	for j, p := range want {
		slot[p] = j
	}
	n := 0
	for end := len(orig); end > 0; {
		if orig[end-1] != mask {
			end--
			continue
		}
		start := end
		for start > 0 && orig[start-1] == mask {
			start--
		}
		p := end - 1 // the run is orig[start:end]
		for p >= start && canvas[p] == eos {
			p--
		}
		if p < end-1 { // the run ends in eos: pad leftwards
			for ; p >= start && canvas[p] == mask; p-- {
				j, ok := slot[p]
				if !ok {
					break
				}
				isEOS, prob := eosAt(j, eos)
				if !isEOS {
					break
				}
				canvas[p], conf[p] = eos, prob
				n++
			}
		}
		end = start
	}
	return n
}

// eosFromLogits is eosRuns' eosAt over one row's shifted logits (vocab per
// scored slot): the slot's token is eos when it is the greedy draw, with
// its probability.
func eosFromLogits(logits []float32, vocab int) func(j, eos int) (bool, float32) {
	return func(j, eos int) (bool, float32) {
		tok, p := sampler.Greedy(logits[j*vocab : (j+1)*vocab])
		return tok == eos, p
	}
}

// eosFromSamples is eosRuns' eosAt over a device's draws.
func eosFromSamples(samples []Sample) func(j, eos int) (bool, float32) {
	return func(j, eos int) (bool, float32) {
		return samples[j].Token == eos, float32(samples[j].Prob)
	}
}

// MaskCount counts the masks left in a canvas (engine.CountMasks sums it
// over a request's canvases).
func MaskCount(canvas []int, mask int) int {
	n := 0
	for _, id := range canvas {
		if id == mask {
			n++
		}
	}
	return n
}
