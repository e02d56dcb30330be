# Reference figures for mining/evaluate from scikit-learn.
# Run (in this folder): /usr/bin/python3 sklearn_metrics.py
# Writes cases.csv (a seeded fixture: three-class actual/predicted labels and a
# binary label with a score rounded to two decimals, so scores tie) and
# sklearn_metrics.csv (scikit-learn 1.2.1's confusion matrix, accuracy,
# per-class precision/recall/F1/support and ROC AUC; gains by decile computed
# here with numpy by mining/evaluate's documented rule: rows ordered by score
# descending, ties kept in input order, decile k holding ranks
# floor((k-1)n/10) .. floor(kn/10)-1).
import csv, random
import numpy as np
import sklearn
from sklearn.metrics import confusion_matrix, accuracy_score, precision_recall_fscore_support, roc_auc_score

rng = random.Random(20261201)
n = 437
labels = ["A", "B", "C"]
rows = []
for i in range(n):
    a = rng.choices(labels, weights=[5, 3, 2])[0]
    p = a if rng.random() < 0.6 else rng.choice(labels)
    pos = rng.random() < 0.3
    s = round(min(1.0, max(0.0, rng.gauss(0.62 if pos else 0.45, 0.18))), 2)
    rows.append((a, p, "1" if pos else "0", s))
with open("cases.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["actual", "predicted", "positive", "score"])
    for r in rows:
        w.writerow([r[0], r[1], r[2], f"{r[3]:.2f}"])

# Read back what was written, so the figures are for the file's values.
rows = list(csv.DictReader(open("cases.csv", newline="")))
act = [r["actual"] for r in rows]; pre = [r["predicted"] for r in rows]
y = np.array([int(r["positive"]) for r in rows]); s = np.array([float(r["score"]) for r in rows])
out = [("sklearn_version", sklearn.__version__), ("n", n)]
cm = confusion_matrix(act, pre, labels=labels)
for i, a in enumerate(labels):
    for j, p in enumerate(labels):
        out.append((f"confusion_{a}_{p}", int(cm[i, j])))
out.append(("accuracy", repr(float(accuracy_score(act, pre)))))
P, R, F, S = precision_recall_fscore_support(act, pre, labels=labels, zero_division=0)
for k, c in enumerate(labels):
    out += [(f"precision_{c}", repr(float(P[k]))), (f"recall_{c}", repr(float(R[k]))),
            (f"f1_{c}", repr(float(F[k]))), (f"support_{c}", int(S[k]))]
out.append(("roc_auc", repr(float(roc_auc_score(y, s)))))
order = np.argsort(-s, kind="stable")
tot = y.sum(); cum = 0
for k in range(1, 11):
    lo, hi = (k - 1) * n // 10, k * n // 10
    hits = int(y[order[lo:hi]].sum()); cum += hits
    out += [(f"decile{k}_rows", hi - lo), (f"decile{k}_positives", hits),
            (f"decile{k}_cum_gain", repr(cum / tot)),
            (f"decile{k}_lift", repr((hits / (hi - lo)) / (tot / n))),
            (f"decile{k}_cum_lift", repr((cum / hi) / (tot / n)))]
with open("sklearn_metrics.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["key", "value"])
    w.writerows(out)
