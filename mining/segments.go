package mining

import (
	"fmt"
	"strings"
)

// SegmentRule maps a block of the RFM grid to a named segment. The grid has
// the recency score R (5 = most recent) on one axis and the FM score on the
// other, where FM = ceil((F + M) / 2) joins frequency and monetary value.
type SegmentRule struct {
	Segment      string
	RMin, RMax   int
	FMMin, FMMax int
	Meaning      string
}

// SegmentRules is the documented mapping from (R, FM) to segment; every one
// of the 25 cells belongs to exactly one rule:
//
//	R\FM   1               2                    3                    4           5
//	5      new customers   potential loyalists  potential loyalists  champions   champions
//	4      promising       potential loyalists  potential loyalists  loyal       loyal
//	3      about to sleep  about to sleep       need attention       loyal       loyal
//	2      hibernating     hibernating          at risk              at risk     can't lose
//	1      lost            hibernating          at risk              at risk     can't lose
var SegmentRules = []SegmentRule{
	{"champions", 5, 5, 4, 5, "bought recently, buy often and spend the most"},
	{"loyal", 3, 4, 4, 5, "buy often and spend much, fairly recently"},
	{"potential loyalists", 4, 5, 2, 3, "recent customers with average frequency and spend"},
	{"new customers", 5, 5, 1, 1, "bought very recently, but little so far"},
	{"promising", 4, 4, 1, 1, "recent shoppers who have not spent much"},
	{"need attention", 3, 3, 3, 3, "average recency, frequency and spend"},
	{"about to sleep", 3, 3, 1, 2, "below average, slipping away"},
	{"can't lose", 1, 2, 5, 5, "used to buy most often and spend most, but not for a long time"},
	{"at risk", 1, 2, 3, 4, "spent much and bought often, but long ago"},
	{"hibernating", 2, 2, 1, 2, "low spenders, last purchase long ago"},
	{"hibernating", 1, 1, 2, 2, "low spenders, last purchase long ago"},
	{"lost", 1, 1, 1, 1, "lowest recency, frequency and spend"},
}

// Segment returns the segment of an (R, FM) cell, or "" outside the grid.
func Segment(r, fm int) string {
	for _, s := range SegmentRules {
		if r >= s.RMin && r <= s.RMax && fm >= s.FMMin && fm <= s.FMMax {
			return s.Segment
		}
	}
	return ""
}

// segmentCaseSQL renders SegmentRules as a SQL CASE over the given score columns.
func segmentCaseSQL(r, fm string) string {
	var b strings.Builder
	b.WriteString("CASE")
	for _, s := range SegmentRules {
		fmt.Fprintf(&b, " WHEN %s BETWEEN %d AND %d AND %s BETWEEN %d AND %d THEN '%s'",
			r, s.RMin, s.RMax, fm, s.FMMin, s.FMMax, strings.ReplaceAll(s.Segment, "'", "''"))
	}
	b.WriteString(" END")
	return b.String()
}
