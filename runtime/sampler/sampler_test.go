package sampler

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// commitSequence simulates a row of n masks over steps steps.
func commitSequence(n, steps int) []int {
	ts := Timesteps(steps, DefaultEps)
	var seq []int
	for i := range steps {
		k := CommitCount(n, i, steps, ts)
		seq = append(seq, k)
		n -= k
	}
	return seq
}

// TestCommitCounts checks the per-step counts of dream-model.md §7.3.
func TestCommitCounts(t *testing.T) {
	// pattern: first, middle (repeated), last.
	for _, c := range []struct {
		n, steps            int
		first, middle, last int
	}{
		{512, 512, 0, 1, 2},
		{64, 64, 0, 1, 2},
		{32, 32, 0, 1, 2},
		{16, 16, 0, 1, 2},
		{8, 8, 0, 1, 2},
		{512, 128, 3, 4, 5},
		{256, 32, 7, 8, 9},
		{64, 16, 3, 4, 5},
		{64, 8, 7, 8, 9},
		{32, 16, 1, 2, 3},
		{32, 8, 3, 4, 5},
		{16, 8, 1, 2, 3},
		{16, 4, 3, 4, 5},
	} {
		seq := commitSequence(c.n, c.steps)
		want := []int{c.first}
		for range c.steps - 2 {
			want = append(want, c.middle)
		}
		want = append(want, c.last)
		if !slices.Equal(seq, want) {
			t.Errorf("n=%d steps=%d: commits %v, want %v", c.n, c.steps, seq, want)
		}
		sum := 0
		for _, k := range seq {
			sum += k
		}
		if sum != c.n {
			t.Errorf("n=%d steps=%d: commits sum to %d", c.n, c.steps, sum)
		}
	}
	if got := commitSequence(5, 1); !slices.Equal(got, []int{5}) {
		t.Errorf("one step: %v, want [5]", got)
	}
}

func TestTimesteps(t *testing.T) {
	ts := Timesteps(4, 1e-3)
	want := []float32{1, 0.75025, 0.5005, 0.25075, 0.001}
	if len(ts) != 5 {
		t.Fatalf("len %d", len(ts))
	}
	for i := range ts {
		if math.Abs(float64(ts[i]-want[i])) > 1e-6 {
			t.Errorf("ts[%d] = %v, want %v", i, ts[i], want[i])
		}
	}
	if ts[0] != 1 || ts[4] != float32(1e-3) {
		t.Errorf("ends %v %v must be exactly 1 and float32(eps)", ts[0], ts[4])
	}
}

