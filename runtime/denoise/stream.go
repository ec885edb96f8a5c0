package denoise

import (
	"context"
	"fmt"

	"github.com/dream-lsp/dream-lsp/runtime/backend"
	"github.com/dream-lsp/dream-lsp/runtime/kvcache"
	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// Stream denoises many requests over one model with continuous batching:
// every Step runs one forward pass over the canvases of all active jobs,
// whatever step each job is at, then each job samples and commits on its
// own. Jobs join (Add) and leave (when done, failed or cancelled) between
// steps, so a request that arrives while others run starts at the next
// step instead of waiting for a whole denoising run.
//
// Each job keeps its own schedule (steps, RowSteps), sampler rows and
// seeds, block numbering, context and, in cached mode, its own refresh
// policy and refresh steps: a job's tokens are exactly those Run gives
// the same request alone. This rests on the model computing each canvas
// independently of the others in a pass (rows never mix; the CPU
// backend's kernels sum a row the same way wherever it sits in a batch).
//
// In cached mode the canvases share one K/V cache, one cache sequence per
// canvas; a job's refresh step runs its canvases whole (a block covering
// the canvas, which recomputes every row) in the same ForwardBlocks call
// as the other jobs' blocks. Run reaches the same numbers through
// Prefill: the two paths compute each row alike.
//
// A Stream is not safe for concurrent use: one goroutine adds and steps
// (runtime/engine.Batcher).
type Stream struct {
	m      Model
	maxPos int         // longest canvas (0: no limit)
	cm     CachedModel // nil in uncached mode
	mask   int
	vocab  int
	jobs   []*Job
	cache  *kvcache.Cache
	layout []seqKey // the cache's sequences, in order
}

// seqKey names one canvas row of one job.
type seqKey struct {
	job *Job
	row int
}

// Job is one request in a Stream. Its fields are read after Done.
type Job struct {
	ctx      context.Context
	req      Request
	res      *Result
	samplers []*sampler.Sampler
	blockOf  [][]int
	steps    int // the largest row step count
	step     int // the next step to run
	done     bool
	err      error
	// Cached mode: the state Run's cachedStepper keeps per request.
	policy  kvcache.Policy
	fresh   bool     // no refresh yet
	inCache []bool   // per row: the row's K/V is in the cache (since the last refresh)
	block   [][2]int // per row: block [start, end) at the last refresh
	total   int      // masks at the last refresh
	// This step's rows.
	want    [][]int // per row: masked positions (nil: none left)
	full    bool    // this step refreshes
	commits int     // slots the step committed
}

// Done reports whether the job has finished (result, error or cancel).
func (j *Job) Done() bool { return j.done }

// Result returns the job's result once Done (nil with the error when it
// failed or was cancelled).
func (j *Job) Result() (*Result, error) { return j.res, j.err }

// Canvases is the number of canvases the job denoises.
func (j *Job) Canvases() int { return len(j.req.Canvases) }

// NewStream returns a stream over m. With cache.Enabled every step runs
// through m's K/V cache (m must be a CachedModel) and each job refreshes
// by its own Request.Cache.Policy; otherwise every step is a full forward
// pass.
func NewStream(m Model, cached bool) (*Stream, error) {
	cfg := m.Config()
	s := &Stream{m: m, mask: cfg.MaskTokenID, vocab: cfg.VocabSize, maxPos: cfg.MaxPositionEmbeddings}
	if cached {
		cm, ok := m.(CachedModel)
		if !ok {
			return nil, fmt.Errorf("%w (%T)", ErrNoCache, m)
		}
		s.cm = cm
	}
	return s, nil
}

// Close frees the stream's K/V cache. Jobs still active are left as they
// are (not Done).
func (s *Stream) Close() {
	if s.cache != nil {
		s.cache.Free()
		s.cache = nil
	}
	s.layout = nil
}

// Drop removes every job without running it (they stay not Done) and
// frees the cache: for a model closed under the stream.
func (s *Stream) Drop() {
	s.jobs = nil
	s.Close()
}

// Cached reports whether the stream runs through the K/V cache.
func (s *Stream) Cached() bool { return s.cm != nil }

// Active returns the jobs not yet done, in the order they joined.
func (s *Stream) Active() []*Job { return s.jobs }

// Add checks req as Run does and adds it to the stream: it takes part
// from the next Step. The request's Cache must match the stream's mode
// (Enabled as the stream, no Reuse); DreamOn requests cannot join (their
// canvas changes length: use Run). ctx cancels the job at the next step
// boundary.
func (s *Stream) Add(ctx context.Context, req Request) (*Job, error) {
	if req.DreamOn != nil {
		return nil, fmt.Errorf("denoise: stream: DreamOn requests run alone (Run)")
	}
	if req.Cache.Policy.Blocks {
		// The stream keeps the whole-row block; Run alone gives this request
		// its per-block schedule (kvcache.Policy.Blocks).
		return nil, fmt.Errorf("denoise: stream: per-block cache requests run alone (Run)")
	}
	if req.Cache.Enabled != (s.cm != nil) || req.Cache.Reuse != nil {
		return nil, fmt.Errorf("denoise: stream: request cache %+v does not match the stream (cached %v, no reuse)", req.Cache, s.cm != nil)
	}
	if err := checkRequest(req); err != nil {
		return nil, err
	}
	// A bad canvas must fail its own request here, not the shared forward
	// pass of everyone's.
	rs, err := newRows(req, s.mask, s.vocab, s.maxPos, true)
	if err != nil {
		return nil, err
	}
	n := len(req.Canvases)
	j := &Job{ctx: ctx, req: req, steps: rs.steps, policy: req.Cache.Policy, fresh: true,
		res: rs.res, samplers: rs.samplers, blockOf: rs.blockOf,
		inCache: make([]bool, n), block: make([][2]int, n), want: make([][]int, n)}
	s.jobs = append(s.jobs, j)
	return j, nil
}

// StepStats describe one Step.
type StepStats struct {
	Jobs     int // jobs in the forward pass
	Canvases int // canvases in it
	Tokens   int // rows the pass computed
	Refresh  int // canvases run whole (cached mode: refresh steps)
	Slots    int // masked slots scored
	Commits  int // slots committed (filled) in the step
}

// Step runs one step of every active job: jobs whose context is done
// leave with its error, jobs with nothing left to do leave with their
// result, and the rest run one forward pass together and commit their
// step's tokens. It returns the jobs that finished in this step. A failed
// forward pass fails every job in it (the error is also returned).
func (s *Stream) Step() (finished []*Job, st StepStats, err error) {
	var live []*Job
	for _, j := range s.jobs {
		if e := j.ctx.Err(); e != nil {
			j.finish(nil, e)
		} else if !j.prepare(s.mask) {
			j.finish(j.res, nil)
		} else {
			live = append(live, j)
		}
		if j.done {
			finished = append(finished, j)
		}
	}
	s.jobs = live
	if len(live) == 0 {
		s.Close() // nothing to keep: free the cache while idle
		return finished, st, nil
	}
	for _, j := range live {
		st.Jobs++
		for r := range j.want {
			if j.want[r] != nil {
				st.Canvases++
				st.Slots += len(j.want[r])
			}
		}
	}
	var logits [][][]float32 // per live job, per row with masks
	if s.cm != nil {
		logits, err = s.forwardCached(live, &st)
	} else {
		logits, err = s.forwardFull(live, &st)
	}
	if err != nil {
		for _, j := range live {
			j.finish(nil, fmt.Errorf("denoise: step %d: %w", j.step, err))
			finished = append(finished, j)
		}
		s.jobs = nil
		s.Close()
		return finished, st, err
	}
	// Sampling is per job and independent: run the jobs side by side.
	sideBySide(len(live), func(i int) { live[i].commit(logits[i], s.vocab, s.mask) })
	s.jobs = s.jobs[:0]
	for _, j := range live {
		st.Commits += j.commits
		if j.done {
			finished = append(finished, j)
		} else {
			s.jobs = append(s.jobs, j)
		}
	}
	return finished, st, nil
}

// prepare finds the job's masked positions for its next step and, in
// cached mode, whether the step refreshes. false: nothing left to run.
func (j *Job) prepare(mask int) bool {
	if j.step >= j.steps {
		return false
	}
	left, any := 0, false
	for r, c := range j.res.Canvases {
		var want []int
		for p, id := range c {
			if id == mask {
				want = append(want, p)
			}
		}
		j.want[r] = want
		left += len(want)
		any = any || want != nil
		if want == nil {
			j.inCache[r] = false // Run's refresh drops rows without masks
		}
	}
	if !any {
		return false
	}
	j.full = j.fresh || j.policy.Full(j.step, left, j.total)
	if !j.full {
		for r, w := range j.want {
			if w != nil && !j.inCache[r] {
				j.full = true
			}
		}
	}
	if j.full {
		j.fresh, j.total = false, left
		for r, w := range j.want {
			j.inCache[r] = w != nil
			if w != nil {
				st, e, _ := kvcache.Block(j.res.Canvases[r], mask)
				j.block[r] = [2]int{st, e}
			}
		}
	}
	return true
}

// commit samples the job's step from its rows' logits (one entry per row
// with masks, in row order) and advances it.
func (j *Job) commit(logits [][]float32, vocab, mask int) {
	j.commits = 0
	i := 0
	for r, want := range j.want {
		if want == nil {
			continue
		}
		lg := logits[i]
		i++
		if len(lg) != len(want)*vocab {
			j.finish(nil, fmt.Errorf("denoise: step %d, canvas %d: model returned %d logits, want %d", j.step, r, len(lg), len(want)*vocab))
			return
		}
		n, err := commitRow(j.req, j.samplers[r], j.step, j.res.Canvases[r], j.res.Confidence[r], j.req.Canvases[r], want, slotBlocks(j.blockOf[r], want), lg, vocab, mask)
		if err != nil {
			j.finish(nil, fmt.Errorf("denoise: step %d, canvas %d: %w", j.step, r, err))
			return
		}
		j.commits += n
	}
	j.res.Steps = j.step + 1
	if j.req.OnStep != nil {
		j.req.OnStep(j.step, j.res.Canvases)
	}
	j.step++
	if j.step >= j.steps {
		j.finish(j.res, nil)
	}
}

func (j *Job) finish(res *Result, err error) {
	j.done, j.res, j.err = true, res, err
	if err != nil {
		j.res = nil
	}
}

// forwardFull runs every live canvas with masks through one Forward.
func (s *Stream) forwardFull(live []*Job, st *StepStats) ([][][]float32, error) {
	var inputs []model.Input
	for _, j := range live {
		for r, w := range j.want {
			if w != nil {
				inputs = append(inputs, model.Input{IDs: j.res.Canvases[r], Want: w})
				st.Tokens += len(j.res.Canvases[r])
				st.Refresh++
			}
		}
	}
	out, err := s.m.Forward(inputs)
	if err != nil {
		return nil, err
	}
	if len(out) != len(inputs) {
		return nil, fmt.Errorf("model returned logits for %d canvases, want %d", len(out), len(inputs))
	}
	return split(live, out), nil
}

// split hands each job its rows' logits, in the order the inputs were
// packed.
func split(live []*Job, out [][]float32) [][][]float32 {
	per := make([][][]float32, len(live))
	k := 0
	for i, j := range live {
		for _, w := range j.want {
			if w != nil {
				per[i] = append(per[i], out[k])
				k++
			}
		}
	}
	return per
}

// forwardCached runs one ForwardBlocks call: refreshing jobs' canvases as
// whole-canvas blocks, the others' blocks from their last refresh. The
// cache is laid out again (keeping the K/V of canvases that run a block)
// when the set of canvases changed.
func (s *Stream) forwardCached(live []*Job, st *StepStats) ([][][]float32, error) {
	var keys []seqKey
	for _, j := range live {
		for r, w := range j.want {
			if w != nil {
				keys = append(keys, seqKey{j, r})
			}
		}
	}
	seq, err := s.relayout(keys)
	if err != nil {
		return nil, err
	}
	blocks := make([]model.Block, len(keys))
	for i, k := range keys {
		j, r := k.job, k.row
		c := j.res.Canvases[r]
		start, end := 0, len(c)
		if !j.full {
			start, end = j.block[r][0], j.block[r][1]
		} else {
			st.Refresh++
		}
		blocks[i] = model.Block{Seq: seq[i], Start: start, IDs: c[start:end], Want: j.want[r]}
		st.Tokens += end - start
	}
	out, err := s.cm.ForwardBlocks(s.cache, blocks)
	if err != nil {
		s.cache = nil // ForwardBlocks freed it: its rows may be half written
		s.layout = nil
		return nil, err
	}
	if len(out) != len(blocks) {
		return nil, fmt.Errorf("model returned logits for %d canvases, want %d", len(out), len(blocks))
	}
	return split(live, out), nil
}

// relayout returns the cache sequence of every key (increasing). When
// the cache already holds them all in this order, it stays as it is:
// canvases that left keep their rows as idle sequences (a sequence with
// no block costs nothing in the pass), so only a join lays the cache out
// again. Then canvases that run a block this step keep their rows
// (gathered from the old cache); refreshing and new ones are recomputed
// whole, so their rows start undefined; idle sequences are dropped.
func (s *Stream) relayout(keys []seqKey) ([]int, error) {
	seq := make([]int, len(keys))
	if s.cache != nil {
		i := 0
		for n, k := range s.layout {
			if i < len(keys) && keys[i] == k {
				seq[i] = n
				i++
			}
		}
		if i == len(keys) {
			return seq, nil
		}
	}
	for i := range seq {
		seq[i] = i
	}
	old := map[seqKey]kvcache.Seq{}
	if s.cache != nil {
		seqs := s.cache.Seqs()
		for i, k := range s.layout {
			old[k] = seqs[i]
		}
	}
	lens := make([]int, len(keys))
	var positions, idx []int
	keep := false
	for i, k := range keys {
		L := len(k.job.res.Canvases[k.row])
		lens[i] = L
		o, had := old[k]
		had = had && !k.job.full
		if had && o.Len != L {
			return nil, fmt.Errorf("kvcache sequence of %d rows for a canvas of %d", o.Len, L)
		}
		keep = keep || had
		for p := range L {
			positions = append(positions, p)
			if had {
				idx = append(idx, o.Offset+p)
			} else {
				idx = append(idx, 0) // overwritten by the whole-canvas block
			}
		}
	}
	next := s.cm.NewCache()
	if err := next.Reset(lens, positions, nil); err != nil {
		next.Free()
		return nil, err
	}
	if keep {
		be := backendOf(s.cm)
		if be == nil {
			next.Free()
			return nil, fmt.Errorf("cannot move cached rows: the model exposes no backend")
		}
		for l := range next.Layers() {
			nk, nv := next.Layer(l)
			ok, ov := s.cache.Layer(l)
			if err := be.GatherRows(nk, ok, idx); err != nil {
				next.Free()
				return nil, fmt.Errorf("move cached keys of layer %d: %w", l, err)
			}
			if err := be.GatherRows(nv, ov, idx); err != nil {
				next.Free()
				return nil, fmt.Errorf("move cached values of layer %d: %w", l, err)
			}
		}
	}
	if s.cache != nil {
		s.cache.Free()
	}
	s.cache, s.layout = next, keys
	return seq, nil
}

// backendOf returns the backend m's tensors live on (*model.Model has
// one), for moving cache rows.
func backendOf(m CachedModel) backend.Backend {
	if b, ok := m.(interface{ Backend() backend.Backend }); ok {
		return b.Backend()
	}
	return nil
}
