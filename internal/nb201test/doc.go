// Package nb201test loads the real NAS-Bench-201 cifar10-valid table
// (../shared/data/nb201_nats_tss_cifar10valid_200ep/cifar10_avg.csv, 200
// epochs, means over seeds) for the tests of packages that sit below the
// store's users. The CSV is read once per test binary; callers must not
// modify the returned slices.
package nb201test