func newSampler(t *testing.T, o Options, steps int) *Sampler {
	t.Helper()
	s, err := New(o, steps, 0)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func logitsOf(probs ...float64) []float32 {
	l := make([]float32, len(probs))
	for i, p := range probs {
		l[i] = float32(math.Log(p))
	}
	return l
}

// TestFilterOrder: temperature, then top-p, then top-k, and the confidence
// comes from the filtered distribution.
func TestFilterOrder(t *testing.T) {
	row := logitsOf(0.5, 0.3, 0.2)
	buf := make([]float64, 3)
	for _, c := range []struct {
		name string
		o    Options
		want float64 // confidence (prob of the argmax token)
	}{
		{"plain", Options{Alg: MaskGITPlus}, 0.5},
		// top-p 0.6 keeps {0.5, 0.3} (0.3 is the first past 0.6), renormalised.
		{"top-p", Options{Alg: MaskGITPlus, TopP: 0.6}, 0.5 / 0.8},
		// top-p 0.4 keeps only the first token.
		{"top-p tight", Options{Alg: MaskGITPlus, TopP: 0.4}, 1},
		{"top-k 2", Options{Alg: MaskGITPlus, TopK: 2}, 0.5 / 0.8},
		// p then k gives 0.625; k then p would give 1 (0.625 > 0.6 cuts the second).
		{"top-p then top-k", Options{Alg: MaskGITPlus, TopP: 0.6, TopK: 2}, 0.5 / 0.8},
		// Temperature before top-p: at T=0.5 the probabilities are
		// 25:9:4 (/38); 25/38 > 0.6 so top-p keeps only the first token
		// (top-p on the untempered distribution would keep two: 25/34).
		{"temperature then top-p", Options{Alg: MaskGITPlus, Temperature: 0.5, TopP: 0.6}, 1},
		{"temperature then top-p 0.7", Options{Alg: MaskGITPlus, Temperature: 0.5, TopP: 0.7}, 25.0 / 34},
	} {
		s := newSampler(t, c.o, 1)
		u := -1.0
		if c.o.Temperature > 0 {
			u = 0 // draws the most likely token first in the cumulative walk
		}
		sc := s.sampleOne(row, buf, u)
		if sc.token != 0 || math.Abs(sc.conf-c.want) > 1e-6 {
			t.Errorf("%s: token %d conf %.6f, want token 0 conf %.6f", c.name, sc.token, sc.conf, c.want)
		}
	}
}

// expRow returns x − max and exp(x − max) with its sum.
func expRow(l []float64) (x, e []float64, sum float64) {
	m := slices.Max(l)
	x = make([]float64, len(l))
	e = make([]float64, len(l))
	for i, v := range l {
		x[i] = v - m
		e[i] = math.Exp(x[i])
		sum += e[i]
	}
	return x, e, sum
}

func kept(e []float64) []int {
	var k []int
	for i, v := range e {
		if v > 0 {
			k = append(k, i)
		}
	}
	return k
}

func TestTopKKeepsTies(t *testing.T) {
	x, e, sum := expRow([]float64{1, 3, 2, 2, 0})
	got := keepTopK(x, e, sum, 2)
	if k := kept(e); !slices.Equal(k, []int{1, 2, 3}) {
		t.Fatalf("kept %v, want [1 2 3] (ties with the 2nd stay)", k)
	}
	if want := e[1] + e[2] + e[3]; math.Abs(got-want) > 1e-12 {
		t.Fatalf("kept mass %g, want %g", got, want)
	}
}

func TestConfidenceByAlg(t *testing.T) {
	row := logitsOf(0.6, 0.3, 0.1)
	buf := make([]float64, 3)
	ent := 0.6*math.Log(0.6+1e-10) + 0.3*math.Log(0.3+1e-10) + 0.1*math.Log(0.1+1e-10)
	for alg, want := range map[Alg]float64{
		MaskGITPlus:         0.6,
		ConfidenceThreshold: 0.6,
		TopKMargin:          0.3,
		Entropy:             ent,
	} {
		sc := newSampler(t, Options{Alg: alg}, 1).sampleOne(row, buf, -1)
		if sc.token != 0 || math.Abs(sc.conf-want) > 1e-6 || math.Abs(float64(sc.prob)-0.6) > 1e-6 {
			t.Errorf("%s: token %d conf %g prob %g, want 0, %g, 0.6", alg, sc.token, sc.conf, sc.prob, want)
		}
	}
}

// rows builds a logits matrix for slots whose top probability is given.
func rows(vocab int, top ...float64) []float32 {
	var out []float32
	for i, p := range top {
		probs := make([]float64, vocab)
		for j := range probs {
			probs[j] = (1 - p) / float64(vocab-1)
		}
		probs[(i+1)%vocab] = p
		out = append(out, logitsOf(probs...)...)
	}
	return out
}

func TestStepPicksMostConfident(t *testing.T) {
	const vocab = 8
	// 4 slots, 2 steps: ts = [1, 0.5005, 0.001]; k = floor(4·0.4995) = 1.
	lg := rows(vocab, 0.3, 0.9, 0.5, 0.7)
	commits, err := newSampler(t, Options{Alg: MaskGITPlus}, 2).Step(0, lg, vocab)
	if err != nil {
		t.Fatal(err)
	}
	if len(commits) != 1 || commits[0].Slot != 1 || commits[0].Token != 2 {
		t.Fatalf("commits %+v, want slot 1 token 2", commits)
	}
	// The last step commits everything.
	commits, _ = newSampler(t, Options{Alg: MaskGITPlus}, 2).Step(1, lg, vocab)
	if len(commits) != 4 {
		t.Fatalf("last step committed %d of 4", len(commits))
	}
}

func TestConfidenceThreshold(t *testing.T) {
	const vocab = 8
	lg := rows(vocab, 0.95, 0.3, 0.92, 0.5, 0.2, 0.1)
	// 6 slots over 6 steps: the schedule floor is 0 at step 0; two slots
	// exceed τ = 0.9.
	commits, err := newSampler(t, Options{Alg: ConfidenceThreshold}, 6).Step(0, lg, vocab)
	if err != nil {
		t.Fatal(err)
	}
	var slots []int
	for _, c := range commits {
		slots = append(slots, c.Slot)
	}
	if !slices.Equal(slots, []int{0, 2}) {
		t.Fatalf("committed slots %v, want [0 2]", slots)
	}
	// Nothing above τ: still the single best.
	commits, _ = newSampler(t, Options{Alg: ConfidenceThreshold, Threshold: 0.99}, 6).Step(0, lg, vocab)
	if len(commits) != 1 || commits[0].Slot != 0 {
		t.Fatalf("commits %+v, want only slot 0", commits)
	}
	// Two steps for six slots: the schedule floor (floor(6·0.4995) = 2)
	// wins over the single slot above τ = 0.94.
	commits, _ = newSampler(t, Options{Alg: ConfidenceThreshold, Threshold: 0.94}, 2).Step(0, lg, vocab)
	if len(commits) != 2 {
		t.Fatalf("committed %d, want the schedule's 2", len(commits))
	}
}

func TestConfidenceThresholdBlocks(t *testing.T) {
	const vocab = 8
	// Three blocks of two slots; the most confident slots are in later blocks.
	lg := rows(vocab, 0.3, 0.5, 0.99, 0.97, 0.95, 0.2)
	blocks := []int{0, 0, 1, 1, 2, 2}
	slotsOf := func(cs []Commit) []int {
		var out []int
		for _, c := range cs {
			out = append(out, c.Slot)
		}
		return out
	}
	cases := []struct {
		name   string
		opts   Options
		steps  int
		blocks []int
		want   []int
	}{
		// Nothing above τ in block 0: its single best, not the 0.99 of block 1.
		{"first block only", Options{Alg: ConfidenceThreshold}, 6, blocks, []int{1}},
		// Block 0 finished (its slots are no longer passed): both of block 1 exceed τ.
		{"next block", Options{Alg: ConfidenceThreshold}, 6, []int{1, 1, 2, 2, 3, 3}, []int{1}},
		// Two steps for six slots: the schedule floor is floor(6·0.4995) = 2, met inside block 0.
		{"floor within the first block", Options{Alg: ConfidenceThreshold, Threshold: 0.999}, 2, blocks, []int{0, 1}},
		// The same floor with a one-slot first block: that slot, then block 1's best (slot 2, 0.99).
		{"floor spills into the next block", Options{Alg: ConfidenceThreshold, Threshold: 0.999}, 2, []int{0, 1, 1, 2, 2, 2}, []int{0, 2}},
		{"nil blocks keep the whole-row rule", Options{Alg: ConfidenceThreshold}, 6, nil, []int{2, 3, 4}},
	}
	for _, c := range cases {
		got, err := newSampler(t, c.opts, c.steps).StepBlocks(0, lg, vocab, c.blocks)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !slices.Equal(slotsOf(got), c.want) {
			t.Errorf("%s: committed slots %v, want %v", c.name, slotsOf(got), c.want)
		}
	}
	// Block 0 has both slots above τ: both, and nothing from block 1.
	lg2 := rows(vocab, 0.95, 0.93, 0.99, 0.97)
	got, _ := newSampler(t, Options{Alg: ConfidenceThreshold}, 4).StepBlocks(0, lg2, vocab, []int{0, 0, 1, 1})
	if !slices.Equal(slotsOf(got), []int{0, 1}) {
		t.Errorf("whole first block: committed %v, want [0 1]", slotsOf(got))
	}
	lg3 := rows(vocab, 0.3, 0.5, 0.6, 0.97, 0.99, 0.98)
	if _, err := newSampler(t, Options{Alg: ConfidenceThreshold}, 2).StepBlocks(0, lg3, vocab, []int{0}); err == nil {
		t.Error("StepBlocks accepted 1 block number for 6 slots")
	}
	if err := (Options{Alg: ConfidenceThreshold, BlockSize: -2}).Validate(); err == nil {
		t.Error("Validate accepted block size -2")
	}
	for _, c := range []struct {
		o    Options
		want int
	}{
		{Options{Alg: ConfidenceThreshold}, DefaultBlockSize},
		{Options{Alg: ConfidenceThreshold, BlockSize: 4}, 4},
		{Options{Alg: ConfidenceThreshold, BlockSize: -1}, 0},
		{Options{Alg: MaskGITPlus, BlockSize: 4}, 0},
	} {
		if got := c.o.BlocksOf(); got != c.want {
			t.Errorf("%+v.BlocksOf() = %d, want %d", c.o, got, c.want)
		}
	}
}

func TestAlgTempDeterministic(t *testing.T) {
	const vocab = 8
	lg := rows(vocab, 0.3, 0.9, 0.5, 0.7, 0.6, 0.4, 0.8, 0.35)
	draw := func(seed uint64) []int {
		s := newSampler(t, Options{Alg: MaskGITPlus, AlgTemp: 0.5, Seed: seed}, 4)
		commits, err := s.Step(0, lg, vocab)
		if err != nil {
			t.Fatal(err)
		}
		var slots []int
		for _, c := range commits {
			slots = append(slots, c.Slot)
		}
		return slots
	}
	want := CommitCount(8, 0, 4, Timesteps(4, DefaultEps))
	a := draw(42)
	if len(a) != want {
		t.Fatalf("committed %d, want %d", len(a), want)
	}
	if b := draw(42); !slices.Equal(a, b) {
		t.Fatalf("same seed, different positions: %v vs %v", a, b)
	}
	differs := false
	for seed := uint64(1); seed < 20 && !differs; seed++ {
		differs = !slices.Equal(a, draw(seed))
	}
	if !differs {
		t.Fatalf("19 other seeds all chose %v: alg_temp does not randomise", a)
	}
}

func TestTemperatureSamplingSeeded(t *testing.T) {
	// 400 identical slots with p = (0.7, 0.2, 0.1): draws follow the
	// distribution, and the same seed repeats them.
	const n = 400
	var lg []float32
	for range n {
		lg = append(lg, logitsOf(0.7, 0.2, 0.1)...)
	}
	run := func(seed uint64) []Commit {
		c, err := newSampler(t, Options{Alg: Origin, Temperature: 1, Seed: seed}, 1).Step(0, lg, 3)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := run(7)
	if len(a) != n {
		t.Fatalf("origin's single step committed %d of %d", len(a), n)
	}
	count := [3]int{}
	for _, c := range a {
		count[c.Token]++
		if want := []float32{0.7, 0.2, 0.1}[c.Token]; math.Abs(float64(c.Confidence-want)) > 1e-5 {
			t.Fatalf("token %d confidence %g, want %g", c.Token, c.Confidence, want)
		}
	}
	for tok, p := range []float64{0.7, 0.2, 0.1} {
		if f := float64(count[tok]) / n; math.Abs(f-p) > 0.07 {
			t.Errorf("token %d drawn %.2f of the time, want about %.2f", tok, f, p)
		}
	}
	if !slices.Equal(a, run(7)) {
		t.Error("same seed, different draws")
	}
}

func TestOriginSchedule(t *testing.T) {
	// 1000 slots at step 0 of 4: each commits with probability 1 − s/t ≈ 0.25.
	const n = 1000
	var lg []float32
	for range n {
		lg = append(lg, logitsOf(0.4, 0.3, 0.2, 0.1)...)
	}
	c, err := newSampler(t, Options{Alg: Origin, Seed: 3}, 4).Step(0, lg, 4)
	if err != nil {
		t.Fatal(err)
	}
	if f := float64(len(c)) / n; math.Abs(f-0.24975) > 0.05 {
		t.Errorf("origin committed %.3f of the slots at step 0, want about 0.25", f)
	}
	for _, x := range c {
		if x.Token != 0 {
			t.Fatalf("greedy origin chose token %d", x.Token)
		}
	}
}

func TestEOSPenalty(t *testing.T) {
	row := logitsOf(0.3, 0.6, 0.1) // EOS = 1 is the argmax
	buf := make([]float64, 3)
	sc := newSampler(t, Options{Alg: MaskGITPlus, EOSTokenID: 1}, 1).sampleOne(row, buf, -1)
	if sc.token != 1 {
		t.Fatalf("without penalty token %d, want 1", sc.token)
	}
	sc = newSampler(t, Options{Alg: MaskGITPlus, EOSTokenID: 1, EOSPenalty: 1}, 1).sampleOne(row, buf, -1)
	// 0.6·e⁻¹ ≈ 0.22 < 0.3.
	if sc.token != 0 {
		t.Fatalf("with penalty 1 token %d, want 0", sc.token)
	}
	want := 0.3 / (0.3 + 0.6*math.Exp(-1) + 0.1)
	if math.Abs(sc.conf-want) > 1e-6 {
		t.Fatalf("confidence %g, want %g", sc.conf, want)
	}
	if _, err := newSampler(t, Options{Alg: MaskGITPlus, EOSTokenID: 9, EOSPenalty: 1}, 1).Step(0, row, 3); err == nil {
		t.Fatal("EOS id outside the vocabulary accepted")
	}
}

func TestValidate(t *testing.T) {
	for _, o := range []Options{
		{},
		{Alg: "greedy"},
		{Alg: MaskGITPlus, Temperature: -1},
		{Alg: MaskGITPlus, TopP: 1.5},
		{Alg: MaskGITPlus, TopK: -2},
		{Alg: MaskGITPlus, AlgTemp: math.NaN()},
		{Alg: MaskGITPlus, Threshold: 2},
		{Alg: MaskGITPlus, Eps: 1},
		{Alg: MaskGITPlus, EOSPenalty: math.Inf(1)},
	} {
		if err := o.Validate(); !errors.Is(err, ErrOptions) {
			t.Errorf("%+v: err = %v, want ErrOptions", o, err)
		}
	}
	if _, err := New(Options{Alg: Entropy}, 0, 0); err == nil {
		t.Error("New with 0 steps succeeded")
	}
	if _, err := newSampler(t, Options{Alg: Entropy}, 1).Step(0, make([]float32, 5), 3); err == nil {
		t.Error("Step with a ragged logits slice succeeded")
	}
}

// TestTopPMatchesFullSort compares topP with a direct transcription of
// Dream's top_p_logits (full sort) on random rows.
func TestTopPMatchesFullSort(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for trial := range 200 {
		n := 1 + r.IntN(300)
		l := make([]float64, n)
		scale := []float64{0.1, 1, 5, 30}[trial%4]
		for i := range l {
			l[i] = r.NormFloat64() * scale
		}
		p := r.Float64()
		want := slices.Clone(l)
		refTopP(want, p)
		var wantKept []int
		for i, v := range want {
			if !math.IsInf(v, -1) {
				wantKept = append(wantKept, i)
			}
		}
		x, e, sum := expRow(l)
		keepTopP(x, e, sum, p)
		if got := kept(e); !slices.Equal(got, wantKept) {
			t.Fatalf("trial %d (n=%d, p=%.3f, scale %g): kept sets differ", trial, n, p, scale)
		}
	}
}

func refTopP(l []float64, p float64) {
	idx := make([]int, len(l))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return l[idx[a]] > l[idx[b]] })
	m := l[idx[0]]
	var sum float64
	for _, v := range l {
		sum += math.Exp(v - m)
	}
	cum := 0.0
	remove := make([]bool, len(l))
	for r, i := range idx {
		prev := cum
		cum += math.Exp(l[i]-m) / sum
		if r > 0 && prev > p {
			remove[i] = true
		}
	}
	for i := range l {
		if remove[i] {
			l[i] = math.Inf(-1)
		}
	}
}

func TestTopKMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for trial := range 300 {
		n := 1 + r.IntN(200)
		l := make([]float64, n)
		for i := range l {
			l[i] = float64(r.IntN(20)) // many ties
		}
		k := 1 + r.IntN(n+3)
		x, e, sum := expRow(l)
		got := keepTopK(x, e, sum, k)
		sorted := slices.Clone(l)
		slices.Sort(sorted)
		var want []int
		var wantSum float64
		for i, v := range l {
			if k >= n || v >= sorted[n-k] {
				want = append(want, i)
				wantSum += math.Exp(v - sorted[n-1])
			}
		}
		if g := kept(e); !slices.Equal(g, want) || math.Abs(got-wantSum) > 1e-9*wantSum {
			t.Fatalf("trial %d (n=%d k=%d): kept %v (mass %g), want %v (mass %g)", trial, n, k, g, got, want, wantSum)
		}
	}
}

// TestReplan: once slots are filled outside the schedule (denoise's
// end-of-text runs), a replanned row commits one slot a step again, as
// Dream's one-token-per-step schedule, and never ends after the old one.
func TestReplan(t *testing.T) {
	for _, c := range []struct{ steps, filledAt, filled int }{
		{64, 5, 10}, {64, 1, 60}, {64, 40, 3}, {11, 3, 2}, {8, 6, 1}, {64, 62, 1},
	} {
		s, err := New(Options{Alg: Entropy}, c.steps, 0)
		if err != nil {
			t.Fatal(err)
		}
		n := c.steps // masks, one-token-per-step schedule
		const vocab = 4
		logitsFor := func(n int) []float32 { return make([]float32, n*vocab) }
		end := -1
		var counts []int
		for i := 0; i < c.steps && n > 0; i++ {
			cs, err := s.Step(i, logitsFor(n), vocab)
			if err != nil {
				t.Fatal(err)
			}
			n -= len(cs)
			counts = append(counts, len(cs))
			if i == c.filledAt && n > 0 {
				n -= min(c.filled, n)
				s.Replan(i+1, n)
			}
			if n == 0 {
				end = i
			}
		}
		if end < 0 {
			t.Errorf("%+v: masks left after the old schedule's last step (commits %v)", c, counts)
			continue
		}
		// After the replan: one a step (the last may take two), no idle steps.
		for i := c.filledAt + 1; i <= end; i++ {
			if k := counts[i]; k < 1 || k > 2 || (k == 2 && i != end) {
				t.Errorf("%+v: step %d commits %d (all %v)", c, i, k, counts)
				break
			}
		}
	}
}

