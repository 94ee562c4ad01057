package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/nbquery/nbquery/index"
	"github.com/nbquery/nbquery/space/nb101"
	"github.com/nbquery/nbquery/space/nb201"
	"github.com/nbquery/nbquery/space/sss"
)

// The error model of the CLI (README "Errors and exit codes"):
//
//	2  usage: a flag, argument or value outside the documented ones; the
//	   message lists the valid values and a did-you-mean (index.ErrInvalid,
//	   usageError, malformed architectures, cobra's flag errors)
//	3  not found / not recorded: a well-formed request the store or the
//	   benchmark cannot answer; the message names the source that would
//	   (index.ErrNotFound, index.ErrUnavailable)
//	1  anything else (bad input files, I/O)
//	130 interrupted
//
// An HTTP front end maps the same classes to 400, 404 and 500 (httpStatus).

// usageError marks a command-line mistake (exit code 2).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// usageSentinels are the errors of other packages that mean a malformed
// request. Files built with heavy packages add theirs (experiment.ErrConfig)
// in init.
var usageSentinels = []error{index.ErrInvalid, nb101.ErrOutOfDomain, nb101.ErrHashSyntax, nb201.ErrSyntax, sss.ErrSyntax}

// exitCode maps an error to the process exit code.
func exitCode(err error) int {
	var u usageError
	var x codedError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &x):
		return x.code
	case errors.Is(err, context.Canceled):
		return exitCancelled
	case errors.As(err, &u):
		return exitUsage
	case errors.Is(err, index.ErrNotFound), errors.Is(err, index.ErrUnavailable):
		return exitNotFound
	}
	for _, s := range usageSentinels {
		if errors.Is(err, s) {
			return exitUsage
		}
	}
	if isCobraUsage(err) {
		return exitUsage
	}
	return exitError
}

// httpStatus maps an error to an HTTP status with the same classes as
// exitCode: 400 for usage, 404 for not found or not recorded, 499 for a
// cancelled request, 500 otherwise.
func httpStatus(err error) int {
	switch exitCode(err) {
	case exitOK:
		return 200
	case exitUsage:
		return 400
	case exitNotFound:
		return 404
	case exitCancelled:
		return 499
	}
	return 500
}

// pkgPrefix matches the "pkg: " prefixes Go errors carry (at the start of
// the message or of a wrapped part); users see the message without them.
// Compiled on first use: at package initialisation it cost every cold
// query ~40 µs, and most runs print no error.
var pkgPrefix = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(^|: )(index|catalog|ingest|tfrecord|nb101|nb201|sss|space|search|predictors|train|experiment|weaknas|pickle|csv): `)
})

// userMessage is the one-line message of err without package prefixes.
func userMessage(err error) string {
	s := oneLine(err.Error())
	for {
		t := pkgPrefix().ReplaceAllString(s, "$1")
		if t == s {
			break
		}
		s = t
	}
	return strings.TrimSpace(s)
}
