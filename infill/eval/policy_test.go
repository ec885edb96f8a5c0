package eval

import (
	"math"
	"testing"

	"github.com/dream-lsp/dream-lsp/infill"
)

func TestAUROC(t *testing.T) {
	cases := []struct {
		score []float64
		label []bool
		want  float64
	}{
		{[]float64{0.1, 0.2, 0.8, 0.9}, []bool{false, false, true, true}, 1},
		{[]float64{0.1, 0.2, 0.8, 0.9}, []bool{true, true, false, false}, 0},
		{[]float64{0.5, 0.5, 0.5, 0.5}, []bool{true, false, true, false}, 0.5},
		{[]float64{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}, 0.75},
		{[]float64{0.1, 0.2}, []bool{true, true}, -1},
	}
	for _, c := range cases {
		if got := auroc(c.score, c.label); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("auroc(%v, %v) = %v, want %v", c.score, c.label, got, c.want)
		}
	}
}

func TestPolicyReportCurve(t *testing.T) {
	rec := func(conf float64, parses, pass, exact bool) record {
		// The shipped measure gets conf; the others half of it, so a curve
		// drawn from the wrong measure shows.
		m := map[string]float64{"slot-mean": conf / 2, "token-mean": conf / 2, "token-min": conf / 2}
		m[infill.ConfidenceMeasure] = conf
		return record{shown: true, conf: m, parses: parses, pass: pass, exact: exact}
	}
	recs := []record{
		rec(0.95, true, true, true),
		rec(0.75, true, false, false),
		rec(0.55, false, false, false),
		rec(0.15, false, false, false),
		{reason: infill.DropParse},
		{reason: infill.DropBlank},
	}
	p := policyReport(recs, 0.5, []float64{0, 0.5, 0.9})
	want := []CurvePoint{
		{Threshold: 0, Shown: 4, Coverage: 4.0 / 6, Pass: 0.25, Exact: 0.25, Parse: 0.5, Kept: 2},
		{Threshold: 0.5, Shown: 3, Coverage: 0.5, Pass: 1.0 / 3, Exact: 1.0 / 3, Parse: 2.0 / 3, Kept: 2},
		{Threshold: 0.9, Shown: 1, Coverage: 1.0 / 6, Pass: 1, Exact: 1, Parse: 1, Kept: 1},
	}
	got := p.Curves[infill.ConfidenceMeasure]
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("point %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if p.Point != want[1] {
		t.Errorf("at the threshold: %+v, want %+v", p.Point, want[1])
	}
	if p.Dropped[infill.DropParse] != 1 || p.Dropped[infill.DropBlank] != 1 || p.Dropped[infill.DropConfidence] != 1 {
		t.Errorf("dropped = %v", p.Dropped)
	}
	if math.Abs(p.PassAt1-1.0/6) > 1e-12 {
		t.Errorf("pass@1 among shown = %v, want 1/6", p.PassAt1)
	}
	if a := p.AUROC["slot-mean"]["parse"]; a != 1 {
		t.Errorf("AUROC parse = %v, want 1 (both parsing ones rank above both others)", a)
	}
}
