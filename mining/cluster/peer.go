package cluster

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// ScikitLearnScript is testdata/bench_sklearn.py, the scikit-learn side of
// the k-means benchmark, for callers (ckm bench mining) that run it from a
// binary.
//
//go:embed testdata/bench_sklearn.py
var ScikitLearnScript string

// PeerFit is scikit-learn's fit of a BenchProblem.
type PeerFit struct {
	FitSeconds float64 `json:"fit_seconds"`
	CPUSeconds float64 `json:"cpu_seconds"`
	Inertia    float64 `json:"inertia"`
	Iterations int     `json:"n_iter"`
	Threads    int     `json:"threads"`
}

// WriteScikitLearn writes the problem and ScikitLearnScript into dir for
// RunScikitLearn and returns the script's path.
func (p BenchProblem) WriteScikitLearn(dir string) (string, error) {
	if err := p.WriteFiles(dir); err != nil {
		return "", err
	}
	script := filepath.Join(dir, "bench_sklearn.py")
	if err := os.WriteFile(script, []byte(ScikitLearnScript), 0o644); err != nil {
		return "", fmt.Errorf("write scikit-learn script: %w", err)
	}
	return script, nil
}

// RunScikitLearn runs script (WriteScikitLearn's) with the given Python
// (Debian's /usr/bin/python3 with python3-sklearn) on the problem in dir on
// threads OpenMP threads, and returns its fit time (data loading excluded),
// inertia and iteration count.
func RunScikitLearn(ctx context.Context, python, script, dir string, threads int) (PeerFit, error) {
	cmd := exec.CommandContext(ctx, python, script, dir, strconv.Itoa(threads))
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return PeerFit{}, fmt.Errorf("scikit-learn: %w: %s", err, ee.Stderr)
		}
		return PeerFit{}, fmt.Errorf("scikit-learn: %w", err)
	}
	var fit PeerFit
	if err := json.Unmarshal(out, &fit); err != nil {
		return PeerFit{}, fmt.Errorf("scikit-learn output %q: %w", out, err)
	}
	return fit, nil
}
