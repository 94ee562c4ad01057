// Package suggest finds the valid value a mistyped one most likely meant
// (the "did you mean" of usage errors).
package suggest
