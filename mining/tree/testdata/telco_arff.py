# Converts the Telco churn data and its committed 70/30 split to the two ARFF
# files Weka J48 reads, with the attribute types ckm's tree tests use:
#   numeric: SeniorCitizen, tenure, MonthlyCharges, TotalCharges (blank → ?)
#   nominal: every other column but customerID, values in order of first
#            appearance in the file; Churn (No, Yes) is the class, last.
# Run (standard library only):
#   /usr/bin/python3 telco_arff.py OUTDIR   → OUTDIR/train.arff, OUTDIR/test.arff
import csv, os, sys

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../testdata/telco")
NUMERIC = {"SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges"}

rows = list(csv.DictReader(open(os.path.join(DATA, "Telco-Customer-Churn.csv"), newline="")))
split = {r["customerID"]: r["set"] for r in csv.DictReader(open(os.path.join(DATA, "split_70_30.csv"), newline=""))}
cols = [c for c in rows[0].keys() if c != "customerID"]
values = {c: [] for c in cols if c not in NUMERIC}
for r in rows:
    for c in values:
        if r[c] not in values[c]:
            values[c].append(r[c])

def header(name):
    out = [f"@relation telco-{name}", ""]
    for c in cols:
        if c in NUMERIC:
            out.append(f"@attribute {c} numeric")
        else:
            out.append(f"@attribute {c} {{" + ",".join(f"'{v}'" for v in values[c]) + "}")
    return "\n".join(out) + "\n\n@data\n"

def cell(c, v):
    v = v.strip()
    if v == "":
        return "?"
    return v if c in NUMERIC else f"'{v}'"

outdir = sys.argv[1]
for name in ("train", "test"):
    with open(os.path.join(outdir, name + ".arff"), "w") as f:
        f.write(header(name))
        for r in rows:
            if split[r["customerID"]] == name:
                f.write(",".join(cell(c, r[c]) for c in cols) + "\n")
