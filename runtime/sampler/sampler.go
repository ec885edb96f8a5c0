// Package sampler implements Dream's token sampling and unmasking
// schedule (HF Dream generation_utils.py: sample_tokens and the
// diffusion_generate loop body), plus Fast-dLLM's confidence_threshold
// parallel decoding.
//
// Per step and per canvas row, Step takes the shifted logits of the row's
// masked slots and decides which slots to commit and with which tokens:
//
//   - logits are divided by the temperature (when > 0), then filtered by
//     top-p, then by top-k (that order, as Dream does; dropped entries
//     become −∞), then softmaxed;
//   - each slot's token is the argmax (temperature 0) or a draw from that
//     distribution; its confidence depends on the algorithm: maskgit_plus
//     and confidence_threshold use the chosen token's probability,
//     topk_margin p1 − p2, entropy Σ p·log(p + 1e−10) (minus the entropy);
//   - the number of slots committed at step i of S for a row with n masks
//     is k = floor(n·(1 − s/t)) with t, s = ts[i], ts[i+1] and ts =
//     linspace(1, eps, S+1) in float32 exactly as torch computes it, and n
//     on the last step (see CommitCount);
//   - the k slots are the k most confident (AlgTemp 0) or k draws without
//     replacement from softmax(confidence/AlgTemp);
//   - origin ignores confidence: every masked slot independently commits a
//     sampled token with probability 1 − s/t (1 on the last step).
//
// confidence_threshold (Fast-dLLM) commits every masked slot whose
// confidence exceeds Threshold, at least one, and never fewer than the
// schedule's k, so a row still finishes within the requested steps; with
// Steps equal to the mask count the schedule floor is 0 or 1 per step and
// the rule is Fast-dLLM's own ("at least the single best"). Given the
// slots' blocks (StepBlocks; denoise numbers the row's masked positions in
// blocks of BlockSize, 32 by default as in Fast-dLLM) it only considers
// the first block that still has masks, moving to the next block only
// when the schedule floor asks for more slots than that block has left.
//
// EOSPenalty > 0 subtracts EOSPenalty from the EOS logit before any other
// step (so at temperature 1 EOS's odds are multiplied by exp(−EOSPenalty)).
// Dream-Coder's own eos_penalty formula is unverified; this one is ours.
//
// Randomness (temperature sampling, origin's coin flips, alg_temp position
// draws) comes from a math/rand/v2 PCG seeded with (Seed, row), so a row's
// result depends only on the seed, its index and its logits.
package sampler

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"sync"
)

// Alg names an unmasking algorithm.
type Alg string

// The algorithms.
const (
	Origin              Alg = "origin"
	MaskGITPlus         Alg = "maskgit_plus"
	TopKMargin          Alg = "topk_margin"
	Entropy             Alg = "entropy"
	ConfidenceThreshold Alg = "confidence_threshold"
)

// DefaultEps is Dream's last timestep (generation_config eps).
const DefaultEps = 1e-3

// DefaultThreshold is Fast-dLLM's confidence threshold τ.
const DefaultThreshold = 0.9

// DefaultBlockSize is Fast-dLLM's block length for confidence_threshold.
const DefaultBlockSize = 32

// Options configures sampling. The zero value of each field means Dream's
// default (greedy, no filters, deterministic positions).
type Options struct {
	Alg         Alg
	Temperature float64 // 0: greedy
	TopP        float64 // 0 or 1: off
	TopK        int     // 0: off
	AlgTemp     float64 // 0: deterministic position choice
	Threshold   float64 // confidence_threshold only (0: 0.9)
	BlockSize   int     // confidence_threshold only: masked slots per block (0: 32; -1: one block, the whole row)
	EOSPenalty  float64 // 0: off
	EOSTokenID  int
	Seed        uint64
	Eps         float64 // last timestep of the schedule (0: 1e-3)
}

// ErrOptions is wrapped by every Validate error.
var ErrOptions = errors.New("sampler: invalid options")

