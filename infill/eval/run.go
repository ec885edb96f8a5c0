package eval

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/dream-lsp/dream-lsp/context/lang"
	"github.com/dream-lsp/dream-lsp/context/syntax"
	"github.com/dream-lsp/dream-lsp/infill"
)

// Completer is what the harness needs from the infill engine.
type Completer interface {
	Complete(ctx context.Context, req infill.Request) (*infill.Result, error)
}

// Config selects what to run.
type Config struct {
	Dir          string   // evaluation tree (holds humaneval-infilling/, humaneval-x-go/)
	Sets         []string // task sets; nil: python-single, go-single
	Tasks        string   // comma-separated id substrings; "": all
	Limit        int      // at most this many tasks per set; 0: all
	Length       string   // "auto", "oracle" or "fixed=N"
	OracleMiddle bool     // score the reference middles (no model): proves the harness
	Steps        int
	Alg          string
	MaxTokens    int
	// Count tokenizes a middle for oracle lengths (required with "oracle").
	Count func(string) int
	// Exclude lists problems left out of scores (known broken references).
	Exclude []string
	// Verbose logs every failing test's last output line.
	Verbose bool
	// SkipTrivial drops tasks whose middle is only brackets and
	// punctuation (a lone "}" line): a model that always writes "}"
	// passes those.
	SkipTrivial bool
	// MinConfidence is the suggestion policy's threshold the report's
	// policy section is scored at: 0 uses infill.DefaultMinConfidence, a
	// negative value none. The engine is asked with no threshold, so the
	// curve over Thresholds comes from the same run.
	MinConfidence float64
	Thresholds    []float64 // nil: DefaultThresholds
	Records       bool      // keep every task's policy record in the report
}

// KnownBroken are problems whose reference solution fails its own test:
// Go/95 depends on map iteration order (see docs/evals.md in the shared tree).
var KnownBroken = []string{"Go/95"}

// SetReport is the score of one task set.
type SetReport struct {
	Set         string   `json:"set"`
	Tasks       int      `json:"tasks"`
	Passed      int      `json:"passed"`
	PassAt1     float64  `json:"pass_at_1"`
	ProblemMean float64  `json:"problem_macro_pass_at_1"` // pass@1 averaged per problem
	ExactMatch  float64  `json:"exact_match"`
	EditSim     float64  `json:"edit_similarity"` // mean EditSimilarity of the completions to the reference middles
	ParseRate   float64  `json:"parse_rate"`
	Errors      int      `json:"errors"` // engine errors (counted as failures)
	LatencyMean float64  `json:"latency_mean_ms"`
	LatencyP50  float64  `json:"latency_p50_ms"`
	LatencyP90  float64  `json:"latency_p90_ms"`
	Excluded    int      `json:"excluded"`
	Trivial     int      `json:"trivial_skipped"`
	Failed      []string `json:"failed,omitempty"`
	// Policy scores what the server would show (absent for oracle
	// middles). The fields above score the best candidate whether or not
	// the policy shows it.
	Policy *PolicyReport `json:"policy,omitempty"`
}

// Report is the result of a run.
type Report struct {
	Length string `json:"length"`
	// Matmul is how the CPU multiplied the model's weights (f32 or
	// bf16-amx; engine.MatmulKernel), set by the caller; empty without a
	// model.
	Matmul       string      `json:"matmul,omitempty"`
	OracleMiddle bool        `json:"oracle_middle"`
	Sets         []SetReport `json:"sets"`
	Wall         string      `json:"wall"`
}

