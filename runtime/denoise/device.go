package denoise

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/dream-lsp/dream-lsp/runtime/model"
	"github.com/dream-lsp/dream-lsp/runtime/sampler"
)

// DeviceModel is the optional fast path of Run for a device that keeps the
// weights, its K/V cache and the sampling to itself (runtime/backend/cuda's
// DreamModel: bf16 weights, fused kernels, CUDA graphs). Run hands it whole
// canvases or cached blocks and gets back, per wanted slot, the token drawn
// on the device and its statistics (20 bytes a slot instead of a row of
// vocabulary logits); the commit schedule stays here, on the host. For
// sampler options the device cannot draw (origin, top-p, top-k, alg_temp,
// an EOS penalty) it returns the wanted rows' logits and runtime/sampler
// decides, as for any Model. The CPU path (*model.Model: Forward,
// Prefill/ForwardBlocks + runtime/sampler) does not implement it.
type DeviceModel interface {
	Model // Forward returns logits (DreamOn, debugging)
	// DeviceStep runs one forward pass (see DeviceCall).
	DeviceStep(call DeviceCall) (*DeviceOutput, error)
	// Close frees the device memory.
	Close() error
}

// DeviceCall is one forward pass of a DeviceModel.
type DeviceCall struct {
	// Full runs whole canvases and refills the device's K/V cache: input i
	// becomes cache sequence i. Nil for a cached step.
	Full []model.Input
	// Blocks (when Full is nil) recomputes each block against its
	// sequence's cache from the last Full call (model.Block's rules).
	Blocks []model.Block
	// Device sampling: Temperature 0 is greedy; Seed and Step feed the
	// device's own counter-based random numbers (not runtime/sampler's).
	Temperature float32
	Seed, Step  uint64
	// Logits asks for the wanted rows' shifted logits instead of samples.
	Logits bool
	// EOSProb (greedy sampling only) asks for each sample's p(EOS)
	// (Sample.EOS), what Request.EOSTail pads with.
	EOSProb bool
	EOS     int
}

// Sample is the device's draw for one wanted slot: the token (argmax when
// greedy, smallest id on ties) and, under softmax(logits/temperature),
// p(token), p(top1), p(top2) and Σ p·log p (the negative entropy), and
// p(eos) when the call asked for it. A GPU computes them in float32, so
// slots whose confidences differ by less than that may be ranked
// differently from the CPU sampler's float64.
type Sample struct {
	Token                      int
	Prob, Top1, Top2, Neg, EOS float64
}

// DeviceOutput is a DeviceStep's result, per input or block in call order
// and per wanted slot in Want order.
type DeviceOutput struct {
	Samples [][]Sample  // nil when the call asked for logits
	Logits  [][]float32 // like Model.Forward's, when the call asked for them
}

// OnDevice reports whether o can be drawn by a DeviceModel: an algorithm
// that ranks slots by a confidence the device's statistics give
// (maskgit_plus, topk_margin, entropy, confidence_threshold), positions
// chosen by confidence (no alg_temp) and no logit filter or EOS penalty.
func OnDevice(o sampler.Options) bool {
	switch o.Alg {
	case sampler.MaskGITPlus, sampler.TopKMargin, sampler.Entropy, sampler.ConfidenceThreshold:
	default:
		return false
	}
	return (o.TopP == 0 || o.TopP == 1) && o.TopK == 0 && o.AlgTemp == 0 && o.EOSPenalty == 0
}

