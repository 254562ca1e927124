package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Scheduler variables that carry the index of one task of an array job.
const (
	envK8sIndex   = "JOB_COMPLETION_INDEX" // Kubernetes indexed Job (completionMode: Indexed), 0-based
	envSlurmIndex = "SLURM_ARRAY_TASK_ID"  // Slurm job array (sbatch --array=0-(n-1))
)

// getenv is os.Getenv; tests replace it.
var getenv = os.Getenv

// shard selects rows Index, Index+Count, Index+2 Count, ... of a run.
type shard struct {
	Index, Count int
	From         string // where Index came from: "flag", JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID
}

// String is the resolved spec "i/n", which replays the same shard.
func (s shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// parseShard reads the -shard flag: "" (the whole run), "i/n", or "auto/n",
// which takes i from JOB_COMPLETION_INDEX or, if unset, SLURM_ARRAY_TASK_ID.
// Every failure is a usage error (exit 2).
func parseShard(spec string) (shard, error) {
	if spec == "" {
		return shard{0, 1, "flag"}, nil
	}
	idx, cnt, ok := strings.Cut(spec, "/")
	if !ok || strings.Contains(cnt, "/") {
		return shard{}, usagef("-shard %q: want i/n (for example 0/4) or auto/n", spec)
	}
	n, err := strconv.Atoi(strings.TrimSpace(cnt))
	if err != nil || n < 1 {
		return shard{}, usagef("-shard %q: the shard count after / must be a whole number >= 1", spec)
	}
	s := shard{Count: n, From: "flag"}
	idx = strings.TrimSpace(idx)
	if idx == "auto" {
		var val string
		for _, name := range []string{envK8sIndex, envSlurmIndex} {
			if v, set := lookupEnv(name); set {
				s.From, val = name, strings.TrimSpace(v)
				break
			}
		}
		if s.From == "flag" {
			return shard{}, usagef("-shard %s: neither %s nor %s is set; run it as a Kubernetes indexed Job or a Slurm array task, or give the index (for example -shard 0/%d)", spec, envK8sIndex, envSlurmIndex, n)
		}
		i, err := strconv.Atoi(val)
		if err != nil || i < 0 {
			return shard{}, usagef("-shard %s: %s=%q is not a whole number >= 0", spec, s.From, val)
		}
		if i >= n {
			hint := "set the Job's completions to the shard count"
			if s.From == envSlurmIndex {
				hint = fmt.Sprintf("submit the array as --array=0-%d", n-1)
			}
			return shard{}, usagef("-shard %s: %s=%d is not below the shard count %d; %s", spec, s.From, i, n, hint)
		}
		s.Index = i
		return s, nil
	}
	i, err := strconv.Atoi(idx)
	if err != nil || i < 0 {
		return shard{}, usagef("-shard %q: the index before / must be a whole number >= 0 or auto", spec)
	}
	if i >= n {
		return shard{}, usagef("-shard %s: index %d is not below the shard count %d; shards are numbered 0 to %d", spec, i, n, n-1)
	}
	s.Index = i
	return s, nil
}

// lookupEnv reports a variable through getenv (so tests can stub it); an
// empty value counts as unset, as schedulers never set one empty.
func lookupEnv(name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

// rows returns the number of rows of a total-row run that this shard holds.
func (s shard) rows(total int) int {
	if total <= s.Index {
		return 0
	}
	return (total - s.Index + s.Count - 1) / s.Count
}

// row returns the global index of this shard's k-th row.
func (s shard) row(k int) int { return s.Index + k*s.Count }

// check rejects a split with more shards than rows: some task would write
// an empty file, which is a mistake in the job rather than a result.
func (s shard) check(total int, what string) error {
	if s.Count > total {
		return usagef("-shard %s: %d %s do not split into %d shards (shard %d would be empty); use at most %d shards",
			s, total, what, s.Count, total, total)
	}
	return nil
}
