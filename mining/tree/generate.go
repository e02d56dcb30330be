package tree

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// GenerateChurn draws n customers' features and a churn label from a
// planted model (logistic in recency, frequency, satisfaction, complaints,
// contract and channel, with noise) from seed: the generated feature table
// of the issue #13 benchmark. Satisfaction is missing for about 5 % of the
// customers.
func GenerateChurn(n int, seed uint64) (*Dataset, error) {
	if n < 1 {
		return nil, fmt.Errorf("tree: generate %d customers, need at least 1", n)
	}
	rng := rand.New(rand.NewPCG(seed, 0xc4c5))
	ds := &Dataset{ClassName: "churn", Classes: []string{"no", "yes"}, Class: make([]int, n),
		Attrs: []Attribute{
			{Name: "recency_days", Numeric: true},
			{Name: "frequency", Numeric: true},
			{Name: "monetary", Numeric: true},
			{Name: "tenure_months", Numeric: true},
			{Name: "satisfaction", Numeric: true},
			{Name: "complaints", Numeric: true},
			{Name: "contract", Values: []string{"monthly", "yearly", "two-year"}},
			{Name: "channel", Values: []string{"web", "store", "phone"}},
			{Name: "region", Values: []string{"north", "south", "east", "west"}},
		}}
	ds.Nominal = make([][]int, len(ds.Attrs))
	ds.Numeric = make([][]float64, len(ds.Attrs))
	for a, at := range ds.Attrs {
		if at.Numeric {
			ds.Numeric[a] = make([]float64, n)
		} else {
			ds.Nominal[a] = make([]int, n)
		}
	}
	for i := 0; i < n; i++ {
		recency := math.Floor(rng.ExpFloat64() * 120)
		freq := 1 + math.Floor(rng.ExpFloat64()*6)
		monetary := math.Round(freq*(20+rng.ExpFloat64()*40)*100) / 100
		tenure := math.Floor(rng.Float64() * 72)
		sat := float64(1 + rng.IntN(5))
		complaints := math.Floor(rng.ExpFloat64() * 0.7)
		contract, channel, region := rng.IntN(3), rng.IntN(3), rng.IntN(4)
		z := -1.2 + recency/90 - 0.15*freq + 0.5*(3-sat) + 0.6*complaints - 0.02*tenure
		z += []float64{0.8, -0.4, -1.2}[contract] + []float64{0.3, -0.3, 0}[channel]
		if rng.Float64() < 0.05 {
			sat = math.NaN()
		}
		for a, v := range []float64{recency, freq, monetary, tenure, sat, complaints} {
			ds.Numeric[a][i] = v
		}
		ds.Nominal[6][i], ds.Nominal[7][i], ds.Nominal[8][i] = contract, channel, region
		if rng.Float64() < 1/(1+math.Exp(-z)) {
			ds.Class[i] = 1
		}
	}
	return ds, nil
}

// WriteARFF writes the dataset as a Weka ARFF file (missing values as ?),
// the class last, for peers such as J48.
func (d *Dataset) WriteARFF(w io.Writer, relation string) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	fmt.Fprintf(bw, "@relation %s\n\n", arffQuote(relation))
	for _, at := range d.Attrs {
		if at.Numeric {
			fmt.Fprintf(bw, "@attribute %s numeric\n", arffQuote(at.Name))
			continue
		}
		fmt.Fprintf(bw, "@attribute %s {%s}\n", arffQuote(at.Name), arffList(at.Values))
	}
	fmt.Fprintf(bw, "@attribute %s {%s}\n\n@data\n", arffQuote(d.ClassName), arffList(d.Classes))
	for i := 0; i < d.Rows(); i++ {
		for a, at := range d.Attrs {
			switch {
			case at.Numeric && math.IsNaN(d.Numeric[a][i]):
				bw.WriteString("?")
			case at.Numeric:
				bw.WriteString(strconv.FormatFloat(d.Numeric[a][i], 'g', -1, 64))
			case d.Nominal[a][i] < 0:
				bw.WriteString("?")
			default:
				bw.WriteString(arffQuote(at.Values[d.Nominal[a][i]]))
			}
			bw.WriteByte(',')
		}
		bw.WriteString(arffQuote(d.Classes[d.Class[i]]))
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

func arffQuote(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

func arffList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = arffQuote(v)
	}
	return strings.Join(q, ",")
}
