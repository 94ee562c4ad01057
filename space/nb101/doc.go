// Package nb101 defines the NAS-Bench-101 cell space: a model spec (a DAG of
// at most 7 vertices and 9 edges whose inner vertices carry one of three
// operations), the official validity rules and pruning of
// google-research/nasbench (api.py _check_spec, model_spec.py _prune), the
// exact module hash (graph_util.hash_module, iterated MD5 over Python str()
// renderings), the 45-dim NAO/WeakNAS sequence encoding and the enumeration of
// all 423,624 computationally unique cells.
//
// A Spec is a small value (a 49-bit adjacency mask, [7]Op and a vertex count);
// it is always pruned and valid when it comes from NewSpec or FromParts with a
// nil error. Matrix and OpNames return fresh slices owned by the caller.
// Hashing allocates nothing but a few stack buffers. All returns an owned
// slice; Enumerate hands each Cell by value to the callback.
//
// This package is a leaf: it imports nothing else from nbquery.
package nb101
