// Package server answers nbquery's queries over HTTP (net/http): a
// read-only view of an open store for many concurrent readers, with JSON
// endpoints for everything the query, top and stats commands answer, batch
// requests for whole-space vectors, and Arrow IPC stream answers for batches
// (Accept: application/vnd.apache.arrow.stream).
//
// Endpoints (POST with a JSON object body, or GET with the same fields as
// URL query parameters; BENCH is nb201 or nats-sss):
//
//	GET  /v1/health                 {"status": "ok"}
//	GET  /v1/info                   benchmarks, sizes, seeds, devices, limits
//	POST /v1/BENCH/query            get_more_info + costs: {index|arch, dataset, hp, epoch, seed}
//	POST /v1/BENCH/cost             get_cost_info: {index|arch, dataset, hp, seed}
//	POST /v1/BENCH/index            query_index_by_arch: {arch}, or arch(index): {index}
//	POST /v1/BENCH/simulate         simulate_train_eval: {index|arch, dataset, hp, epoch, rand_seed}
//	POST /v1/BENCH/top              {dataset, split, hp, metric, epoch, seed, k, lowest}
//	POST /v1/BENCH/stats            {dataset, split, hp, metric, epoch, seed}
//	POST /v1/BENCH/batch            {indices, queries: [{name, dataset, split, hp, metric, epoch, seed}], arch}
//	POST /v1/nb101/query            nasbench query: {matrix, ops | hash, epochs, stop_halfway, repeat};
//	                                a partial table answers null for what it lacks, named in "missing"
//	POST /v1/nb101/metrics          get_metrics_from_hash: {hash | matrix, ops}
//	POST /v1/nb101/top, /stats      {metric, epochs, repeat, k, lowest}
//	POST /v1/nb101/batch            {hashes, queries: [{name, metric, epochs, repeat}]}
//
// Seeds: "mean" (the official is_random=False), "random" (one seed drawn
// from a source seeded by the request's rand_seed, else by the server's seed
// and a request counter) or a seed number. Numbers are written as Python's
// repr writes them; values the benchmark never recorded are null.
//
// Errors use the CLI's model: a bad request (usage) is 400, a value that is
// not found or not recorded is 404 (the CLI's exit 3), an oversized body or
// batch 413, a request whose body arrives too slowly 408, an overloaded or
// timed-out server 503; the body is always {"error": MESSAGE, "kind": KIND}.
// Bad input never yields a 500.
package server