// runDevice is Run for a DeviceModel: the same rows, schedules, cache
// policy and results, with the forward (and, when OnDevice, the token
// draws) on the device.
func runDevice(ctx context.Context, dm DeviceModel, req Request) (*Result, error) {
	cfg := dm.Config()
	mask, vocab := cfg.MaskTokenID, cfg.VocabSize
	if err := checkRequest(req); err != nil {
		return nil, err
	}
	if err := req.Sampler.Validate(); err != nil {
		return nil, fmt.Errorf("denoise: %w", err)
	}
	if c, ok := dm.(interface{ DeviceTokens() int }); ok {
		if groups := fitCanvases(req.Canvases, c.DeviceTokens()); len(groups) > 1 {
			return runDeviceGroups(ctx, dm, req, groups)
		}
	}
	// EOSTail pads with p(eos), which the device gives for greedy draws
	// (DeviceCall.EOSProb); sampled ones read the logits.
	onDevice := OnDevice(req.Sampler) && !(req.EOSTail && req.Sampler.Temperature > 0)
	eps := req.Sampler.Eps
	if eps == 0 {
		eps = sampler.DefaultEps
	}
	// The device gets no canvas longer than the model's positions: the
	// same error as the CPU model's, before any device work.
	rs, err := newRows(req, mask, vocab, cfg.MaxPositionEmbeddings, !onDevice)
	if err != nil {
		return nil, err
	}
	res, rowSteps, samplers, blockOf, steps := rs.res, rs.rowSteps, rs.samplers, rs.blockOf, rs.steps
	ts := make([][]float32, len(req.Canvases))
	for r, n := range rowSteps {
		ts[r] = sampler.Timesteps(n, eps)
	}
	offset := make([]int, len(req.Canvases)) // per row: its schedule's first step (EOSRuns replans)
	var layout refreshLayout                 // the cache at the last full pass
	for step := range steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		inputs, rows, left := maskedInputs(res.Canvases, mask)
		if len(inputs) == 0 {
			break
		}
		call := DeviceCall{Temperature: float32(req.Sampler.Temperature), Seed: req.Sampler.Seed, Step: uint64(step), Logits: !onDevice,
			EOSProb: onDevice && req.EOSTail && req.Sampler.EOSTokenID >= 0 && req.Sampler.EOSTokenID < vocab, EOS: req.Sampler.EOSTokenID}
		if !req.Cache.Enabled || layout.due(req.Cache.Policy, step, left, rows) {
			call.Full = inputs
			if req.Cache.Enabled {
				layout.record(inputs, rows, left, mask)
			}
		} else {
			call.Blocks = layout.blocks(inputs, rows)
		}
		out, err := dm.DeviceStep(call)
		if err != nil {
			return nil, fmt.Errorf("denoise: step %d: %w", step, err)
		}
		if n := max(len(out.Samples), len(out.Logits)); n != len(inputs) {
			return nil, fmt.Errorf("denoise: step %d: device returned %d canvases, want %d", step, n, len(inputs))
		}
		for i, r := range rows {
			want := inputs[i].Want
			blocks := slotBlocks(blockOf[r], want)
			if !onDevice {
				// The host samples from the logits, as Run does.
				if len(out.Logits[i]) != len(want)*vocab {
					return nil, fmt.Errorf("denoise: step %d, canvas %d: device returned %d logits, want %d", step, r, len(out.Logits[i]), len(want)*vocab)
				}
				if _, err := commitRow(req, samplers[r], step, res.Canvases[r], res.Confidence[r], req.Canvases[r], want, blocks, out.Logits[i], vocab, mask); err != nil {
					return nil, fmt.Errorf("denoise: step %d, canvas %d: %w", step, r, err)
				}
				continue
			}
			if len(out.Samples[i]) != len(want) {
				return nil, fmt.Errorf("denoise: step %d, canvas %d: device returned %d samples, want %d", step, r, len(out.Samples[i]), len(want))
			}
			for _, c := range commitSamples(req.Sampler, step-offset[r], rowSteps[r], ts[r], out.Samples[i], blocks) {
				p := want[c.Slot]
				res.Canvases[r][p] = c.Token
				res.Confidence[r][p] = c.Confidence
			}
			if req.EOSTail && call.EOSProb {
				eosTailSamples(res.Canvases[r], res.Confidence[r], req.Canvases[r], want, out.Samples[i], mask, req.Sampler.EOSTokenID)
			}
			if req.EOSRuns && eosRuns(res.Canvases[r], res.Confidence[r], req.Canvases[r], want, mask, req.Sampler.EOSTokenID, eosFromSamples(out.Samples[i])) > 0 {
				// The device's schedule, replanned as Sampler.Replan does.
				offset[r], rowSteps[r] = sampler.Replanned(step+1, MaskCount(res.Canvases[r], mask), offset[r], rowSteps[r])
				ts[r] = sampler.Timesteps(rowSteps[r], eps)
			}
		}
		res.Steps = step + 1
		if req.OnStep != nil {
			req.OnStep(step, res.Canvases)
		}
	}
	return res, nil
}

// fitCanvases splits canvas indices into consecutive groups whose tokens
// fit a device cache of capacity rows (one group when all fit; a canvas
// longer than capacity gets a group of its own, which the device rejects
// with its own error).
func fitCanvases(canvases [][]int, capacity int) [][]int {
	var groups [][]int
	var cur []int
	n := 0
	for i, c := range canvases {
		if len(cur) > 0 && n+len(c) > capacity {
			groups, cur, n = append(groups, cur), nil, 0
		}
		cur, n = append(cur, i), n+len(c)
	}
	return append(groups, cur)
}

