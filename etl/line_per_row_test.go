package etl

import "testing"

// TestLinePerRow: a load's staged lines are one row each — so identity's
// records and edges need no DISTINCT — only when no file is JSON (items
// share their order line), raw, joined or read again for a join, and the
// full path is not asked for.
func TestLinePerRow(t *testing.T) {
	csv := func(target string) *fileJob {
		return &fileJob{FileReport: FileReport{Target: target, Format: "csv"}, m: &Mapping{Target: target}}
	}
	json := &fileJob{FileReport: FileReport{Target: "sales", Format: "json"}, m: &Mapping{Target: "sales", Items: "items"}}
	ndjson := &fileJob{FileReport: FileReport{Target: "customers", Format: "ndjson"}, m: &Mapping{Target: "customers"}}
	joined := csv("sales")
	joined.m.Joins = []Join{{Name: "items"}}
	joinFile := csv("sales")
	joinFile.m.joinOf = &Mapping{}
	for _, tc := range []struct {
		name string
		l    loader
		want bool
	}{
		{"delimited sales and customers", loader{jobs: []*fileJob{csv("sales"), csv("customers")}}, true},
		{"parquet sales", loader{jobs: []*fileJob{{FileReport: FileReport{Target: "sales", Format: "parquet"}, m: &Mapping{Target: "sales"}}}}, true},
		{"JSON orders with items", loader{jobs: []*fileJob{csv("customers"), json}}, false},
		{"NDJSON customers", loader{jobs: []*fileJob{csv("sales"), ndjson}}, false},
		{"a mapping with joins", loader{jobs: []*fileJob{joined}}, false},
		{"a joined file", loader{jobs: []*fileJob{csv("sales"), joinFile}}, false},
		{"a joined file read again", loader{jobs: []*fileJob{csv("sales")}, refs: []*fileJob{csv("sales")}}, false},
		{"raw lines staged in SQL", loader{jobs: []*fileJob{csv("sales")}, raws: []rawJob{{job: csv("sales")}}}, false},
		{"the full path", loader{jobs: []*fileJob{csv("sales")}, opts: Options{everyStep: true}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.l.linePerRow(); got != tc.want {
				t.Errorf("linePerRow = %v, want %v", got, tc.want)
			}
		})
	}
}
