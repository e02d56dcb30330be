# scikit-learn side of ckm's k-means benchmark (issue #12): fits
# KMeans(lloyd, n_init=1) from the same initial centroids, tol and max_iter
# on the problem BenchProblem.WriteFiles wrote, on THREADS OpenMP threads,
# and prints the fit time alone (data loading excluded; wall and process
# CPU seconds), inertia and iteration count as JSON.
#   /usr/bin/python3 bench_sklearn.py DIR THREADS
import json, os, sys, time
d, threads = sys.argv[1], sys.argv[2]
os.environ["OMP_NUM_THREADS"] = threads
import numpy as np
from threadpoolctl import threadpool_limits
from sklearn.cluster import KMeans

meta = json.load(open(os.path.join(d, "problem.json")))
X = np.fromfile(os.path.join(d, "x.f64"), dtype="<f8").reshape(meta["rows"], meta["cols"])
init = np.fromfile(os.path.join(d, "init.f64"), dtype="<f8").reshape(meta["k"], meta["cols"])
km = KMeans(n_clusters=meta["k"], init=init, n_init=1, algorithm="lloyd", tol=meta["tol"], max_iter=meta["max_iter"])
with threadpool_limits(limits=int(threads), user_api="openmp"):
    c0, t0 = time.process_time(), time.perf_counter()
    km.fit(X)
    fit, cpu = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"fit_seconds": fit, "cpu_seconds": cpu, "inertia": float(km.inertia_), "n_iter": int(km.n_iter_), "threads": int(threads)}))
