# Seeded stratified 70/30 split of the Telco churn customers (by Churn).
# Run: python3 split.py > split_70_30.csv   (Python 3 standard library only)
import csv, random
rows = list(csv.DictReader(open("Telco-Customer-Churn.csv", newline="")))
rng = random.Random(20261201)
out = []
for cls in ("No", "Yes"):
    ids = sorted(r["customerID"] for r in rows if r["Churn"] == cls)
    rng.shuffle(ids)
    ntrain = round(0.7 * len(ids))
    out += [(i, "train") for i in ids[:ntrain]] + [(i, "test") for i in ids[ntrain:]]
print("customerID,set")
for i, s in sorted(out):
    print(f"{i},{s}")
