// Package cluster is ckm's k-means core: standardisation with the scaling
// kept, k-means++ seeding from a seed, Lloyd's and Hamerly's algorithms with
// scikit-learn's tolerance, iteration cap and empty-cluster relocation,
// several restarts, inertia, exact and sampled silhouette, a k-selection
// report, segment profiles with readable labels, nearest-centroid
// assignment, and the DuckDB SQL expression that assigns a row to the
// nearest stored centroid exactly as Assign does.
//
// It works on column batches held in memory and needs no warehouse: the
// mining operators read the features with DuckDB, call this package, and
// store centroids, scaling and segments in the knowledge base.
package cluster
