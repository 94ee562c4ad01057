// Package nb201 defines the NAS-Bench-201 / NATS-Bench topology cell: a DAG of
// 4 nodes whose 6 edges each carry one of 5 operations, 5^6 = 15,625 cells.
//
// A Cell is a value ([6]uint8, edge order 0->1, 0->2, 1->2, 0->3, 1->3, 2->3).
// Its Code is the base-5 number of its op ids, a dense id in [0, 15625) that is
// NOT the benchmark index: the benchmark's index order comes from its files
// (meta_archs) and is kept by package index. UniqueStr reproduces NATS-Bench's
// to_unique_str(consider_zero=True), which splits the space into 6,466
// isomorphism classes. Nothing here allocates except String and UniqueStr.
package nb201
