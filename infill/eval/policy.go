package eval

import (
	"fmt"
	"io"
	"sort"

	"github.com/dream-lsp/dream-lsp/infill"
)

// DefaultThresholds are the confidence thresholds of the coverage /
// precision curve.
var DefaultThresholds = []float64{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}

// Measures are the confidence statistics a candidate carries; the policy
// uses infill.ConfidenceMeasure, the others are reported for comparison.
var Measures = []string{"slot-mean", "token-mean", "token-min"}

// record is what the suggestion policy study needs of one task: the
// candidate the policy's other checks (no-op, parse) let through, if any.
type record struct {
	shown  bool // a candidate passed the no-op and parse checks
	reason infill.Reason
	conf   map[string]float64 // by measure
	parses bool               // the completed file has no syntax error
	exact  bool
	pass   bool
}

func confidences(c infill.Candidate) map[string]float64 {
	return map[string]float64{"slot-mean": c.SlotMean, "token-mean": c.TokenMean, "token-min": c.TokenMin}
}

// PolicyReport scores the suggestion policy on a set: what is shown at the
// configured threshold, how good the shown suggestions are, and the curve
// over thresholds.
type PolicyReport struct {
	Measure       string     `json:"measure"` // the statistic Candidate.Confidence holds
	MinConfidence float64    `json:"min_confidence"`
	Point         CurvePoint `json:"at_min_confidence"`
	// PassAt1 counts a task as passed only when a suggestion is shown and
	// passes: what a user of the server gets.
	PassAt1 float64 `json:"pass_at_1_shown"`
	// Dropped counts the tasks whose every candidate the policy held back,
	// by the reason of the best one.
	Dropped map[infill.Reason]int `json:"dropped"`
	// AUROC: how well each measure ranks the candidates that passed the
	// other checks by whether the file parses, the test passes and the
	// middle is exact (0.5: no better than chance; NaN-free: -1 when a
	// label has one class only).
	AUROC  map[string]map[string]float64 `json:"auroc"`
	Curves map[string][]CurvePoint       `json:"curves"` // by measure
	// Records are the per-task inputs (Config.Records), for calibrating
	// on one part of a set and checking on another.
	Records []TaskRecord `json:"records,omitempty"`
}

// TaskRecord is one task as the policy study saw it.
type TaskRecord struct {
	ID         string             `json:"id"`
	Shown      bool               `json:"shown"` // passed the no-op and parse checks
	Reason     infill.Reason      `json:"reason,omitempty"`
	Confidence map[string]float64 `json:"confidence,omitempty"`
	Parses     bool               `json:"parses"`
	Exact      bool               `json:"exact"`
	Pass       bool               `json:"pass"`
}

// CurvePoint is the policy at one threshold.
type CurvePoint struct {
	Threshold float64 `json:"threshold"`
	Shown     int     `json:"shown"`
	Coverage  float64 `json:"coverage"`   // shown / tasks
	Pass      float64 `json:"pass"`       // among shown
	Exact     float64 `json:"exact"`      // among shown
	Parse     float64 `json:"parse"`      // among shown: the completed file has no syntax error
	Kept      int     `json:"kept_parse"` // shown suggestions whose file parses
}

// curve scores the records at each threshold for one measure.
func curve(recs []record, measure string, thresholds []float64) []CurvePoint {
	var out []CurvePoint
	for _, th := range thresholds {
		p := CurvePoint{Threshold: th}
		pass, exact := 0, 0
		for _, r := range recs {
			if !r.shown || r.conf[measure] < th {
				continue
			}
			p.Shown++
			if r.pass {
				pass++
			}
			if r.exact {
				exact++
			}
			if r.parses {
				p.Kept++
			}
		}
		if len(recs) > 0 {
			p.Coverage = float64(p.Shown) / float64(len(recs))
		}
		if p.Shown > 0 {
			n := float64(p.Shown)
			p.Pass, p.Exact, p.Parse = float64(pass)/n, float64(exact)/n, float64(p.Kept)/n
		}
		out = append(out, p)
	}
	return out
}

