package tree

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
)

// J48Result is what Weka's J48 reports on a train/test pair.
type J48Result struct {
	BuildSeconds float64 // "Time taken to build model" (JVM start-up excluded)
	TestAccuracy float64 // percent correct on the test set
	TestCorrect  int
	Size, Leaves int
	Output       string // J48's whole output
}

// RunJ48 writes train and test as ARFF into dir and runs Weka's J48 with
// its defaults (-C 0.25 -M 2, no cross-validation) through java and the
// Weka jar (Debian: /usr/share/java/weka.jar). heap is the JVM's -Xmx
// (e.g. "8g"; empty for Java's default).
func RunJ48(ctx context.Context, java, jar, heap, dir string, train, test *Dataset) (J48Result, error) {
	paths := map[string]*Dataset{filepath.Join(dir, "train.arff"): train, filepath.Join(dir, "test.arff"): test}
	for path, ds := range paths {
		f, err := os.Create(path)
		if err != nil {
			return J48Result{}, fmt.Errorf("write ARFF: %w", err)
		}
		err = ds.WriteARFF(f, filepath.Base(path))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return J48Result{}, fmt.Errorf("write ARFF %s: %w", path, err)
		}
	}
	args := []string{"-cp", jar, "weka.classifiers.trees.J48", "-C", "0.25", "-M", "2",
		"-t", filepath.Join(dir, "train.arff"), "-T", filepath.Join(dir, "test.arff"), "-no-cv"}
	if heap != "" {
		args = append([]string{"-Xmx" + heap}, args...)
	}
	out, err := exec.CommandContext(ctx, java, args...).CombinedOutput()
	if err != nil {
		return J48Result{}, fmt.Errorf("J48: %w: %s", err, out)
	}
	return parseJ48(string(out))
}

var (
	j48Build   = regexp.MustCompile(`Time taken to build model: ([0-9.]+) seconds`)
	j48Correct = regexp.MustCompile(`Correctly Classified Instances\s+(\d+)\s+([0-9.]+)\s+%`)
	j48Size    = regexp.MustCompile(`Size of the tree :\s+(\d+)`)
	j48Leaves  = regexp.MustCompile(`Number of Leaves\s+:\s+(\d+)`)
)

// parseJ48 reads J48's figures; the test set's "Correctly Classified" line
// is the last one.
func parseJ48(out string) (J48Result, error) {
	r := J48Result{Output: out}
	b := j48Build.FindStringSubmatch(out)
	c := j48Correct.FindAllStringSubmatch(out, -1)
	s := j48Size.FindStringSubmatch(out)
	l := j48Leaves.FindStringSubmatch(out)
	if b == nil || c == nil || s == nil || l == nil {
		return r, fmt.Errorf("J48 output without its build time, accuracy or tree size:\n%s", out)
	}
	r.BuildSeconds, _ = strconv.ParseFloat(b[1], 64)
	last := c[len(c)-1]
	r.TestCorrect, _ = strconv.Atoi(last[1])
	r.TestAccuracy, _ = strconv.ParseFloat(last[2], 64)
	r.Size, _ = strconv.Atoi(s[1])
	r.Leaves, _ = strconv.Atoi(l[1])
	return r, nil
}
