// Package archtest holds the executable architecture rules of STYLE.md
// §2.1: which packages may import which. It has no non-test code.
package archtest
