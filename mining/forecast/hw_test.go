package forecast

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// readSeries reads testdata/<name>.csv (t,value).
func readSeries(t *testing.T, name string) []float64 {
	t.Helper()
	rows := readCSV(t, name+".csv")
	out := make([]float64, len(rows))
	for i, r := range rows {
		out[i] = parseF(t, r[1])
	}
	return out
}

// readKV reads a key,value file written by r_holtwinters.R.
func readKV(t *testing.T, file string) map[string]string {
	t.Helper()
	kv := map[string]string{}
	for _, r := range readCSV(t, file) {
		kv[r[0]] = strings.TrimSpace(r[1])
	}
	return kv
}

func readCSV(t *testing.T, file string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return rows[1:]
}

func parseF(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func kvF(t *testing.T, kv map[string]string, key string) float64 {
	t.Helper()
	s, ok := kv[key]
	if !ok {
		t.Fatalf("reference has no %q", key)
	}
	return parseF(t, s)
}

func relClose(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

var rCases = []struct {
	name     string
	period   int
	seasonal Seasonality
}{
	{"airpassengers", 12, Multiplicative},
	{"co2", 12, Additive},
	{"short", 4, Additive}, // exactly two seasons, the shortest R fits
}

// TestRecursionMatchesR: with R's own α, β, γ the SSE and the final
// coefficients equal R's, which checks the start-up values and the recursion.
func TestRecursionMatchesR(t *testing.T) {
	for _, c := range rCases {
		t.Run(c.name, func(t *testing.T) {
			x := readSeries(t, c.name)
			r := readKV(t, "r_"+c.name+"_fit.csv")
			p := Params{kvF(t, r, "alpha"), kvF(t, r, "beta"), kvF(t, r, "gamma")}
			m, err := FitParams(x, c.period, c.seasonal, p)
			if err != nil {
				t.Fatal(err)
			}
			if !relClose(m.SSE, kvF(t, r, "SSE"), 1e-10) {
				t.Errorf("SSE %.12g, R %.12g", m.SSE, kvF(t, r, "SSE"))
			}
			if !relClose(m.Level, kvF(t, r, "a"), 1e-10) || !relClose(m.Trend, kvF(t, r, "b"), 1e-9) {
				t.Errorf("a, b = %.12g, %.12g; R %s, %s", m.Level, m.Trend, r["a"], r["b"])
			}
			for i, s := range m.Season {
				if want := kvF(t, r, "s"+strconv.Itoa(i+1)); !relClose(s, want, 1e-10) {
					t.Errorf("s%d = %.12g, R %.12g", i+1, s, want)
				}
			}
		})
	}
}

// TestFitSSENotAboveR: ckm's own fit reaches an SSE no higher than R's
// L-BFGS-B fit (×(1+1e-6)); parameters are logged beside R's.
func TestFitSSENotAboveR(t *testing.T) {
	for _, c := range rCases {
		t.Run(c.name, func(t *testing.T) {
			x := readSeries(t, c.name)
			r := readKV(t, "r_"+c.name+"_fit.csv")
			m, err := Fit(x, c.period, c.seasonal)
			if err != nil {
				t.Fatal(err)
			}
			rSSE := kvF(t, r, "SSE")
			t.Logf("%s: ckm α=%.6f β=%.6f γ=%.6f SSE=%.6f | R α=%.6f β=%.6f γ=%.6f SSE=%.6f",
				c.name, m.Alpha, m.Beta, m.Gamma, m.SSE,
				kvF(t, r, "alpha"), kvF(t, r, "beta"), kvF(t, r, "gamma"), rSSE)
			if m.SSE > rSSE*(1+1e-6) {
				t.Errorf("SSE %.9g above R's %.9g", m.SSE, rSSE)
			}
		})
	}
}