// Validate reports options the sampler cannot honour.
func (o Options) Validate() error {
	switch o.Alg {
	case Origin, MaskGITPlus, TopKMargin, Entropy, ConfidenceThreshold:
	case "":
		return fmt.Errorf("%w: alg is empty (want origin, maskgit_plus, topk_margin, entropy or confidence_threshold)", ErrOptions)
	default:
		return fmt.Errorf("%w: unknown alg %q (want origin, maskgit_plus, topk_margin, entropy or confidence_threshold)", ErrOptions, o.Alg)
	}
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) || v < 0 }
	switch {
	case bad(o.Temperature):
		return fmt.Errorf("%w: temperature %v", ErrOptions, o.Temperature)
	case bad(o.TopP) || o.TopP > 1:
		return fmt.Errorf("%w: top_p %v outside [0,1]", ErrOptions, o.TopP)
	case o.TopK < 0:
		return fmt.Errorf("%w: top_k %d", ErrOptions, o.TopK)
	case bad(o.AlgTemp):
		return fmt.Errorf("%w: alg_temp %v", ErrOptions, o.AlgTemp)
	case bad(o.Threshold) || o.Threshold > 1:
		return fmt.Errorf("%w: threshold %v outside [0,1]", ErrOptions, o.Threshold)
	case o.BlockSize < -1:
		return fmt.Errorf("%w: block size %d (want > 0, 0 for the default or -1 for the whole row)", ErrOptions, o.BlockSize)
	case bad(o.EOSPenalty):
		return fmt.Errorf("%w: eos_penalty %v", ErrOptions, o.EOSPenalty)
	case bad(o.Eps) || o.Eps >= 1:
		return fmt.Errorf("%w: eps %v outside [0,1)", ErrOptions, o.Eps)
	}
	return nil
}

// Timesteps returns linspace(1, eps, steps+1) computed in float32 the way
// torch.linspace does: step = (end−start)/(n−1); the first half counts up
// from start, the second half down from end.
func Timesteps(steps int, eps float64) []float32 {
	n := steps + 1
	ts := make([]float32, n)
	if n == 1 {
		ts[0] = 1
		return ts
	}
	start, end := float32(1), float32(eps)
	step := (end - start) / float32(n-1)
	half := n / 2
	for i := range n {
		if i < half {
			ts[i] = start + step*float32(i)
		} else {
			ts[i] = end - step*float32(n-i-1)
		}
	}
	return ts
}

// CommitCount returns how many of a row's n masked slots step i (0-based)
// of steps commits: floor(n·(1 − s/t)) in float32 with t, s = ts[i],
// ts[i+1], or n on the last step.
func CommitCount(n, i, steps int, ts []float32) int {
	if i >= steps-1 {
		return n
	}
	t, s := ts[i], ts[i+1]
	k := int(float32(n) * (1 - s/t))
	return min(max(k, 0), n)
}

// Commit is one decision of Step: write Token at the row's masked slot
// number Slot (an index into the logits rows passed to Step).
type Commit struct {
	Slot       int
	Token      int
	Confidence float32 // the chosen token's probability (the algorithm's score for ordering may differ)
}

// Sampler holds the per-row state of one denoising run: options, the
// schedule and the row's random generator. It is not safe for concurrent
// use; use one Sampler per row.
type Sampler struct {
	opts   Options
	steps  int
	offset int // step numbers are shifted by this (Replan)
	ts     []float32
	rng    *rand.Rand
}

// New returns the sampler of canvas row `row` for a run of `steps` steps.
func New(opts Options, steps, row int) (*Sampler, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if steps < 1 {
		return nil, fmt.Errorf("%w: steps %d, need at least 1", ErrOptions, steps)
	}
	if opts.Eps == 0 {
		opts.Eps = DefaultEps
	}
	if opts.Threshold == 0 {
		opts.Threshold = DefaultThreshold
	}
	return &Sampler{
		opts:  opts,
		steps: steps,
		ts:    Timesteps(steps, opts.Eps),
		rng:   rand.New(rand.NewPCG(opts.Seed, uint64(row))),
	}, nil
}

// Step decides the commits of step i for one row. logits holds one row of
// vocab shifted logits per masked slot (len = slots×vocab). The result is
// ordered by slot.
func (s *Sampler) Step(i int, logits []float32, vocab int) ([]Commit, error) {
	return s.StepBlocks(i, logits, vocab, nil)
}

