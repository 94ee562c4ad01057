// Package sss defines the NATS-Bench size search space: 5 layers whose
// channel counts are each one of 8, 16, ..., 64, written "C1:C2:C3:C4:C5"
// (8^5 = 32,768 configurations). Config values are plain arrays; nothing here
// allocates except String.
package sss