// TestTopEntropyMatchesFull: the bounded entropy path chooses the same
// slots, with the same tokens and probabilities, as scoring every slot,
// on rows from flat to peaked, with tied rows and every k.
func TestTopEntropyMatchesFull(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const vocab = 512
	s, err := New(Options{Alg: Entropy}, 8, 0)
	if err != nil {
		t.Fatal(err)
	}
	for trial := range 60 {
		n := 1 + trial%17*4
		logits := make([]float32, n*vocab)
		for j := range n {
			peak := float32(rng.IntN(12))
			for v := range vocab {
				logits[j*vocab+v] = float32(rng.NormFloat64())
			}
			logits[j*vocab+rng.IntN(vocab)] += peak
			if j > 0 && rng.IntN(4) == 0 { // a tie with an earlier row
				copy(logits[j*vocab:(j+1)*vocab], logits[(j-1)*vocab:j*vocab])
			}
		}
		all := make([]int, n)
		for j := range all {
			all[j] = j
		}
		full := s.sampleSlots(logits, vocab, all)
		for _, k := range []int{1, 2, 3, n / 2, n} {
			if k < 1 || k > n {
				continue
			}
			want := toCommits(full, topConfidence(full, k))
			scores, chosen := s.topEntropy(logits, vocab, n, k)
			got := toCommits(scores, chosen)
			if !slices.Equal(got, want) {
				t.Fatalf("trial %d, %d slots, k %d: commits %v, scoring every slot %v", trial, n, k, got, want)
			}
			for _, j := range chosen {
				if scores[j].conf != full[j].conf {
					t.Fatalf("trial %d: slot %d confidence %v, full %v", trial, j, scores[j].conf, full[j].conf)
				}
			}
		}
	}
}