// BlocksOf returns the block length StepBlocks' callers should number
// masked positions with: 0 when the options use no blocks.
func (o Options) BlocksOf() int {
	if o.Alg != ConfidenceThreshold || o.BlockSize < 0 {
		return 0
	}
	if o.BlockSize == 0 {
		return DefaultBlockSize
	}
	return o.BlockSize
}

// StepBlocks is Step with the block of every masked slot (blocks[j] for
// slot j, non-decreasing along the row as blocks are numbered from its
// first masked position); only confidence_threshold reads it, and nil
// means one block.
func (s *Sampler) StepBlocks(i int, logits []float32, vocab int, blocks []int) ([]Commit, error) {
	if vocab <= 0 || len(logits)%vocab != 0 {
		return nil, fmt.Errorf("sampler: %d logits are not a multiple of vocabulary %d", len(logits), vocab)
	}
	n := len(logits) / vocab
	if n == 0 {
		return nil, nil
	}
	i -= s.offset
	if blocks != nil && len(blocks) != n {
		return nil, fmt.Errorf("sampler: %d block numbers for %d masked slots", len(blocks), n)
	}
	if s.opts.EOSPenalty > 0 && (s.opts.EOSTokenID < 0 || s.opts.EOSTokenID >= vocab) {
		return nil, fmt.Errorf("sampler: eos token %d outside the vocabulary %d", s.opts.EOSTokenID, vocab)
	}
	last := i >= s.steps-1
	if s.opts.Alg == Origin {
		p := float32(1)
		if !last {
			p = 1 - s.ts[i+1]/s.ts[i]
		}
		var slots []int
		for j := range n {
			if s.rng.Float32() < p {
				slots = append(slots, j)
			}
		}
		scores := s.sampleSlots(logits, vocab, slots)
		out := make([]Commit, len(slots))
		for j, slot := range slots {
			out[j] = Commit{Slot: slot, Token: scores[j].token, Confidence: scores[j].prob}
		}
		return out, nil
	}
	if s.greedyEntropy(vocab) {
		k := CommitCount(n, i, s.steps, s.ts)
		if k == 0 {
			return nil, nil
		}
		scores, chosen := s.topEntropy(logits, vocab, n, k)
		return toCommits(scores, chosen), nil
	}
	k := CommitCount(n, i, s.steps, s.ts)
	if s.opts.Alg == ConfidenceThreshold && blocks != nil && s.opts.Temperature <= 0 {
		scores := s.blockScores(logits, vocab, blocks, k)
		return toCommits(scores, blockOrder(scores, blocks, k, s.opts.Threshold)), nil
	}
	all := make([]int, n)
	for j := range all {
		all[j] = j
	}
	scores := s.sampleSlots(logits, vocab, all)
	if s.opts.Alg == ConfidenceThreshold {
		if blocks != nil {
			return toCommits(scores, blockOrder(scores, blocks, k, s.opts.Threshold)), nil
		}
		above := 0
		for _, sc := range scores {
			if sc.conf > s.opts.Threshold {
				above++
			}
		}
		k = min(n, max(k, above, 1))
	}
	if k == 0 {
		return nil, nil
	}
	var chosen []int
	if s.opts.AlgTemp > 0 && k < n {
		chosen = s.drawPositions(scores, k)
	} else {
		chosen = topConfidence(scores, k)
	}
	return toCommits(scores, chosen), nil
}

// Replan restarts the row's schedule at step next after slots were filled
// outside it (runtime/denoise's end-of-text runs) and masks are left: see
// Replanned. Random draws continue where they were.
func (s *Sampler) Replan(next, masks int) {
	off, steps := Replanned(next, masks, s.offset, s.steps)
	if off == s.offset && steps == s.steps {
		return
	}
	s.offset, s.steps, s.ts = off, steps, Timesteps(steps, s.opts.Eps)
}

// Replanned is the schedule (step offset and length) a row with masks
// slots left continues on from step next, when its schedule so far had
// the given offset and steps. Dream's schedule counts the slots it commits
// from the masks it expects; once slots are filled outside it, it would
// commit nothing for many steps and the rest at its end. So step next
// becomes the second step of a fresh schedule (Dream's first step
// commits nothing) that ends no later than the old one: with as many
// steps as masks left, one slot a step, as Dream's one-token-per-step
// schedule does after its first step.
func Replanned(next, masks, offset, steps int) (int, int) {
	left := steps - (next - offset) // steps the old schedule has from next on
	if masks <= 0 || left <= 0 {
		return offset, steps
	}
	return next - 1, min(masks, left+1)
}

