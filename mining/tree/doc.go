// Package tree is ckm's decision-tree core: ID3 (Quinlan 1986, with
// windowing as an option) and C4.5 as Weka's J48 builds it, printing as an
// indented tree and as IF-THEN rules, class probabilities at the leaves, and
// a DuckDB CASE expression that scores rows exactly as the Go tree does.
//
// It works on column batches held in memory (a Dataset) and needs no
// warehouse: the mining operators read features with DuckDB, call this
// package, and store the tree and its SQL in the knowledge base.
//
// What the C4.5 build implements, following J48 (Weka 3.6, defaults
// -C 0.25 -M 2): gain ratio among the splits whose information gain is at
// least the average gain of all valid splits (less 1e-3); nominal attributes
// split into one branch per value, numeric ones binary at the best
// threshold with the MDL correction log2(candidates)/N, the threshold moved
// to the largest training value not above the midpoint; at least two
// branches with M (2) instances, numeric minimum 10 % of the node per class
// clipped to [M, 25]; missing values as fractional instances (C4.5's
// unknown-rate discount of the gain, a separate "unknown" term in the split
// information, instances sent down every branch weighted by the branch
// sizes, and the same at scoring); collapsing of subtrees that do not lower
// the training error; error-based pruning with confidence 0.25 (the upper
// confidence limit of the binomial, Stats.addErrs) with subtree raising of
// the largest branch. Laplace smoothing, reduced-error pruning and binary
// nominal splits (J48 options off by default) are not implemented.
package tree