// runDeviceGroups runs the groups' canvases one group after another (rows
// are independent, so each gets what it gets in one call; only host-side
// random draws, keyed by the row's index in its call, differ) and merges
// the results. OnStep sees every canvas: those of later groups as given,
// those of earlier ones final.
func runDeviceGroups(ctx context.Context, dm DeviceModel, req Request, groups [][]int) (*Result, error) {
	res := &Result{Canvases: make([][]int, len(req.Canvases)), Confidence: make([][]float32, len(req.Canvases))}
	for r, c := range req.Canvases {
		res.Canvases[r] = slices.Clone(c)
		res.Confidence[r] = make([]float32, len(c))
	}
	for _, g := range groups {
		sub := req
		sub.Canvases = make([][]int, len(g))
		sub.RowSteps = nil
		if req.RowSteps != nil {
			sub.RowSteps = make([]int, len(g))
		}
		for i, r := range g {
			sub.Canvases[i] = req.Canvases[r]
			if req.RowSteps != nil {
				sub.RowSteps[i] = req.RowSteps[r]
			}
		}
		if req.OnStep != nil {
			sub.OnStep = func(step int, cv [][]int) {
				for i, r := range g {
					res.Canvases[r] = cv[i]
				}
				req.OnStep(step, res.Canvases)
			}
		}
		out, err := runDevice(ctx, dm, sub)
		if err != nil {
			return nil, err
		}
		for i, r := range g {
			res.Canvases[r], res.Confidence[r] = out.Canvases[i], out.Confidence[i]
		}
		res.Steps = max(res.Steps, out.Steps)
	}
	return res, nil
}

// eosTailSamples is eosTail (eostail.go) over device samples, whose EOS is
// p(eos): after the first eos in a run of the canvas's initial masks, every
// slot of the run still masked becomes eos with that confidence.
// TestDeviceRunMatchesHost holds the two to the same canvases.
func eosTailSamples(canvas []int, conf []float32, orig, want []int, samples []Sample, mask, eos int) {
	row := make(map[int]int, len(want))
	for j, p := range want {
		row[p] = j
	}
	padding := false
	for p := range orig {
		if orig[p] != mask {
			padding = false
			continue
		}
		switch {
		case !padding:
			padding = canvas[p] == eos
		case canvas[p] == mask:
			if j, ok := row[p]; ok {
				canvas[p], conf[p] = eos, float32(samples[j].EOS)
			}
		}
	}
}

// commitSamples is sampler.Sampler.StepBlocks for device samples (the
// algorithms OnDevice accepts): the same schedule (CommitCount), the same
// confidences (p(token); p1 − p2 for topk_margin; Σ p·log p for entropy,
// which the sampler computes as Σ p·log(p + 1e−10)), the same ordering
// (most confident first, ties to the higher slot) and confidence_threshold's
// rule over blocks. The sampler works from logits, so the rule is restated
// here over the device's statistics.
func commitSamples(o sampler.Options, step, steps int, ts []float32, samples []Sample, blocks []int) []sampler.Commit {
	n := len(samples)
	if n == 0 {
		return nil
	}
	conf := make([]float64, n)
	for j, s := range samples {
		switch o.Alg {
		case sampler.TopKMargin:
			conf[j] = s.Top1 - s.Top2
		case sampler.Entropy:
			conf[j] = s.Neg
		default:
			conf[j] = s.Prob
		}
	}
	k := sampler.CommitCount(n, step, steps, ts)
	order := make([]int, n)
	for j := range order {
		order[j] = j
	}
	blockOfSlot := func(j int) int {
		if blocks == nil {
			return 0
		}
		return blocks[j]
	}
	sort.SliceStable(order, func(a, b int) bool {
		ja, jb := order[a], order[b]
		if ba, bb := blockOfSlot(ja), blockOfSlot(jb); o.Alg == sampler.ConfidenceThreshold && ba != bb {
			return ba < bb
		}
		if conf[ja] != conf[jb] {
			return conf[ja] > conf[jb]
		}
		return ja > jb
	})
	if o.Alg == sampler.ConfidenceThreshold {
		tau := o.Threshold
		if tau == 0 {
			tau = sampler.DefaultThreshold
		}
		first, above := blockOfSlot(order[0]), 0
		for _, j := range order {
			if blockOfSlot(j) == first && conf[j] > tau {
				above++
			}
		}
		k = min(n, max(k, above, 1))
	}
	if k == 0 {
		return nil
	}
	chosen := order[:k]
	sort.Ints(chosen)
	out := make([]sampler.Commit, k)
	for i, j := range chosen {
		out[i] = sampler.Commit{Slot: j, Token: samples[j].Token, Confidence: float32(samples[j].Prob)}
	}
	return out
}
