package tree

import (
	"context"
	"testing"
)

// BenchmarkC45Telco is the build time J48 reports as "Time taken to build
// model" (testdata/telco_j48.json): C4.5 on the 4,930 training customers.
//
//	go test ./mining/tree -run XXX -bench C45Telco -benchtime 20x
func BenchmarkC45Telco(b *testing.B) {
	train, _, _ := loadTelco(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := C45(context.Background(), train, C45Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkC45Generated(b *testing.B) {
	ds, err := GenerateChurn(1_000_000, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr, err := C45(context.Background(), ds, C45Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(tr.Size()), "nodes")
	}
}
