package server

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/space/nb101"
)

// cellRequest names an NB101 cell by hash or by matrix and ops.
type cellRequest struct {
	Hash        string   `json:"hash"`
	Matrix      [][]int  `json:"matrix"`
	Ops         []string `json:"ops"`
	Epochs      int      `json:"epochs"`       // default 108
	StopHalfway bool     `json:"stop_halfway"` // the halfway statistics
	Repeat      str      `json:"repeat"`       // random (default, as api.py), mean or 0, 1, 2
	RandSeed    *uint64  `json:"rand_seed"`
}

func (q cellRequest) hash() (nb101.Hash, error) {
	if (q.Hash == "") == (q.Matrix == nil && q.Ops == nil) {
		return nb101.Hash{}, usage("give hash, or matrix with ops")
	}
	if q.Hash != "" {
		h, err := nb101.ParseHash(q.Hash)
		if err != nil {
			return h, usage(err.Error())
		}
		return h, nil
	}
	spec, err := nb101.NewSpec(q.Matrix, q.Ops)
	if err != nil {
		return nb101.Hash{}, err
	}
	return spec.Hash(), nil
}

func (s *Server) nb101Table() (*index.NB101Table, error) { return s.st.NB101Table() }

// nb101Query answers api.py's query(spec, epochs, stop_halfway) with its keys.
func (s *Server) nb101Query(c *call) error {
	var q cellRequest
	if err := c.decode(&q); err != nil {
		return err
	}
	h, err := q.hash()
	if err != nil {
		return err
	}
	if q.Epochs == 0 {
		q.Epochs = 108
	}
	t, err := s.nb101Table()
	if err != nil {
		return err
	}
	r, ok := t.Row(h)
	if !ok {
		return fmt.Errorf("%w: NB101 cell %s is not in the table", index.ErrNotFound, h)
	}
	spec := t.Spec(r)
	var res index.NB101Result
	s.nb1.Lock() // the queries add to the table's budget counters
	switch q.Repeat {
	case "", "random":
		res, err = t.QueryHash(h, q.Epochs, q.StopHalfway, c.rng(q.RandSeed))
	case "mean":
		res, err = t.QueryMean(spec, q.Epochs, q.StopHalfway)
	default:
		rep, perr := strconv.Atoi(string(q.Repeat))
		if perr != nil {
			s.nb1.Unlock()
			return usage(fmt.Sprintf("repeat %q: want random, mean, 0, 1 or 2", q.Repeat))
		}
		res, err = t.QueryRepeat(spec, q.Epochs, q.StopHalfway, rep)
	}
	s.nb1.Unlock()
	// A cell whose sources lack some metrics: answer what they have (null)
	// and name what they lack, as the query command does.
	var miss *index.NB101Missing
	if err != nil && !errors.As(err, &miss) {
		return err
	}
	missing := []string{}
	if miss != nil {
		missing = miss.Metrics
	}
	sources := []string{}
	for _, src := range t.CellSources(r) {
		sources = append(sources, filepath.Base(src))
	}
	repeat := any(res.Repeat)
	if res.Repeat < 0 {
		repeat = "mean"
	}
	return c.json(object{
		{"module_adjacency", res.Spec.Matrix()},
		{"module_operations", res.Spec.OpNames()},
		{"trainable_parameters", res.Params},
		{"training_time", num(res.TrainingTime)},
		{"train_accuracy", num(res.TrainAccuracy)},
		{"validation_accuracy", num(res.ValidationAccuracy)},
		{"test_accuracy", num(res.TestAccuracy)},
		{"hash", res.Hash.String()},
		{"epochs", q.Epochs},
		{"repeat", repeat},
		{"missing", missing},
		{"sources", sources},
	})
}

// nb101Metrics answers get_metrics_from_hash: fixed and computed statistics,
// the computed ones keyed by budget as api.py's dict.
func (s *Server) nb101Metrics(c *call) error {
	var q cellRequest
	if err := c.decode(&q); err != nil {
		return err
	}
	h, err := q.hash()
	if err != nil {
		return err
	}
	t, err := s.nb101Table()
	if err != nil {
		return err
	}
	st, err := t.GetMetricsFromHash(h)
	if err != nil {
		return err
	}
	fixed := object{
		{"module_adjacency", st.Spec.Matrix()},
		{"module_operations", st.Spec.OpNames()},
		{"trainable_parameters", st.Params},
		{"module_hash", st.Hash.String()},
	}
	var computed object
	for _, e := range index.NB101Epochs {
		runs := st.Computed(e)
		if len(runs) == 0 {
			continue
		}
		list := make([]object, len(runs))
		for i, run := range runs {
			for m, v := range run {
				list[i].add(index.NB101Metric(m).String(), num(v))
			}
		}
		computed.add(strconv.Itoa(e), list)
	}
	return c.json(object{{"fixed", fixed}, {"computed", computed}})
}