// TestBlockScoresCommitLikeEverySlot: confidence_threshold over blocks
// scores only the blocks blockOrder can reach, and commits what scoring
// every slot commits (tokens and probabilities too), over random rows,
// block layouts, thresholds and schedule floors; rows of blocks past the
// reach are NaN here, so scoring one would show.
func TestBlockScoresCommitLikeEverySlot(t *testing.T) {
	const vocab = 64
	r := rand.New(rand.NewPCG(5, 5))
	skipped := 0
	for trial := range 400 {
		n := 1 + r.IntN(12)
		blocks := make([]int, n)
		b := r.IntN(3)
		for j := range blocks {
			if j > 0 && r.IntN(3) == 0 {
				b++
			}
			blocks[j] = b
		}
		lg := make([]float32, n*vocab)
		for j := range lg {
			lg[j] = float32(r.NormFloat64() * (1 + 4*r.Float64()))
		}
		opts := Options{Alg: ConfidenceThreshold, Threshold: []float64{0.05, 0.3, 0.9, 0.999}[r.IntN(4)], EOSPenalty: float64(r.IntN(2)), EOSTokenID: 3}
		steps := 1 + r.IntN(2*n)
		step := r.IntN(steps)
		all := make([]int, n)
		for j := range all {
			all[j] = j
		}
		s := newSampler(t, opts, steps)
		k := CommitCount(n, step, steps, s.ts)
		want := toCommits(s.sampleSlots(lg, vocab, all), blockOrder(s.sampleSlots(lg, vocab, all), blocks, k, s.opts.Threshold))
		// Poison the rows blockScores must not need.
		reach := 0
		for _, sc := range s.blockScores(lg, vocab, blocks, k) {
			if !math.IsInf(sc.conf, -1) {
				reach++
			}
		}
		poisoned := slices.Clone(lg)
		for j := reach * vocab; j < len(poisoned); j++ {
			poisoned[j] = float32(math.NaN())
		}
		skipped += n - reach
		got, err := newSampler(t, opts, steps).StepBlocks(step, poisoned, vocab, blocks)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d: blocks %v, k %d, τ %g: commits %v, scoring every slot %v", trial, blocks, k, opts.Threshold, got, want)
		}
	}
	if skipped == 0 {
		t.Fatal("no trial left a block unscored")
	}
}