// greedyEntropy reports whether StepBlocks may take topEntropy's path:
// the entropy algorithm drawing greedily (temperature 0, no EOS penalty,
// no top-p/top-k filter) and committing the most confident slots
// (alg_temp 0), which is infill's default sampler.
func (s *Sampler) greedyEntropy(vocab int) bool {
	o := &s.opts
	return o.Alg == Entropy && o.Temperature == 0 && o.EOSPenalty == 0 && o.AlgTemp == 0 &&
		!(o.TopP > 0 && o.TopP < 1) && !(o.TopK > 0 && o.TopK < vocab)
}

// entropyMargin covers the rounding of an entropy summed over a
// vocabulary (|Σ q·log q| ≤ log vocab ≈ 12, rounding ~1e-16 a term).
const entropyMargin = 1e-9

// topEntropy is sampleSlots + topConfidence for greedyEntropy: it returns
// every slot's greedy token and probability and the k slots of largest
// confidence Σ q·log(q + 1e-10), the same slots with the same values as
// the general path, without computing the confidence of slots that cannot
// be among them.
//
// Why: the entropy needs an exponential and a logarithm per vocabulary
// entry, a fifth of a default infill's time, while a step commits one or
// a few of its slots. A slot's confidence is at most
// p1·log(p1 + 1e-10) + (1 − p1)·log(p2 + 1e-10) with p1, p2 its two
// largest probabilities (every other q has log(q + 1e-10) at most the
// second log, and they sum to 1 − p1), and p1, p2 come from one
// vectorised exponential sum and a scan for the two largest logits. So slots are
// taken by that bound, largest first, computing the exact confidence
// (sampleFull's own arithmetic) until the k-th best exact one exceeds
// every remaining bound: the skipped slots could neither be chosen nor
// tie.
func (s *Sampler) topEntropy(logits []float32, vocab, n, k int) ([]slotScore, []int) {
	scores := make([]slotScore, n)
	bound := make([]float64, n)
	workers := min(runtime.GOMAXPROCS(0), n)
	if n*vocab < 1<<15 {
		workers = 1
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := w; j < n; j += workers {
				sc, p2 := greedyTop2(logits[j*vocab : (j+1)*vocab])
				p1 := sc.conf
				bound[j] = p1*math.Log(p1+1e-10) + (1-p1)*math.Log(p2+1e-10) + entropyMargin
				sc.conf = math.Inf(-1)
				scores[j] = sc
			}
		}()
	}
	wg.Wait()
	order := make([]int, n)
	for j := range order {
		order[j] = j
	}
	sort.Slice(order, func(a, b int) bool {
		ba, bb := bound[order[a]], bound[order[b]]
		if ba != bb {
			return ba > bb
		}
		return order[a] > order[b]
	})
	buf := make([]float64, vocab)
	var exact []int // slots with their exact confidence, best first
	for _, j := range order {
		if len(exact) >= k && bound[j] < scores[exact[k-1]].conf {
			break
		}
		scores[j].conf = s.sampleFull(logits[j*vocab:(j+1)*vocab], buf, -1).conf
		at := sort.Search(len(exact), func(x int) bool {
			c, cj := scores[exact[x]].conf, scores[j].conf
			return c < cj || (c == cj && exact[x] < j)
		})
		exact = slices.Insert(exact, at, j)
	}
	return scores, exact[:k]
}

// toCommits turns chosen slots into Commits ordered by slot.
func toCommits(scores []slotScore, chosen []int) []Commit {
	sort.Ints(chosen)
	out := make([]Commit, len(chosen))
	for j, slot := range chosen {
		out[j] = Commit{Slot: slot, Token: scores[slot].token, Confidence: scores[slot].prob}
	}
	return out
}

