package executor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// SlurmConfig holds the settings of the Slurm executor. It is read from a
// JSON file (LoadSlurmConfig) and overridden by command-line flags (Merge).
type SlurmConfig struct {
	Partition string   `json:"partition,omitempty"` // sbatch --partition
	Time      string   `json:"time,omitempty"`      // sbatch --time per task, e.g. "30" (minutes) or "2:00:00"
	CPUs      int      `json:"cpus,omitempty"`      // sbatch --cpus-per-task
	Mem       string   `json:"mem,omitempty"`       // sbatch --mem, e.g. "4G"
	Options   []string `json:"options,omitempty"`   // further sbatch options, e.g. ["--account=lab", "--qos=short"]
	Spool     string   `json:"spool,omitempty"`     // spool directory on a shared filesystem
	JobName   string   `json:"job_name,omitempty"`  // default "nbquery"
	// MaxAttempts bounds the submissions of one trial (default 3): a task
	// that fails, is cancelled, times out or is preempted without leaving
	// a result is submitted again until then, and reported after.
	MaxAttempts int `json:"max_attempts,omitempty"`
	MaxArray    int `json:"max_array,omitempty"` // tasks per array job (default 1000)
	Parallel    int `json:"parallel,omitempty"`  // tasks of one array running at once (--array=...%N); 0 = no limit
	// Poll is the interval between squeue calls, e.g. "5s" (default 2s).
	Poll string `json:"poll,omitempty"`
}

// LoadSlurmConfig reads a JSON SlurmConfig; unknown fields are an error.
func LoadSlurmConfig(path string) (SlurmConfig, error) {
	var c SlurmConfig
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("executor: slurm config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("executor: slurm config %s: %w", path, err)
	}
	if dec.More() {
		return c, fmt.Errorf("executor: slurm config %s: trailing data after the JSON object at offset %d", path, dec.InputOffset())
	}
	if err := c.validate(); err != nil {
		return c, fmt.Errorf("executor: slurm config %s: %w", path, err)
	}
	return c, nil
}

// Merge returns c with every field that is set in o replaced by o's.
func (c SlurmConfig) Merge(o SlurmConfig) SlurmConfig {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	seti := func(dst *int, v int) {
		if v != 0 {
			*dst = v
		}
	}
	set(&c.Partition, o.Partition)
	set(&c.Time, o.Time)
	set(&c.Mem, o.Mem)
	set(&c.Spool, o.Spool)
	set(&c.JobName, o.JobName)
	set(&c.Poll, o.Poll)
	seti(&c.CPUs, o.CPUs)
	seti(&c.MaxAttempts, o.MaxAttempts)
	seti(&c.MaxArray, o.MaxArray)
	seti(&c.Parallel, o.Parallel)
	if len(o.Options) > 0 {
		c.Options = append(append([]string(nil), c.Options...), o.Options...)
	}
	return c
}

func (c SlurmConfig) validate() error {
	if c.CPUs < 0 || c.MaxAttempts < 0 || c.MaxArray < 0 || c.Parallel < 0 {
		return fmt.Errorf("cpus, max_attempts, max_array and parallel must not be negative")
	}
	if c.Poll != "" {
		if d, err := time.ParseDuration(c.Poll); err != nil || d <= 0 {
			return fmt.Errorf("poll %q: want a positive duration such as 5s", c.Poll)
		}
	}
	for _, s := range append([]string{c.Partition, c.Time, c.Mem, c.JobName}, c.Options...) {
		for _, r := range s {
			if r == '\n' || r == '\r' || r == 0 {
				return fmt.Errorf("option %q has a line break or NUL", s)
			}
		}
	}
	return nil
}

func (c SlurmConfig) withDefaults() SlurmConfig {
	if c.JobName == "" {
		c.JobName = "nbquery"
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 3
	}
	if c.MaxArray == 0 {
		c.MaxArray = 1000
	}
	if c.Poll == "" {
		c.Poll = "2s"
	}
	return c
}