// Run loads, completes, executes and scores. log receives progress lines
// (nil: none).
func Run(ctx context.Context, cfg Config, eng Completer, x *Executor, log io.Writer) (*Report, error) {
	t0 := time.Now()
	sets := cfg.Sets
	if len(sets) == 0 {
		sets = []string{"python-single", "go-single"}
	}
	length := cfg.Length
	if length == "" {
		length = "auto"
	}
	if !cfg.OracleMiddle && eng == nil {
		return nil, fmt.Errorf("eval: no engine (use the oracle-middle mode to test the harness alone)")
	}
	if length == "oracle" && cfg.Count == nil && !cfg.OracleMiddle {
		return nil, fmt.Errorf("eval: oracle length needs a tokenizer")
	}
	logf := func(format string, args ...any) {
		if log != nil {
			fmt.Fprintf(log, format+"\n", args...)
		}
	}
	rep := &Report{Length: length, OracleMiddle: cfg.OracleMiddle}
	for _, set := range sets {
		all, err := Load(cfg.Dir, set)
		if err != nil {
			return nil, err
		}
		tasks := Filter(all, cfg.Tasks, 0)
		sr := SetReport{Set: set}
		var kept []*Task
		for _, t := range tasks {
			if contains(cfg.Exclude, t.Problem) {
				sr.Excluded++
				continue
			}
			if cfg.SkipTrivial && Trivial(t.Middle) {
				sr.Trivial++
				continue
			}
			kept = append(kept, t)
			if cfg.Limit > 0 && len(kept) >= cfg.Limit {
				break
			}
		}
		tasks = kept
		sr.Tasks = len(tasks)
		if len(tasks) == 0 {
			rep.Sets = append(rep.Sets, sr)
			continue
		}
		comps := make([]string, len(tasks))
		shownComps := make([]string, len(tasks)) // the candidate the policy's no-op and parse checks let through
		recs := make([]record, len(tasks))
		parses := 0
		var lat []float64
		for i, t := range tasks {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if cfg.OracleMiddle {
				comps[i] = t.Middle
				if parsesOK(ctx, t, t.Middle) {
					parses++
				}
				continue
			}
			req := infill.Request{Path: t.Path(), LanguageID: t.Lang, Text: t.Prefix + t.Suffix, Offset: len(t.Prefix),
				Steps: cfg.Steps, Alg: cfg.Alg, MaxTokens: cfg.MaxTokens, Length: length, Candidates: 1, MinConfidence: -1}
			if length == "oracle" {
				req.Length = fmt.Sprintf("oracle=%d", max(cfg.Count(t.Middle), 1))
			}
			ts := time.Now()
			res, err := eng.Complete(ctx, req)
			lat = append(lat, float64(time.Since(ts).Microseconds())/1000)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				sr.Errors++
				recs[i].reason = "error"
				logf("%s: %v", t.ID, err)
				continue
			}
			// The engine's candidate replaces [Start, End) of the document;
			// fold it back into a middle at the hole.
			mid := func(c infill.Candidate) string { return middleOf(req.Text[:c.Start]+c.Text+req.Text[c.End:], t) }
			if c, ok := best(res); ok {
				comps[i] = mid(c)
				if c.Parses {
					parses++
				}
			}
			if len(res.Candidates) > 0 {
				c := res.Candidates[0]
				recs[i].shown, recs[i].conf = true, confidences(c)
				shownComps[i] = mid(c)
				if cfg.Verbose {
					logf("%s: shown %q (confidence %.3f, reference %q)", t.ID, c.Text, c.Confidence, t.Middle)
				}
			} else if len(res.Dropped) > 0 {
				recs[i].reason = res.Dropped[0].Reason
				if cfg.Verbose {
					logf("%s: dropped (%s) %q (confidence %.3f, reference %q)", t.ID, res.Dropped[0].Reason, res.Dropped[0].Text, res.Dropped[0].Confidence, t.Middle)
				}
			} else {
				recs[i].reason = infill.DropBlank
			}
			if (i+1)%25 == 0 {
				logf("%s: %d/%d completed", set, i+1, len(tasks))
			}
		}
		if cfg.Verbose {
			x.Logf = func(format string, args ...any) { logf(format, args...) }
		}
		pass, err := x.Run(ctx, tasks, comps)
		if err != nil {
			return nil, err
		}
		if !cfg.OracleMiddle {
			if err := scoreShown(ctx, x, tasks, comps, shownComps, pass, recs); err != nil {
				return nil, err
			}
			min := cfg.MinConfidence
			if min == 0 {
				min = infill.DefaultMinConfidence
			}
			th := cfg.Thresholds
			if th == nil {
				th = DefaultThresholds
			}
			sr.Policy = policyReport(recs, max(min, 0), th)
			if cfg.Records {
				for i, r := range recs {
					sr.Policy.Records = append(sr.Policy.Records, TaskRecord{ID: tasks[i].ID, Shown: r.shown, Reason: r.reason,
						Confidence: r.conf, Parses: r.parses, Exact: r.exact, Pass: r.pass})
				}
			}
		}
		byProb := map[string][2]int{}
		em := 0
		es := 0.0
		for i, t := range tasks {
			es += EditSimilarity(normalize(comps[i]), normalize(t.Middle))
			p := byProb[t.Problem]
			p[1]++
			if pass[i] {
				sr.Passed++
				p[0]++
			} else {
				sr.Failed = append(sr.Failed, t.ID)
			}
			byProb[t.Problem] = p
			if normalize(comps[i]) == normalize(t.Middle) {
				em++
			}
		}
		n := float64(len(tasks))
		sr.PassAt1 = float64(sr.Passed) / n
		sr.ExactMatch = float64(em) / n
		sr.EditSim = es / n
		sr.ParseRate = float64(parses) / n
		macro := 0.0
		for _, p := range byProb {
			macro += float64(p[0]) / float64(p[1])
		}
		sr.ProblemMean = macro / float64(len(byProb))
		if len(lat) > 0 {
			sort.Float64s(lat)
			sum := 0.0
			for _, v := range lat {
				sum += v
			}
			sr.LatencyMean = sum / float64(len(lat))
			sr.LatencyP50 = lat[len(lat)/2]
			sr.LatencyP90 = lat[min(len(lat)-1, len(lat)*9/10)]
		}
		logf("%s: pass@1 %.3f (%d/%d)", set, sr.PassAt1, sr.Passed, sr.Tasks)
		rep.Sets = append(rep.Sets, sr)
	}
	rep.Wall = time.Since(t0).Round(time.Millisecond).String()
	return rep, nil
}

