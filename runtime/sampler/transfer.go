package sampler

import "fmt"

// StepTransfer is DreamOn's commit rule (DreamLM/DreamOn eval/generator.py
// batch_generate_with_expand_as_token, and the model card's
// DreamOnGenerationMixin._sample): every masked slot is sampled as in Step,
// and exactly k of them are committed, with no timestep schedule: the k
// most confident (AlgTemp 0; ties to the higher slot, as topConfidence) or
// k draws without replacement from softmax(confidence/AlgTemp). With k at
// least the slot count every slot is committed. origin and
// confidence_threshold have no such rule (upstream raises for them).
func (s *Sampler) StepTransfer(logits []float32, vocab, k int) ([]Commit, error) {
	if s.opts.Alg == Origin || s.opts.Alg == ConfidenceThreshold {
		return nil, fmt.Errorf("%w: alg %s does not commit a fixed number of tokens per step (want maskgit_plus, topk_margin or entropy)", ErrOptions, s.opts.Alg)
	}
	if k < 1 {
		return nil, fmt.Errorf("%w: %d tokens per step", ErrOptions, k)
	}
	if vocab <= 0 || len(logits)%vocab != 0 {
		return nil, fmt.Errorf("sampler: %d logits are not a multiple of vocabulary %d", len(logits), vocab)
	}
	if s.opts.EOSPenalty > 0 && (s.opts.EOSTokenID < 0 || s.opts.EOSTokenID >= vocab) {
		return nil, fmt.Errorf("sampler: eos token %d outside the vocabulary %d", s.opts.EOSTokenID, vocab)
	}
	n := len(logits) / vocab
	if n == 0 {
		return nil, nil
	}
	all := make([]int, n)
	for j := range all {
		all[j] = j
	}
	scores := s.sampleSlots(logits, vocab, all)
	k = min(k, n)
	var chosen []int
	if s.opts.AlgTemp > 0 && k < n {
		chosen = s.drawPositions(scores, k)
	} else {
		chosen = topConfidence(scores, k)
	}
	return toCommits(scores, chosen), nil
}
