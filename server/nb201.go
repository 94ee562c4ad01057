package server

import (
	"fmt"
	"strings"

	"github.com/nbquery/nbquery/index"
)

// archRequest names one architecture of a table benchmark and a trial.
type archRequest struct {
	Index    *int    `json:"index"`
	Arch     string  `json:"arch"`
	Dataset  string  `json:"dataset"`
	HP       str     `json:"hp"`
	Epoch    *int    `json:"epoch"` // 0-based; default the last of hp
	Seed     str     `json:"seed"`  // mean (default), random or a seed number
	RandSeed *uint64 `json:"rand_seed"`
	Devices  bool    `json:"devices"` // also every measured device latency
}

// bench returns the table benchmark named in the path.
func (c *call) bench() (*index.Bench, error) {
	name := c.r.PathValue("bench")
	if err := index.CheckBench(name); err != nil {
		return nil, err
	}
	if name != index.NB201 && name != index.NATSSSS {
		return nil, usage(fmt.Sprintf("%s has no %s endpoint (see GET /v1/info)", name, c.r.URL.Path))
	}
	return c.s.st.Bench(name)
}

// row resolves index or arch (exactly one).
func row(b *index.Bench, index_ *int, arch string) (int, error) {
	switch {
	case (index_ == nil) == (arch == ""):
		return 0, usage("give exactly one of index or arch")
	case arch != "":
		return b.Index(arch)
	case *index_ < 0 || *index_ >= b.Len():
		return 0, fmt.Errorf("%w: index %d outside [0, %d)", index.ErrNotFound, *index_, b.Len())
	}
	return *index_, nil
}

// trial checks dataset and hp and resolves the epoch and seed policy.
func (c *call) trial(dataset string, hp str, epoch *int, seed str, randSeed *uint64) (int, index.SeedPolicy, error) {
	if dataset == "" {
		return 0, index.SeedPolicy{}, usage("dataset is required (cifar10-valid, cifar10, cifar100 or ImageNet16-120)")
	}
	if hp == "" {
		return 0, index.SeedPolicy{}, usage("hp is required (the number of training epochs, e.g. 200 or 12): nbquery never defaults it")
	}
	if _, _, err := index.ResolveSplit(dataset, index.SetTrain); err != nil {
		return 0, index.SeedPolicy{}, err // an unknown dataset, whatever the seed policy
	}
	last, err := index.LastEpoch(string(hp))
	if err != nil {
		return 0, index.SeedPolicy{}, usage(err.Error())
	}
	e := last
	if epoch != nil {
		if *epoch < 0 || *epoch > last {
			return 0, index.SeedPolicy{}, usage(fmt.Sprintf("epoch %d outside [0, %d] for hp %s", *epoch, last, hp))
		}
		e = *epoch
	}
	p, err := index.ParseSeedPolicy(string(seed), c.rng(randSeed))
	if err != nil {
		return 0, index.SeedPolicy{}, usage(err.Error())
	}
	return e, p, nil
}

// query answers get_more_info plus the compute costs, with the CLI's --json keys.
func (s *Server) query(c *call) error {
	var q archRequest
	if err := c.decode(&q); err != nil {
		return err
	}
	b, err := c.bench()
	if err != nil {
		return err
	}
	r, err := row(b, q.Index, q.Arch)
	if err != nil {
		return err
	}
	epoch, p, err := c.trial(q.Dataset, q.HP, q.Epoch, q.Seed, q.RandSeed)
	if err != nil {
		return err
	}
	if p.Mode == index.SeedRandom {
		// One seed for the sets and the costs alike, as the official API.
		seeds := b.RowSeeds(nil, r, q.Dataset, string(q.HP))
		if len(seeds) > 0 {
			p = index.FixedSeed(seeds[p.Rand.IntN(len(seeds))])
		}
	}
	info, err := b.MoreInfo(r, q.Dataset, string(q.HP), epoch, p)
	if err != nil {
		return err
	}
	arch, _ := b.Arch(r)
	var o object
	o.add("index", r)
	o.add("arch", arch)
	o.add("dataset", q.Dataset)
	o.add("hp", string(q.HP))
	o.add("epoch", epoch)
	o.add("seed", p.String())
	for i, k := range info.Keys {
		o.add(k, num(info.Values[i]))
	}
	o.add("source", "table")
	if costs, src, err := b.CostsOrComputed(r, q.Dataset, string(q.HP), p); err == nil {
		o.add("flops", num(costs.FLOPs))
		o.add("params", num(costs.Params))
		o.add("latency", num(costs.Latency))
		o.add("cost-source", src)
	}
	if q.Devices {
		for _, d := range b.Devices() {
			if v, err := b.DeviceLatency(r, d); err == nil {
				o.add("latency:"+d, num(v))
			}
		}
	}
	return c.json(o)
}