// auroc is the probability that a positive ranks above a negative (ties
// count half); -1 when either class is empty.
func auroc(score []float64, label []bool) float64 {
	type sl struct {
		s float64
		l bool
	}
	var xs []sl
	pos, neg := 0, 0
	for i := range score {
		xs = append(xs, sl{score[i], label[i]})
		if label[i] {
			pos++
		} else {
			neg++
		}
	}
	if pos == 0 || neg == 0 {
		return -1
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i].s < xs[j].s })
	// Mann-Whitney U with average ranks for ties.
	rankSum := 0.0
	for i := 0; i < len(xs); {
		j := i
		for j < len(xs) && xs[j].s == xs[i].s {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks i+1 .. j
		for k := i; k < j; k++ {
			if xs[k].l {
				rankSum += avg
			}
		}
		i = j
	}
	u := rankSum - float64(pos)*float64(pos+1)/2
	return u / (float64(pos) * float64(neg))
}

// policyReport builds the report from the records.
func policyReport(recs []record, min float64, thresholds []float64) *PolicyReport {
	pr := &PolicyReport{Measure: infill.ConfidenceMeasure, MinConfidence: min, Dropped: map[infill.Reason]int{},
		AUROC: map[string]map[string]float64{}, Curves: map[string][]CurvePoint{}}
	for _, m := range Measures {
		pr.Curves[m] = curve(recs, m, thresholds)
		var score []float64
		var parses, pass, exact []bool
		for _, r := range recs {
			if r.shown {
				score = append(score, r.conf[m])
				parses, pass, exact = append(parses, r.parses), append(pass, r.pass), append(exact, r.exact)
			}
		}
		pr.AUROC[m] = map[string]float64{"parse": auroc(score, parses), "pass": auroc(score, pass), "exact": auroc(score, exact)}
	}
	pr.Point = curve(recs, infill.ConfidenceMeasure, []float64{min})[0]
	passed := 0
	for _, r := range recs {
		switch {
		case !r.shown:
			pr.Dropped[r.reason]++
		case r.conf[infill.ConfidenceMeasure] < min:
			pr.Dropped[infill.DropConfidence]++
		case r.pass:
			passed++
		}
	}
	if len(recs) > 0 {
		pr.PassAt1 = float64(passed) / float64(len(recs))
	}
	return pr
}

// writePolicy prints a set's policy report.
func writePolicy(w io.Writer, p *PolicyReport) {
	pt := p.Point
	fmt.Fprintf(w, "  policy (%s >= %.2f): shown %d, coverage %.3f; among shown: pass %.3f, exact %.3f, parse %.3f; pass@1 (shown only) %.3f\n",
		p.Measure, p.MinConfidence, pt.Shown, pt.Coverage, pt.Pass, pt.Exact, pt.Parse, p.PassAt1)
	fmt.Fprintf(w, "  dropped:")
	for _, r := range []infill.Reason{infill.DropBlank, infill.DropRepeatsPrefix, infill.DropRepeatsSuffix, infill.DropParse, infill.DropConfidence} {
		fmt.Fprintf(w, " %s %d", r, p.Dropped[r])
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  AUROC (parse / pass / exact):")
	for _, m := range Measures {
		a := p.AUROC[m]
		fmt.Fprintf(w, " %s %.3f/%.3f/%.3f", m, a["parse"], a["pass"], a["exact"])
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  %9s %6s %8s %6s %6s %6s\n", "threshold", "shown", "coverage", "pass", "exact", "parse")
	for _, c := range p.Curves[p.Measure] {
		fmt.Fprintf(w, "  %9.2f %6d %8.3f %6.3f %6.3f %6.3f\n", c.Threshold, c.Shown, c.Coverage, c.Pass, c.Exact, c.Parse)
	}
}
