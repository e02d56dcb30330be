package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckm-dev/ckm/mining"
)

// supervisedFlags are the flags ckm mine tree and bayes share: the cases
// (--source, or the warehouse recipe of warehouseCaseFlags), the label,
// features and id columns, the split, the positive class, the model's name
// and the dry run. The fields point into the command's options.
type supervisedFlags struct {
	Source       *mining.Source
	ID           *string
	TestFraction *float64
	Seed         *uint64
	SplitCol     *string
	Positive     *string
	Name         *string
	DryRun       *bool
	From         *mining.FeatureOptions

	seed  int
	cases warehouseCaseFlags
}

// add registers the flags; seedHelp describes --seed.
func (s *supervisedFlags) add(cmd *cobra.Command, seedHelp string) {
	fl := cmd.Flags()
	fl.StringVar(&s.Source.Table, "source", "", "table or SELECT of the cases: features and a label (or --label-sql)")
	fl.StringVar(&s.Source.Label, "label", "label", "class label column")
	fl.StringVar(&s.Source.Features, "features", "", "feature columns, comma-separated (default: every column but label, id and split)")
	fl.StringVar(s.ID, "id", "", "case id column, left out of the features")
	fl.Float64Var(s.TestFraction, "test-fraction", 0.3, "share of each class held out for testing, in (0, 1)")
	fl.IntVar(&s.seed, "seed", 1, seedHelp)
	fl.StringVar(s.SplitCol, "split-col", "", "column saying train or test per row, in place of the seeded split")
	fl.StringVar(s.Positive, "positive", "", "class scored for AUC and lift (default the rarer class in training)")
	fl.StringVar(s.Name, "name", "", "model name in kb_model")
	fl.BoolVar(s.DryRun, "dry-run", false, "learn and evaluate without writing to the knowledge base")
	s.cases.add(cmd)
}

// resolve checks the shared flags (usage errors naming the flag), fills the
// seed and the warehouse recipe, and hands --source to runMine for vetting.
func (s *supervisedFlags) resolve(cmd *cobra.Command) error {
	if err := s.cases.resolve(s.Source.Table, s.From); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(s.Source.Label) == "":
		return usageErrorf("--label: give the class label column")
	case !(*s.TestFraction > 0 && *s.TestFraction < 1):
		return usageErrorf("--test-fraction %v: want a number > 0 and < 1", *s.TestFraction)
	case s.seed < 0:
		return usageErrorf("--seed %d: want 0 or more", s.seed)
	}
	*s.Seed = uint64(s.seed)
	vetSourceInRun(cmd, *s.Source)
	return nil
}
