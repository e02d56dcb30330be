package main

import (
	"fmt"
	"math"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// numberRange is the values a numeric mine flag accepts. The mining options
// read 0 as "use the default", so a flag whose 0 would silently become the
// default must be above 0; every bound excludes NaN and ±Inf.
type numberRange struct {
	min, max       float64
	minOpen, isMax bool
}

func (r numberRange) String() string {
	lo := ">="
	if r.minOpen {
		lo = ">"
	}
	s := fmt.Sprintf("a number %s %v", lo, r.min)
	if r.isMax {
		s += fmt.Sprintf(" and <= %v", r.max)
	}
	return s
}

func (r numberRange) holds(v float64) bool {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return false
	case r.minOpen && v <= r.min, v < r.min:
		return false
	case r.isMax && v > r.max:
		return false
	}
	return true
}

var (
	positive    = numberRange{min: 0, minOpen: true}
	nonNegative = numberRange{min: 0}
)

func upTo(r numberRange, max float64) numberRange { r.max, r.isMax = max, true; return r }

// mineFlagRanges are the numeric flags of the mine commands and what each
// accepts.
var mineFlagRanges = map[string]numberRange{
	"window-days":         nonNegative,
	"horizon-weeks":       positive,
	"period-weeks":        positive,
	"discount-rate":       numberRange{min: -1, minOpen: true},
	"margin":              positive,
	"clv-model":           nonNegative,
	"top-deciles":         upTo(numberRange{min: 1}, 10),
	"p-alive-drop":        upTo(positive, 1),
	"silence-factor":      positive,
	"churn-days":          positive,
	"p-alive":             upTo(positive, 1),
	"distributor-amount":  nonNegative,
	"service-cost":        nonNegative,
	"period-days":         positive,
	"history":             positive,
	"min-history":         positive,
	"z":                   positive,
	"jump":                positive,
	"min-change":          nonNegative,
	"min-relative-change": positive,
	"min-support":         upTo(positive, 1),
	"min-confidence":      upTo(positive, 1),
	"min-len":             numberRange{min: 1},
	"max-len":             numberRange{min: 1},
	"cross-sell":          nonNegative,
	"top":                 nonNegative,
	"max-itemsets":        positive,
}

// mineDateFlags are the date flags of the mine commands: the zero date
// (0001-01-01) would read as "not given".
var mineDateFlags = []string{"as-of", "cohort-start", "holdout-end", "from", "to"}

// validateMineFlags checks every numeric and date flag of a mine command,
// whether it came from the command line, the environment or the config.
// A bad value is a usage error naming the flag.
func validateMineFlags(cmd *cobra.Command) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		r, ok := mineFlagRanges[f.Name]
		if !ok || err != nil {
			return
		}
		v, perr := strconv.ParseFloat(f.Value.String(), 64)
		if perr != nil || !r.holds(v) {
			err = usageErrorf("--%s %s: want %s", f.Name, f.Value.String(), r)
		}
	})
	if err != nil {
		return err
	}
	for _, name := range mineDateFlags {
		f := cmd.Flags().Lookup(name)
		if f == nil {
			continue
		}
		t, err := flagDate(name, f.Value.String())
		if err != nil {
			return err
		}
		if f.Value.String() != "" && t.IsZero() {
			return usageErrorf("--%s %s: want a date after 0001-01-01", name, f.Value.String())
		}
	}
	return nil
}
