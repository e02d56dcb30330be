//go:build !unix

package etl

import "os"

// makeStageDir makes a load's staging folder in dir; release removes it.
func makeStageDir(dir string) (path string, release func(), err error) {
	if path, err = os.MkdirTemp(dir, stagePrefix); err != nil {
		return "", nil, err
	}
	return path, func() { os.RemoveAll(path) }, nil
}

// sweepStageDirs removes nothing: without flock, whether a folder's load
// still runs cannot be told.
func sweepStageDirs(string) sweptStage { return sweptStage{} }