// blockScores scores, for blockOrder, only the slots it can take: the
// first block's, then each further block's while the slots scored so far
// number fewer than blockOrder takes (the schedule floor k, the first
// block's slots above the threshold, at least one). The other slots get
// the lowest confidence and are never reached, since blockOrder takes
// slots in block order. Their rows are often stale: under the dual cache
// a later block keeps the last refresh's logits, so scoring them again at
// every step of the active block only repeated an exponential sum over
// the vocabulary per slot. Without random draws (temperature 0) a slot's
// score depends on its own row alone, so the commits are the ones scoring
// every slot gives.
func (s *Sampler) blockScores(logits []float32, vocab int, blocks []int, k int) []slotScore {
	n := len(blocks)
	scores := make([]slotScore, n)
	for j := range scores {
		scores[j].conf = math.Inf(-1)
	}
	need := max(k, 1)
	for lo := 0; lo < n && lo < need; {
		hi := lo
		for hi < n && blocks[hi] == blocks[lo] {
			hi++
		}
		slots := make([]int, hi-lo)
		for j := range slots {
			slots[j] = lo + j
		}
		copy(scores[lo:hi], s.sampleSlots(logits, vocab, slots))
		if lo == 0 {
			above := 0
			for _, sc := range scores[:hi] {
				if sc.conf > s.opts.Threshold {
					above++
				}
			}
			need = max(k, above, 1)
		}
		lo = hi
	}
	return scores
}

// blockOrder is confidence_threshold over blocks: every slot of the first
// block that still has masks whose confidence exceeds tau, at least one,
// and at least k (the schedule floor) by taking further slots in block
// order, most confident first within a block.
func blockOrder(scores []slotScore, blocks []int, k int, tau float64) []int {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		if blocks[idx[a]] != blocks[idx[b]] {
			return blocks[idx[a]] < blocks[idx[b]]
		}
		ca, cb := scores[idx[a]].conf, scores[idx[b]].conf
		if ca != cb {
			return ca > cb
		}
		return idx[a] > idx[b] // ties to the higher slot, as topConfidence
	})
	first := blocks[idx[0]]
	above := 0
	for _, j := range idx {
		if blocks[j] == first && scores[j].conf > tau {
			above++
		}
	}
	return idx[:min(len(idx), max(k, above, 1))]
}

// slotScore is sample_tokens' result for one masked slot.
type slotScore struct {
	token int
	prob  float32 // probability of token under the filtered distribution
	conf  float64 // the algorithm's confidence (larger commits first)
}

// topConfidence returns the indices of the k largest confidences. Ties go
// to the higher index, as in the golden reference traces (equal scores
// happen for real: canvas positions 0 and 1 both read raw logit row 0).
func topConfidence(scores []slotScore, k int) []int {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool {
		ca, cb := scores[idx[a]].conf, scores[idx[b]].conf
		if ca != cb {
			return ca > cb
		}
		return idx[a] > idx[b]
	})
	return idx[:k]
}

// drawPositions draws k distinct slots with probabilities
// softmax(conf/AlgTemp), one at a time without replacement (as
// torch.multinomial(replacement=False) does).
func (s *Sampler) drawPositions(scores []slotScore, k int) []int {
	w := make([]float64, len(scores))
	m := math.Inf(-1)
	for _, sc := range scores {
		m = math.Max(m, sc.conf/s.opts.AlgTemp)
	}
	for j, sc := range scores {
		w[j] = math.Exp(sc.conf/s.opts.AlgTemp - m)
	}
	chosen := make([]int, 0, k)
	for range k {
		var total float64
		for _, x := range w {
			total += x
		}
		if !(total > 0) {
			break
		}
		u := s.rng.Float64() * total
		pick := -1
		for j, x := range w {
			if x == 0 {
				continue
			}
			pick = j
			if u < x {
				break
			}
			u -= x
		}
		chosen = append(chosen, pick)
		w[pick] = 0
	}
	if len(chosen) < k { // weights underflowed: fill by confidence
		taken := map[int]bool{}
		for _, c := range chosen {
			taken[c] = true
		}
		for _, j := range topConfidence(scores, len(scores)) {
			if len(chosen) == k {
				break
			}
			if !taken[j] {
				chosen = append(chosen, j)
			}
		}
	}
	return chosen
}