// cost answers get_cost_info: flops (M), params (MB), latency (s).
func (s *Server) cost(c *call) error {
	var q archRequest
	if err := c.decode(&q); err != nil {
		return err
	}
	b, err := c.bench()
	if err != nil {
		return err
	}
	r, err := row(b, q.Index, q.Arch)
	if err != nil {
		return err
	}
	_, p, err := c.trial(q.Dataset, q.HP, nil, q.Seed, q.RandSeed)
	if err != nil {
		return err
	}
	costs, src, err := b.CostsOrComputed(r, q.Dataset, string(q.HP), p)
	if err != nil {
		return err
	}
	var o object
	o.add("index", r)
	o.add("flops", num(costs.FLOPs))
	o.add("params", num(costs.Params))
	o.add("latency", num(costs.Latency))
	o.add("cost-source", src)
	return c.json(o)
}

// archIndex answers query_index_by_arch ({arch}; 404 if the arch is not in
// the benchmark, which the Python client turns into -1 as the official API)
// and its inverse, api.arch(index) ({index}).
func (s *Server) archIndex(c *call) error {
	var q struct {
		Index *int   `json:"index"`
		Arch  string `json:"arch"`
	}
	if err := c.decode(&q); err != nil {
		return err
	}
	b, err := c.bench()
	if err != nil {
		return err
	}
	r, err := row(b, q.Index, q.Arch)
	if err != nil {
		return err
	}
	arch, err := b.Arch(r)
	if err != nil {
		return err
	}
	return c.json(object{{"index", r}, {"arch", arch}})
}

// simulate answers one simulate_train_eval step: the validation accuracy
// and latency of one random trial and its time cost. The client keeps the
// accumulated time, as the official API object does.
func (s *Server) simulate(c *call) error {
	var q archRequest
	if err := c.decode(&q); err != nil {
		return err
	}
	b, err := c.bench()
	if err != nil {
		return err
	}
	r, err := row(b, q.Index, q.Arch)
	if err != nil {
		return err
	}
	switch q.Dataset {
	case "cifar10", "cifar100", "ImageNet16-120":
	default:
		return usage(fmt.Sprintf("simulate: invalid dataset name %q (want cifar10, cifar100 or ImageNet16-120)", q.Dataset))
	}
	if q.Seed == "" {
		q.Seed = "random" // the official simulate_train_eval draws a trial
	}
	epoch, p, err := c.trial(q.Dataset, q.HP, q.Epoch, q.Seed, q.RandSeed)
	if err != nil {
		return err
	}
	sim := index.Simulator{B: b, HP: string(q.HP), Seed: p}
	acc, lat, cost, _, err := sim.TrainEval(r, q.Dataset, epoch)
	if err != nil {
		return err
	}
	return c.json(object{{"index", r}, {"valid_accuracy", num(acc)}, {"latency", num(lat)}, {"time_cost", num(cost)}})
}

