package bayes

import (
	"encoding/csv"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func readCSV(t *testing.T, path string) (header []string, rows [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	all, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return all[0], all[1:]
}

// playTennis returns the four attributes and the label of Mitchell's table 3.2.
func playTennis(t *testing.T) ([]Column, []string) {
	_, rows := readCSV(t, filepath.Join("testdata", "playtennis.csv"))
	names := []string{"outlook", "temperature", "humidity", "wind"}
	cols := make([]Column, len(names))
	for j, n := range names {
		cols[j] = Column{Name: n, Categories: make([]string, len(rows))}
	}
	label := make([]string, len(rows))
	for i, r := range rows {
		for j := range names {
			cols[j].Categories[i] = r[j+1]
		}
		label[i] = r[5]
	}
	return cols, label
}

func query(vals ...string) []Column {
	names := []string{"outlook", "temperature", "humidity", "wind"}
	cols := make([]Column, len(vals))
	for j, v := range vals {
		cols[j] = Column{Name: names[j], Categories: []string{v}}
	}
	return cols
}

// TestPlayTennisTextbook: with α = 0, Mitchell's ⟨Sunny, Cool, High, Strong⟩
// gives P(yes)·Π = 0.0053, P(no)·Π = 0.0206 and posterior(No) = 0.795.
func TestPlayTennisTextbook(t *testing.T) {
	cols, label := playTennis(t)
	m, err := Train(cols, label, Options{Alpha: 0})
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Score(query("Sunny", "Cool", "High", "Strong"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Classes[0] != "No" || m.Classes[1] != "Yes" {
		t.Fatalf("classes %v", m.Classes)
	}
	pNo, pYes := math.Exp(s.Joint[0][0]), math.Exp(s.Joint[0][1])
	// Exact: 5/14·3/5·1/5·4/5·3/5 and 9/14·2/9·3/9·3/9·3/9.
	if math.Abs(pNo-5.0/14*3/5*1/5*4/5*3/5) > 1e-15 || math.Abs(pYes-9.0/14*2/9*3/9*3/9*3/9) > 1e-15 {
		t.Errorf("P(no)·Π = %v, P(yes)·Π = %v", pNo, pYes)
	}
	if r4(pNo) != 0.0206 || r4(pYes) != 0.0053 {
		t.Errorf("rounded P(no)·Π = %.4f (published 0.0206), P(yes)·Π = %.4f (published 0.0053)", pNo, pYes)
	}
	if math.Round(s.Posterior[0][0]*1000)/1000 != 0.795 || s.Predicted[0] != "No" {
		t.Errorf("posterior(No) = %v, predicted %s; published 0.795, No", s.Posterior[0][0], s.Predicted[0])
	}
}

func r4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

// TestPlayTennisLaplace: with α = 1 the posterior equals scikit-learn's
// CategoricalNB(alpha=1) (sklearn_summary.csv) and the hand value
// (5/14·4/8·2/8·5/7·4/7) / that + (9/14·3/12·4/12·4/11·4/11).
func TestPlayTennisLaplace(t *testing.T) {
	cols, label := playTennis(t)
	m, err := Train(cols, label, Options{Alpha: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Score(query("Sunny", "Cool", "High", "Strong"))
	if err != nil {
		t.Fatal(err)
	}
	no := 5.0 / 14 * 4 / 8 * 2 / 8 * 5 / 7 * 4 / 7
	yes := 9.0 / 14 * 3 / 12 * 4 / 12 * 4 / 11 * 4 / 11
	if math.Abs(s.Posterior[0][0]-no/(no+yes)) > 1e-14 {
		t.Errorf("posterior(No) %v, hand %v", s.Posterior[0][0], no/(no+yes))
	}
	want := summary(t)["playtennis_alpha1_posterior_no"]
	if math.Abs(s.Posterior[0][0]-want) > 1e-12 {
		t.Errorf("posterior(No) %v, scikit-learn %v", s.Posterior[0][0], want)
	}
}

func summary(t *testing.T) map[string]float64 {
	_, rows := readCSV(t, filepath.Join("testdata", "sklearn_summary.csv"))
	out := map[string]float64{}
	for _, r := range rows {
		if v, err := strconv.ParseFloat(r[1], 64); err == nil {
			out[r[0]] = v
		}
	}
	return out
}

// TestUnseenMissingAndDegenerate covers the documented edge behaviour.
func TestUnseenMissingAndDegenerate(t *testing.T) {
	cols, label := playTennis(t)
	m, err := Train(cols, label, Options{Alpha: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("unseen and missing values contribute no factor", func(t *testing.T) {
		s, err := m.Score([]Column{
			{Name: "outlook", Categories: []string{"Foggy", ""}},
			{Name: "temperature", Categories: []string{"Cool", "Cool"}},
			{Name: "humidity", Categories: []string{"High", "High"}},
			{Name: "wind", Categories: []string{"Strong", "Strong"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		no := 5.0 / 14 * 2 / 8 * 5 / 7 * 4 / 7
		yes := 9.0 / 14 * 4 / 12 * 4 / 11 * 4 / 11
		for r := 0; r < 2; r++ {
			if math.Abs(s.Posterior[r][0]-no/(no+yes)) > 1e-14 {
				t.Errorf("row %d posterior(No) %v, want %v (outlook left out)", r, s.Posterior[r][0], no/(no+yes))
			}
		}
		if s.Unseen["outlook"] != 1 {
			t.Errorf("unseen counts %v, want outlook: 1", s.Unseen)
		}
	})
	t.Run("alpha 0 with no evidence for any class is an error", func(t *testing.T) {
		m0, err := Train([]Column{{Name: "a", Categories: []string{"x", "y"}}, {Name: "b", Categories: []string{"p", "q"}}},
			[]string{"A", "B"}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = m0.Score([]Column{{Name: "a", Categories: []string{"x"}}, {Name: "b", Categories: []string{"q"}}})
		if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "row 0") {
			t.Errorf("error %v, want one naming row 0", err)
		}
		if _, err := m0.PosteriorSQL("A"); err == nil || !strings.Contains(err.Error(), "α = 0") {
			t.Errorf("SQL of a zero-likelihood model: %v", err)
		}
	})
	t.Run("constant numeric attribute is dropped", func(t *testing.T) {
		mc, err := Train([]Column{{Name: "k", Values: []float64{3, 3, 3, math.NaN()}}, {Name: "a", Categories: []string{"x", "x", "y", "y"}}},
			[]string{"A", "A", "B", "B"}, Options{Alpha: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(mc.Dropped) != 1 || mc.Dropped[0] != "k" || len(mc.Attributes) != 1 {
			t.Errorf("dropped %v, attributes %d", mc.Dropped, len(mc.Attributes))
		}
	})
	bad := []struct {
		name  string
		cols  []Column
		label []string
		opt   Options
		want  string
	}{
		{"no rows", nil, nil, Options{}, "no training rows"},
		{"one class", []Column{{Name: "a", Categories: []string{"x", "y"}}}, []string{"A", "A"}, Options{}, "at least two classes"},
		{"negative alpha", nil, []string{"A", "B"}, Options{Alpha: -1}, "alpha"},
		{"NaN alpha", nil, []string{"A", "B"}, Options{Alpha: math.NaN()}, "alpha"},
		{"length mismatch", []Column{{Name: "a", Categories: []string{"x"}}}, []string{"A", "B"}, Options{}, `"a" has 1 rows`},
		{"both kinds", []Column{{Name: "a", Categories: []string{"x", "y"}, Values: []float64{1, 2}}}, []string{"A", "B"}, Options{}, "exactly one"},
		{"empty label", []Column{{Name: "a", Categories: []string{"x", "y"}}}, []string{"A", ""}, Options{}, "row 1 has no class"},
		{"duplicate column", []Column{{Name: "a", Categories: []string{"x", "y"}}, {Name: "a", Categories: []string{"x", "y"}}}, []string{"A", "B"}, Options{}, "twice"},
		{"infinite value", []Column{{Name: "v", Values: []float64{1, math.Inf(1)}}}, []string{"A", "B"}, Options{}, "row 1 is +Inf"},
		{"class without numeric values", []Column{{Name: "v", Values: []float64{1, 2, math.NaN()}}}, []string{"A", "A", "B"}, Options{}, `class "B"`},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := Train(c.cols, c.label, c.opt)
			if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want ErrInput naming %q", err, c.want)
			}
		})
	}
	t.Run("scoring batch without a model column", func(t *testing.T) {
		if _, err := m.Score(query("Sunny", "Cool", "High")); err == nil || !strings.Contains(err.Error(), `"wind"`) {
			t.Errorf("error %v", err)
		}
	})
}