// sampleSlots runs sample_tokens on the listed slots, in parallel over
// slots. Random numbers are drawn up front in slot order so results do not
// depend on scheduling.
func (s *Sampler) sampleSlots(logits []float32, vocab int, slots []int) []slotScore {
	out := make([]slotScore, len(slots))
	var us []float64
	if s.opts.Temperature > 0 {
		us = make([]float64, len(slots))
		for j := range us {
			us[j] = s.rng.Float64()
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(slots))
	if len(slots)*vocab < 1<<15 {
		workers = 1
	}
	var wg sync.WaitGroup
	next := make(chan int, len(slots))
	for j := range slots {
		next <- j
	}
	close(next)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []float64 // made on first use: the greedy path needs none
			for j := range next {
				if buf == nil && !s.greedy(vocab) {
					buf = make([]float64, vocab)
				}
				u := -1.0
				if us != nil {
					u = us[j]
				}
				slot := slots[j]
				out[j] = s.sampleOne(logits[slot*vocab:(slot+1)*vocab], buf, u)
			}
		}()
	}
	wg.Wait()
	return out
}

// sampleOne is sample_tokens for one slot in float64. u in [0,1) drives the
// categorical draw when the temperature is positive.
//
// It makes one exp pass: e_i = exp(x_i − m) with m the row maximum. The
// filters then zero the e_i of dropped tokens (HF sets their logits to the
// dtype minimum, whose exp is exactly 0) and the filtered softmax is
// e_i / Σ e over the kept tokens; the maximum is always kept.
func (s *Sampler) sampleOne(row []float32, e []float64, u float64) slotScore {
	if u < 0 && s.greedy(len(row)) {
		return greedyOne(row)
	}
	return s.sampleFull(row, e, u)
}

// sampleFull is sampleOne's general path (every algorithm and filter).
func (s *Sampler) sampleFull(row []float32, e []float64, u float64) slotScore {
	o := &s.opts
	var x []float64 // logit − max, built only when a filter needs it
	scale := 1.0
	if o.Temperature > 0 {
		scale = 1 / o.Temperature
	}
	eos := -1
	if o.EOSPenalty > 0 {
		eos = o.EOSTokenID
	}
	// Pass 1: scaled logits and their maximum (first index wins ties).
	m := math.Inf(-1)
	arg := 0
	for i, r := range row {
		v := float64(r)
		if i == eos {
			v -= o.EOSPenalty
		}
		v *= scale
		e[i] = v
		if v > m {
			m, arg = v, i
		}
	}
	filterP := o.TopP > 0 && o.TopP < 1
	filterK := o.TopK > 0 && o.TopK < len(row)
	if filterP || filterK {
		x = make([]float64, len(row))
		for i, v := range e {
			x[i] = v - m
		}
	}
	// Pass 2: exponentials.
	sum := expStore(e, m)
	if filterP {
		sum = keepTopP(x, e, sum, o.TopP)
	}
	if filterK {
		sum = keepTopK(x, e, sum, o.TopK)
	}
	inv := 1 / sum
	tok := arg
	if u >= 0 {
		target := u * sum
		var acc float64
		tok = -1
		for i, ei := range e {
			if ei == 0 {
				continue
			}
			acc += ei
			tok = i
			if acc > target {
				break
			}
		}
		if tok < 0 {
			tok = arg
		}
	}
	prob := e[tok] * inv
	sc := slotScore{token: tok, prob: float32(prob), conf: prob}
	switch o.Alg {
	case TopKMargin:
		var p1, p2 float64
		for _, ei := range e {
			if ei > p2 {
				if ei > p1 {
					p1, p2 = ei, p1
				} else {
					p2 = ei
				}
			}
		}
		sc.conf = (p1 - p2) * inv
	case Entropy:
		sc.conf = entropy(e, inv)
	}
	return sc
}

// greedy reports whether sampleOne takes greedyOne's path for rows of
// vocab logits: temperature 0, no EOS penalty, no top-p/top-k filter, and
// an algorithm whose confidence is the chosen token's probability.
func (s *Sampler) greedy(vocab int) bool {
	o := &s.opts
	return o.Temperature == 0 && o.EOSPenalty == 0 && (o.Alg == MaskGITPlus || o.Alg == ConfidenceThreshold) &&
		!(o.TopP > 0 && o.TopP < 1) && !(o.TopK > 0 && o.TopK < vocab)
}