// nb101Select maps a metric request onto a table selection (metric an
// api.py key or accuracy/time of split; hp the budget; seed mean or a repeat).
func nb101Select(m metricRequest) (index.NB101Select, error) {
	return index.ParseNB101Select(m.Split, string(m.HP), string(m.Seed), m.Metric)
}

func (s *Server) nb101Top(c *call) error {
	var m metricRequest
	if err := c.decode(&m); err != nil {
		return err
	}
	sel, err := nb101Select(m)
	if err != nil {
		return err
	}
	k, err := s.topK(m.K)
	if err != nil {
		return err
	}
	lowest := index.LowerIsBetter(sel.Metric.String())
	if m.Lowest != nil {
		lowest = *m.Lowest
	}
	t, err := s.nb101Table()
	if err != nil {
		return err
	}
	top, err := t.TopK(sel, k, lowest)
	if err != nil {
		return err
	}
	out := make([]object, len(top))
	for i, r := range top {
		out[i] = object{{"rank", i + 1}, {"index", r.Row}, {"value", num(r.Value)}, {"hash", r.Hash.String()}}
	}
	return c.json(object{{"query", sel.String()}, {"results", out}})
}

func (s *Server) nb101Stats(c *call) error {
	var m metricRequest
	if err := c.decode(&m); err != nil {
		return err
	}
	sel, err := nb101Select(m)
	if err != nil {
		return err
	}
	t, err := s.nb101Table()
	if err != nil {
		return err
	}
	v, err := t.Vector(nil, sel)
	if err != nil {
		return err
	}
	st := index.Summarize(v)
	if st.Count == 0 {
		return fmt.Errorf("%w: no cell records %s", index.ErrUnavailable, sel)
	}
	return c.json(object{{"query", sel.String()}, {"count", st.Count}, {"missing", st.Missing},
		{"mean", num(st.Mean)}, {"std", num(st.Std)}, {"min", num(st.Min)}, {"q25", num(st.Q25)},
		{"median", num(st.Median)}, {"q75", num(st.Q75)}, {"max", num(st.Max)},
		{"argmin", t.Hash(st.ArgMin).String()}, {"argmax", t.Hash(st.ArgMax).String()}})
}

// nb101BatchRequest asks for one column per selection over cells.
type nb101BatchRequest struct {
	Hashes  []string        `json:"hashes"` // empty: every cell
	Queries []metricRequest `json:"queries"`
}

func (s *Server) nb101Batch(c *call) error {
	var req nb101BatchRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	t, err := s.nb101Table()
	if err != nil {
		return err
	}
	n := len(req.Hashes)
	if n == 0 {
		n = t.Len()
	}
	if err := s.checkShape(n, len(req.Queries)); err != nil {
		return err
	}
	var rows []int32
	if len(req.Hashes) == 0 {
		rows, _, _ = rowsOf(nil, t.Len())
	} else {
		rows = make([]int32, len(req.Hashes))
		for i, hs := range req.Hashes {
			h, err := nb101.ParseHash(hs)
			if err != nil {
				return usage(fmt.Sprintf("hashes[%d]: %v", i, err))
			}
			r, ok := t.Row(h)
			if !ok {
				return fmt.Errorf("%w: hashes[%d]: NB101 cell %s is not in the table", index.ErrNotFound, i, h)
			}
			rows[i] = int32(r)
		}
	}
	out := columns{index: rows, labelName: "hash"}
	for _, r := range rows {
		out.labels = append(out.labels, t.Hash(int(r)).String())
	}
	for qi, m := range req.Queries {
		sel, err := nb101Select(m)
		if err != nil {
			return fmt.Errorf("queries[%d]: %w", qi, err)
		}
		name := m.Name
		if name == "" {
			name = sel.String()
		}
		if err := uniqueName(out.names, name); err != nil {
			return err
		}
		all, err := t.Vector(nil, sel) // NaN where a cell lacks the value
		if err != nil {
			return fmt.Errorf("queries[%d] (%s): %w", qi, name, err)
		}
		v := all
		if len(req.Hashes) > 0 {
			v = make([]float64, len(rows))
			for i, r := range rows {
				v[i] = all[r]
			}
		}
		out.names = append(out.names, name)
		out.queryNames = append(out.queryNames, sel.String())
		out.vals = append(out.vals, v)
	}
	return c.columns(out)
}
