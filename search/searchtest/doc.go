// Package searchtest gives the tests of search and of the packages built on
// it the real NB201 cifar10-valid table with its search space, loaded once
// per test binary. Callers must not modify what it returns.
package searchtest