// greedyOne is sampleOne for greedy maskgit_plus and confidence_threshold
// without filters, the denoiser's default: the argmax and its probability
// 1/Σexp(x_i − max), with the same float64 operations in the same order as
// the general path (exp(0) = 1 for the argmax), but without writing the
// vocabulary-sized work row twice (2.4 MB of traffic per slot at Qwen's
// vocabulary) and with four exponentials at a time (expSum).
// Greedy returns a logit row's greedy token (ties to the smaller id) and
// its softmax probability, as the greedy sampler draws it.
func Greedy(row []float32) (int, float32) {
	sc := greedyOne(row)
	return sc.token, sc.prob
}

// greedyTop2 is greedyOne (the same token, prob and conf = p_max) that
// also returns the second largest probability (p_max again when the
// maximum is tied).
func greedyTop2(row []float32) (slotScore, float64) {
	// The second largest is the largest of the others (by >, so −∞ when
	// there are none or only NaNs), as a one-pass top-2 scan finds it.
	m1, arg := argmax(row)
	m2, _ := argmax(row[:arg])
	if arg < len(row) {
		if b, _ := argmax(row[arg+1:]); b > m2 {
			m2 = b
		}
	}
	inv := 1 / expSum(row, float64(m1))
	return slotScore{token: arg, prob: float32(inv), conf: inv}, math.Exp(float64(m2)-float64(m1)) * inv
}

func greedyOne(row []float32) slotScore {
	m, arg := argmax(row)
	prob := 1 / expSum(row, float64(m))
	return slotScore{token: arg, prob: float32(prob), conf: prob}
}

// keepTopP applies Dream's top_p_logits to a row given as x_i = logit −
// max and e_i = exp(x_i) with sum Σe: it keeps the smallest prefix of
// tokens by descending logit whose cumulative probability exceeds p (a
// token is dropped when the tokens before it already exceed p), zeroes e
// for the rest and returns the kept mass.
//
// Only the head of the sorted order matters, so instead of sorting the
// vocabulary it sorts the candidates with x_i ≥ cut, lowering the cut
// until their mass exceeds p. Every excluded token is less probable than
// every candidate, so the candidates are exactly the head of the full
// sorted order and the cut falls inside them.
func keepTopP(x, e []float64, sum, p float64) float64 {
	var cand []int
	for cut := -8.0; ; cut *= 2 {
		cand = cand[:0]
		var mass float64
		for i, v := range x {
			if v >= cut && e[i] > 0 {
				cand = append(cand, i)
				mass += e[i]
			}
		}
		if mass > p*sum || cut < -1e4 {
			break
		}
	}
	slices.SortFunc(cand, func(a, b int) int {
		switch {
		case x[a] > x[b]:
			return -1
		case x[a] < x[b]:
			return 1
		}
		return a - b
	})
	n := len(cand)
	var cum float64
	for r, i := range cand {
		cum += e[i] / sum
		if cum > p {
			n = r + 1
			break
		}
	}
	kept := make([]float64, n)
	var keptSum float64
	for r, i := range cand[:n] {
		kept[r] = e[i]
		keptSum += e[i]
	}
	clear(e)
	for r, i := range cand[:n] {
		e[i] = kept[r]
	}
	return keptSum
}

// keepTopK applies Dream's top_k_logits after top-p: among the tokens
// still kept (e_i > 0; dropped ones sit at the dtype minimum in HF), it
// drops those whose logit is below the k-th largest; ties with it stay.
// With k or fewer tokens kept nothing changes. It returns the kept mass.
func keepTopK(x, e []float64, sum float64, k int) float64 {
	// top holds the k largest kept logits seen so far, ascending; most
	// tokens fail the comparison with top[0] and cost one branch.
	top := make([]float64, 0, k)
	n := 0
	for i, v := range x {
		if e[i] == 0 {
			continue
		}
		n++
		if len(top) < k {
			j, _ := slices.BinarySearch(top, v)
			top = slices.Insert(top, j, v)
			continue
		}
		if v <= top[0] {
			continue
		}
		j, _ := slices.BinarySearch(top, v)
		copy(top[:j-1], top[1:j])
		top[j-1] = v
	}
	if n <= k {
		return sum
	}
	kth := top[0]
	sum = 0
	for i, v := range x {
		if v < kth {
			e[i] = 0
		}
		sum += e[i]
	}
	return sum
}
