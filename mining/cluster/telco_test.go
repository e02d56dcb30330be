package cluster

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// sklearnRef is testdata/telco_kmeans.json, written by telco_kmeans.py.
type sklearnRef struct {
	Rows       int         `json:"rows"`
	Dropped    []string    `json:"dropped"`
	Mean       []float64   `json:"mean"`
	Scale      []float64   `json:"scale"`
	Init       [][]float64 `json:"init"`
	Centers    [][]float64 `json:"centers"`
	Inertia    float64     `json:"inertia"`
	NIter      int         `json:"n_iter"`
	Silhouette float64     `json:"silhouette"`
	Labels     string      `json:"labels"`
}

const telcoCSV = "../testdata/telco/Telco-Customer-Churn.csv"

var telcoFeatures = []string{"tenure", "MonthlyCharges", "TotalCharges"}

func loadRef(t *testing.T) sklearnRef {
	t.Helper()
	b, err := os.ReadFile("testdata/telco_kmeans.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref sklearnRef
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

// loadTelco reads the three numeric features, dropping (and returning) the
// customers with a blank TotalCharges, as telco_kmeans.py does.
func loadTelco(t *testing.T) (Matrix, []string) {
	t.Helper()
	f, err := os.Open(telcoCSV)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	idx := map[string]int{}
	for i, h := range recs[0] {
		idx[h] = i
	}
	cols := make([][]float64, len(telcoFeatures))
	var dropped []string
	for _, r := range recs[1:] {
		if strings.TrimSpace(r[idx["TotalCharges"]]) == "" {
			dropped = append(dropped, r[idx["customerID"]])
			continue
		}
		for j, name := range telcoFeatures {
			v, err := strconv.ParseFloat(r[idx[name]], 64)
			if err != nil {
				t.Fatal(err)
			}
			cols[j] = append(cols[j], v)
		}
	}
	x, err := FromColumns(telcoFeatures, cols)
	if err != nil {
		t.Fatal(err)
	}
	return x, dropped
}

func relDiff(a, b float64) float64 {
	if a == b {
		return 0
	}
	return math.Abs(a-b) / math.Max(math.Abs(a), math.Abs(b))
}

// TestTelcoMatchesScikitLearn runs ckm's k-means from scikit-learn's fixed
// initial centroids on the same standardised Telco features and asserts the
// committed scikit-learn centroids, inertia and iteration count within 1e-6
// relative (they agree far closer), every label, and the exact silhouette —
// for Lloyd and Hamerly, on one and two goroutines.
func TestTelcoMatchesScikitLearn(t *testing.T) {
	ref := loadRef(t)
	raw, dropped := loadTelco(t)
	if raw.Rows != ref.Rows || strings.Join(dropped, ",") != strings.Join(ref.Dropped, ",") {
		t.Fatalf("kept %d rows, dropped %v; scikit-learn kept %d, dropped %v", raw.Rows, dropped, ref.Rows, ref.Dropped)
	}
	z, scaling, err := Standardize(raw, telcoFeatures)
	if err != nil {
		t.Fatal(err)
	}
	for j := range telcoFeatures {
		if relDiff(scaling.Mean[j], ref.Mean[j]) > 1e-12 || relDiff(scaling.Scale[j], ref.Scale[j]) > 1e-12 {
			t.Errorf("%s: mean %v scale %v, StandardScaler %v %v", telcoFeatures[j], scaling.Mean[j], scaling.Scale[j], ref.Mean[j], ref.Scale[j])
		}
	}
	for _, alg := range []Algorithm{Lloyd, Hamerly, Elkan} {
		for _, threads := range []int{1, 2} {
			res, err := KMeans(context.Background(), z, Options{K: 4, Init: ref.Init, Algorithm: alg, Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			if res.Iterations != ref.NIter || !res.Converged {
				t.Errorf("%s/%d: %d iterations (converged %v), scikit-learn %d", alg, threads, res.Iterations, res.Converged, ref.NIter)
			}
			if d := relDiff(res.Inertia, ref.Inertia); d > 1e-6 {
				t.Errorf("%s/%d: inertia %v, scikit-learn %v (rel %g)", alg, threads, res.Inertia, ref.Inertia, d)
			}
			for c := range ref.Centers {
				for j := range ref.Centers[c] {
					if d := relDiff(res.Centroids[c][j], ref.Centers[c][j]); d > 1e-6 {
						t.Errorf("%s/%d: centroid %d[%d] = %v, scikit-learn %v", alg, threads, c, j, res.Centroids[c][j], ref.Centers[c][j])
					}
				}
			}
			mismatch := 0
			for i, l := range res.Labels {
				if byte('0'+l) != ref.Labels[i] {
					mismatch++
				}
			}
			if mismatch > 0 {
				t.Errorf("%s/%d: %d of %d labels differ from scikit-learn's", alg, threads, mismatch, len(res.Labels))
			}
			if alg == Lloyd && threads == 2 {
				sil, err := Silhouette(z, res.Labels, 4)
				if err != nil {
					t.Fatal(err)
				}
				if d := relDiff(sil, ref.Silhouette); d > 1e-9 {
					t.Errorf("silhouette %v, scikit-learn %v", sil, ref.Silhouette)
				}
			}
		}
	}
}
