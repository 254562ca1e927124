package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/sdekit/sdekit/data"
)

// fencedBlocks returns the bodies of the ```lang blocks of a markdown file.
func fencedBlocks(t *testing.T, path, lang string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```")
	var out []string
	for _, m := range re.FindAllStringSubmatch(string(raw), -1) {
		out = append(out, m[1])
	}
	return out
}

// indexedJob is the part of a Kubernetes Job manifest the test checks.
type indexedJob struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Spec       struct {
		CompletionMode string `yaml:"completionMode"`
		Completions    int    `yaml:"completions"`
		Parallelism    int    `yaml:"parallelism"`
		Template       struct {
			Spec struct {
				RestartPolicy string `yaml:"restartPolicy"`
				Containers    []struct {
					Command []string `yaml:"command"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// flagValue returns the value after -name in args.
func flagValue(args []string, name string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "-"+name {
			return args[i+1]
		}
	}
	return ""
}

// runDocumentedShard runs a documented shard command in-process with the
// scheduler variable set to index, a smaller -n and the output folder moved
// to dir, and checks it writes its share of the rows.
func runDocumentedShard(t *testing.T, args []string, envName, outDir, dir string, index, shards int) {
	t.Helper()
	const n = 100 // rows in all for the test run; shards divide it
	args = append([]string(nil), args...)
	for i := range args {
		if strings.HasPrefix(args[i], outDir+"/") {
			args[i] = dir + args[i][len(outDir):]
		}
		if i > 0 && args[i-1] == "-n" {
			args[i] = strconv.Itoa(n)
		}
	}
	old := getenv
	getenv = func(k string) string {
		if k == envName {
			return strconv.Itoa(index)
		}
		return ""
	}
	defer func() { getenv = old }()
	code, _, errs := cli(t, context.Background(), args...)
	if code != 0 {
		t.Fatalf("documented command %v: exit %d: %s", args, code, errs)
	}
	out := flagValue(args, "o")
	tab, err := data.Load(out)
	if err != nil {
		t.Fatalf("documented command wrote no readable %s: %v", out, err)
	}
	if want := (n - index + shards - 1) / shards; tab.N != want {
		t.Fatalf("shard %d of %d wrote %d rows, want %d", index, shards, tab.N, want)
	}
	if rec := flagValue(args, "record"); rec != "" {
		if _, err := os.Stat(rec); err != nil {
			t.Fatalf("no run record: %v", err)
		}
	}
}

// TestScaleOutKubernetes parses the indexed Job manifest of
// docs/scale-out.md, checks completionMode Indexed, that the completions
// count is the shard count of the command, that the command is a 50,000
// sample run with a per-index output, and runs that command (smaller) as
// index 7 would.
func TestScaleOutKubernetes(t *testing.T) {
	var job indexedJob
	found := false
	for _, b := range fencedBlocks(t, "../../docs/scale-out.md", "yaml") {
		var j indexedJob
		if err := yaml.Unmarshal([]byte(b), &j); err != nil {
			t.Fatalf("a YAML block of docs/scale-out.md does not parse: %v", err)
		}
		if j.Spec.CompletionMode != "" || j.Spec.Completions > 1 {
			job, found = j, true
			break
		}
	}
	if !found {
		t.Fatal("docs/scale-out.md has no indexed Job manifest")
	}
	if job.APIVersion != "batch/v1" || job.Kind != "Job" {
		t.Errorf("apiVersion %q kind %q, want batch/v1 Job", job.APIVersion, job.Kind)
	}
	if job.Spec.CompletionMode != "Indexed" {
		t.Errorf("completionMode %q, want Indexed", job.Spec.CompletionMode)
	}
	if job.Spec.Template.Spec.RestartPolicy != "Never" && job.Spec.Template.Spec.RestartPolicy != "OnFailure" {
		t.Errorf("restartPolicy %q: a Job needs Never or OnFailure", job.Spec.Template.Spec.RestartPolicy)
	}
	if len(job.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(job.Spec.Template.Spec.Containers))
	}
	cmd := job.Spec.Template.Spec.Containers[0].Command
	if len(cmd) < 2 || cmd[0] != "sdesample" || cmd[1] != "sample" {
		t.Fatalf("command %v does not run sdesample sample", cmd)
	}
	shards := job.Spec.Completions
	if got := flagValue(cmd, "shard"); got != "auto/"+strconv.Itoa(shards) {
		t.Errorf("-shard %q, want auto/%d to match completions: %d", got, shards, shards)
	}
	if got := flagValue(cmd, "n"); got != "50000" {
		t.Errorf("-n %q, want 50000", got)
	}
	out := flagValue(cmd, "o")
	if !strings.Contains(out, "$(JOB_COMPLETION_INDEX)") {
		t.Errorf("-o %q: each index needs its own output file", out)
	}
	dir := t.TempDir()
	args := make([]string, len(cmd)-1)
	for i, a := range cmd[1:] {
		args[i] = strings.ReplaceAll(a, "$(JOB_COMPLETION_INDEX)", "7")
	}
	runDocumentedShard(t, args, envK8sIndex, filepath.Dir(out), dir, 7, shards)
}

// TestScaleOutSlurm checks the Slurm array script the same way: the array
// range matches the shard count, and the sdesample line runs as task 7.
func TestScaleOutSlurm(t *testing.T) {
	var script string
	for _, b := range fencedBlocks(t, "../../docs/scale-out.md", "bash") {
		if strings.Contains(b, "#SBATCH --array") {
			script = b
			break
		}
	}
	if script == "" {
		t.Fatal("docs/scale-out.md has no Slurm array script")
	}
	m := regexp.MustCompile(`#SBATCH --array=0-(\d+)`).FindStringSubmatch(script)
	if m == nil {
		t.Fatal("the array must be 0-based: #SBATCH --array=0-(n-1)")
	}
	last, _ := strconv.Atoi(m[1])
	var line string
	for _, l := range strings.Split(script, "\n") {
		if strings.HasPrefix(l, "sdesample sample ") {
			line = l
		}
	}
	if line == "" {
		t.Fatal("no sdesample sample line in the Slurm script")
	}
	line = strings.NewReplacer(`"$SLURM_CPUS_PER_TASK"`, "2", "$SLURM_ARRAY_TASK_ID", "7", `"`, "").Replace(line)
	args := strings.Fields(line)[1:]
	if got := flagValue(args, "shard"); got != "auto/"+strconv.Itoa(last+1) {
		t.Errorf("-shard %q, want auto/%d to match --array=0-%d", got, last+1, last)
	}
	if got := flagValue(args, "n"); got != "50000" {
		t.Errorf("-n %q, want 50000", got)
	}
	dir := t.TempDir()
	runDocumentedShard(t, args, envSlurmIndex, filepath.Dir(flagValue(args, "o")), dir, 7, last+1)
}