// metricRequest names one number per architecture (top, stats, batch).
type metricRequest struct {
	Name     string  `json:"name"` // batch column name; default dataset/split/metric
	Dataset  string  `json:"dataset"`
	Split    string  `json:"split"`  // default valid
	HP       str     `json:"hp"`     // for nb101: the budget in epochs
	Metric   string  `json:"metric"` // default accuracy
	Epoch    *int    `json:"epoch"`
	Seed     str     `json:"seed"`
	RandSeed *uint64 `json:"rand_seed"`
	K        int     `json:"k"`
	Lowest   *bool   `json:"lowest"`
}

// indexQuery builds the index.Query of m.
func (c *call) indexQuery(m metricRequest) (index.Query, error) {
	if strings.HasPrefix(m.Metric, "hw:") {
		return index.Query{Metric: m.Metric, Epoch: -1}, nil
	}
	epoch, p, err := c.trial(m.Dataset, m.HP, m.Epoch, m.Seed, m.RandSeed)
	if err != nil {
		return index.Query{}, err
	}
	if m.Split == "" {
		m.Split = "valid"
	}
	return index.Query{Dataset: m.Dataset, HP: string(m.HP), Split: m.Split, Metric: m.Metric, Epoch: epoch, Seed: p}, nil
}

func (s *Server) topK(k int) (int, error) {
	switch {
	case k == 0:
		return 10, nil
	case k < 0 || k > s.cfg.MaxTopK:
		return 0, usage(fmt.Sprintf("k %d outside [1, %d]", k, s.cfg.MaxTopK))
	}
	return k, nil
}

func (s *Server) top(c *call) error {
	var m metricRequest
	if err := c.decode(&m); err != nil {
		return err
	}
	b, err := c.bench()
	if err != nil {
		return err
	}
	q, err := c.indexQuery(m)
	if err != nil {
		return err
	}
	k, err := s.topK(m.K)
	if err != nil {
		return err
	}
	lowest := index.LowerIsBetter(m.Metric)
	if m.Lowest != nil {
		lowest = *m.Lowest
	}
	top, err := b.TopK(q, k, lowest)
	if err != nil {
		return err
	}
	out := make([]object, len(top))
	for i, r := range top {
		arch, _ := b.Arch(r.Index)
		out[i] = object{{"rank", i + 1}, {"index", r.Index}, {"value", num(r.Value)}, {"arch", arch}}
	}
	return c.json(object{{"query", q.String()}, {"results", out}})
}

func (s *Server) stats(c *call) error {
	var m metricRequest
	if err := c.decode(&m); err != nil {
		return err
	}
	b, err := c.bench()
	if err != nil {
		return err
	}
	q, err := c.indexQuery(m)
	if err != nil {
		return err
	}
	st, err := b.Stats(q)
	if err != nil {
		return err
	}
	return c.json(object{{"query", q.String()}, {"count", st.Count}, {"missing", st.Missing},
		{"mean", num(st.Mean)}, {"std", num(st.Std)}, {"min", num(st.Min)}, {"q25", num(st.Q25)},
		{"median", num(st.Median)}, {"q75", num(st.Q75)}, {"max", num(st.Max)},
		{"argmin", st.ArgMin}, {"argmax", st.ArgMax}})
}

// info lists what the store holds and the limits.
func (s *Server) info(c *call) error {
	var benches []object
	for _, name := range s.st.Benches() {
		o := object{{"name", name}}
		if name == index.NB101 {
			if t, err := s.st.NB101Table(); err == nil {
				o.add("cells", t.Len())
			}
		} else if b, err := s.st.Bench(name); err == nil {
			o.add("archs", b.Len())
			o.add("devices", b.Devices())
		}
		benches = append(benches, o)
	}
	cfg := s.cfg
	return c.json(object{{"benches", benches}, {"limits", object{
		{"max_body_bytes", cfg.MaxBodyBytes}, {"max_cells", cfg.MaxCells}, {"max_top_k", cfg.MaxTopK},
		{"timeout_s", cfg.Timeout.Seconds()}, {"max_concurrent", cfg.MaxConcurrent}}}})
}
