package main

import (
	"context"
	"strings"

	"github.com/ckm-dev/ckm/engine"
	"github.com/ckm-dev/ckm/mining"
)

// The demo's segmentation part: k-means segments over recency, frequency
// and monetary value with their profiles, stored like `ckm mine segments`.
func init() {
	registerDemoSection(demoSection{Order: 65, Title: "Customer segments: k-means over recency, frequency and monetary value (ckm mine segments --k 4)", Run: demoSegments})
}

func demoSegments(ctx context.Context, a *app, w *engine.Warehouse) ([]string, [][]any, error) {
	res, err := mining.Segments(ctx, w, mining.SegmentsOptions{K: 4, Seed: 1, Name: "demo"})
	if err != nil {
		return nil, nil, err
	}
	sil := 0.0
	if res.Silhouette != nil {
		sil = *res.Silhouette
	}
	a.logf("segments model %d: %d customers as of %s in 4 segments over %s, silhouette %.3f (SELECT ckm_segment_of(%d, [recency, frequency, monetary]))",
		res.ModelID, res.Customers, res.AsOf, strings.Join(res.Features, ", "), sil, res.ModelID)
	header, rows := segmentRows(res)
	return header, rows, nil
}
