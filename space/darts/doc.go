// Package darts defines the DARTS / NASNet cell search space (Liu et al.,
// ICLR 2019; quark0/darts cnn/genotypes.py): the 8 candidate ops in the
// PRIMITIVES order, cells of 2 inputs and 4 intermediate nodes (14 edges),
// a normal and a reduction cell per genotype, genotypes parsed from and
// printed in the published Genotype(normal=[...], normal_concat=[2, 3, 4, 5],
// reduce=[...], reduce_concat=[2, 3, 4, 5]) form, uniform random sampling,
// single mutations and a one-hot edge encoding for the predictors.
//
// Genotype is a plain value (arrays, no pointers); every function is safe for
// concurrent use. Randomness comes only from the caller's *rand.Rand.
// Like the other space packages it imports nothing else from nbquery.
package darts
