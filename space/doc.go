// Package space is the umbrella for the search-space definitions shared by
// every other package: space/nb201 (the NAS-Bench-201 / NATS-Bench topology
// cell), space/nb101 (the NAS-Bench-101 cell, its validity rules and module
// hash), space/sss (the NATS-Bench size space), space/mbv2 (the Single-Path NAS
// MobileNetV2 space) and space/darts (the DARTS/NASNet cell space and its
// genotypes). These packages are leaves: they import nothing else from nbquery.
package space