// best is the highest-scored candidate, shown or held back: what the
// engine proposed before the suggestion policy.
func best(res *infill.Result) (infill.Candidate, bool) {
	var c infill.Candidate
	ok := false
	if len(res.Candidates) > 0 {
		c, ok = res.Candidates[0], true
	}
	if len(res.Dropped) > 0 && (!ok || res.Dropped[0].Score > c.Score) {
		c, ok = res.Dropped[0].Candidate, true
	}
	return c, ok
}

// scoreShown completes the policy records: parse, exact match and test
// result of each shown candidate, running the tests again only for those
// that differ from the best candidate already run.
func scoreShown(ctx context.Context, x *Executor, tasks []*Task, comps, shown []string, pass []bool, recs []record) error {
	var again []*Task
	var againComps []string
	var idx []int
	for i, t := range tasks {
		if !recs[i].shown {
			continue
		}
		recs[i].exact = normalize(shown[i]) == normalize(t.Middle)
		recs[i].parses = parsesOK(ctx, t, shown[i])
		if shown[i] == comps[i] {
			recs[i].pass = pass[i]
			continue
		}
		again, againComps, idx = append(again, t), append(againComps, shown[i]), append(idx, i)
	}
	if len(again) == 0 {
		return nil
	}
	p, err := x.Run(ctx, again, againComps)
	if err != nil {
		return err
	}
	for k, i := range idx {
		recs[i].pass = p[k]
	}
	return nil
}

// Trivial reports whether a middle is only brackets, punctuation and
// space.
func Trivial(mid string) bool {
	return strings.Trim(mid, "{}()[];,: \t\r\n") == ""
}

// middleOf recovers the middle from a completed document that keeps the
// task's prefix and suffix.
func middleOf(doc string, t *Task) string {
	if strings.HasPrefix(doc, t.Prefix) && strings.HasSuffix(doc[len(t.Prefix):], t.Suffix) {
		return doc[len(t.Prefix) : len(doc)-len(t.Suffix)]
	}
	return "" // the candidate edited outside the hole: not a valid middle
}

func normalize(s string) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		lines = append(lines, strings.TrimRight(l, " \t\r"))
	}
	return strings.Join(lines, "\n")
}

func parsesOK(ctx context.Context, t *Task, mid string) bool {
	l, ok := lang.ByID(t.Lang)
	if !ok {
		return false
	}
	n, err := syntax.ErrorCount(ctx, l, []byte(t.Prefix+mid+t.Suffix))
	return err == nil && n == 0
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// WriteText prints a report as a table.
func WriteText(w io.Writer, r *Report) {
	mode := "length " + r.Length
	if r.OracleMiddle {
		mode = "oracle middles (harness check)"
	}
	if r.Matmul != "" {
		mode += ", matmul " + r.Matmul
	}
	fmt.Fprintf(w, "eval: %s, wall %s\n", mode, r.Wall)
	fmt.Fprintf(w, "%-14s %6s %6s %8s %8s %7s %7s %7s %9s %9s\n", "set", "tasks", "passed", "pass@1", "macro", "EM", "ES", "parse", "p50 ms", "p90 ms")
	for _, s := range r.Sets {
		fmt.Fprintf(w, "%-14s %6d %6d %8.3f %8.3f %7.3f %7.3f %7.3f %9.1f %9.1f\n", s.Set, s.Tasks, s.Passed, s.PassAt1, s.ProblemMean, s.ExactMatch, s.EditSim, s.ParseRate, s.LatencyP50, s.LatencyP90)
		if s.Trivial > 0 {
			fmt.Fprintf(w, "  (%d bracket-only tasks skipped)\n", s.Trivial)
		}
		if s.Excluded > 0 {
			fmt.Fprintf(w, "  (%d tasks of known-broken problems excluded)\n", s.Excluded)
		}
		if s.Errors > 0 {
			fmt.Fprintf(w, "  (%d engine errors counted as failures)\n", s.Errors)
		}
		if len(s.Failed) > 0 && len(s.Failed) <= 20 {
			fmt.Fprintf(w, "  failed: %s\n", strings.Join(s.Failed, " "))
		}
		if s.Policy != nil {
			writePolicy(w, s.Policy)
		}
	}
}
