package mining

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"

	"github.com/ckm-dev/ckm/mining/tree"
)

// The Telco churn data (IBM sample data, Apache-2.0; testdata/telco) and
// the committed seeded 70/30 split Weka J48's figures were measured on.
var (
	//go:embed testdata/telco/Telco-Customer-Churn.csv
	telcoCSV []byte
	//go:embed testdata/telco/split_70_30.csv
	telcoSplitCSV []byte
)

// TelcoSchema reads the Telco columns as the J48 reference's ARFF files
// have them: four numeric attributes, the others nominal, customerID left
// out, Churn the class.
var TelcoSchema = tree.Schema{
	Class:   "Churn",
	Numeric: []string{"SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges"},
	Ignore:  []string{"customerID"},
}

// TelcoSplit returns the built-in Telco data's committed training and test
// sets (4,930 and 2,113 customers; value orders from the whole file, as in
// the ARFF files J48 read), and the file as a table.
func TelcoSplit() (train, test *tree.Dataset, all tree.Table, err error) {
	read := func(b []byte) (tree.Table, error) {
		recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil || len(recs) < 2 {
			return tree.Table{}, fmt.Errorf("telco: built-in CSV: %v", err)
		}
		return tree.Table{Header: recs[0], Rows: recs[1:]}, nil
	}
	if all, err = read(telcoCSV); err != nil {
		return nil, nil, all, err
	}
	split, err := read(telcoSplitCSV)
	if err != nil {
		return nil, nil, all, err
	}
	set := map[string]string{}
	for _, r := range split.Rows {
		set[r[0]] = r[1]
	}
	ds, err := tree.FromTable(all, TelcoSchema)
	if err != nil {
		return nil, nil, all, fmt.Errorf("telco: %w", err)
	}
	var tr, te []int
	for i, r := range all.Rows {
		switch set[r[0]] {
		case "train":
			tr = append(tr, i)
		case "test":
			te = append(te, i)
		default:
			return nil, nil, all, fmt.Errorf("telco: customer %s is in no set of the split", r[0])
		}
	}
	return ds.Subset(tr), ds.Subset(te), all, nil
}
