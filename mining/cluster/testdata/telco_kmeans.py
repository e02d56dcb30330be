# scikit-learn reference for ckm's k-means: KMeans(lloyd, n_init=1, fixed
# initial centroids) on the Telco customers' standardised numeric features.
#
# Run (Debian python3-sklearn, not the pyenv python3):
#   cd mining/cluster/testdata && /usr/bin/python3 telco_kmeans.py > telco_kmeans.json
#
# Data: ../../testdata/telco/Telco-Customer-Churn.csv, features tenure,
# MonthlyCharges, TotalCharges. The 11 customers with a blank TotalCharges
# (all with tenure 0: not yet billed) are dropped, leaving 7,032 rows.
# Standardisation: z-score with the population standard deviation (ddof 0),
# as StandardScaler does. Initial centroids: the standardised rows of the
# four customers in INIT_IDS (file positions 0, 1757, 3515, 5273 of the kept
# rows). tol 1e-4 and max_iter 300 are scikit-learn's defaults.
import csv, json, sys
import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

FEATURES = ["tenure", "MonthlyCharges", "TotalCharges"]
INIT_IDS = ["7590-VHVEG", "9470-XCCEM", "2550-AEVRU", "3049-SOLAY"]

rows = list(csv.DictReader(open("../../testdata/telco/Telco-Customer-Churn.csv", newline="")))
dropped = [r["customerID"] for r in rows if not r["TotalCharges"].strip()]
rows = [r for r in rows if r["TotalCharges"].strip()]
ids = [r["customerID"] for r in rows]
X = np.array([[float(r[f]) for f in FEATURES] for r in rows], dtype=np.float64)
scaler = StandardScaler().fit(X)
Z = scaler.transform(X)
init = Z[[ids.index(i) for i in INIT_IDS]]
km = KMeans(n_clusters=4, init=init, n_init=1, algorithm="lloyd", tol=1e-4, max_iter=300).fit(Z)
json.dump({
    "sklearn": sklearn.__version__,
    "numpy": np.__version__,
    "features": FEATURES,
    "rows": len(rows),
    "dropped": dropped,
    "mean": scaler.mean_.tolist(),
    "scale": scaler.scale_.tolist(),
    "init_ids": INIT_IDS,
    "init": init.tolist(),
    "tol": 1e-4,
    "max_iter": 300,
    "centers": km.cluster_centers_.tolist(),
    "inertia": float(km.inertia_),
    "n_iter": int(km.n_iter_),
    "silhouette": float(silhouette_score(Z, km.labels_)),  # exact, all rows
    "labels": "".join(str(l) for l in km.labels_),  # one digit per kept row, in file order
}, sys.stdout, indent=1)
print()
