// Command genenums writes the table of Kubernetes API enum types that
// internal/apiserver/openapi uses to publish enum values, as upstream's
// openapi-gen does from its +enum comment markers (which reflection cannot
// see).
//
// Usage:
//
//	genenums -o FILE [-package NAME] MODULE[:DIR]...
//
// Each argument names a Go module of the current build (located with
// `go list -m`) and optionally a directory inside it; every package under
// it is parsed. A named type with underlying type string and a "+enum" line
// in its doc comment is an enum type; its values are the string constants
// of that type (through type aliases, across all parsed packages), each
// documented by the constant's doc comment. The output maps
// "<package path>.<type name>" to the values sorted as upstream sorts them.
//
// It is run by `go generate ./internal/apiserver/openapi/`, and
// hack/verify-codegen.sh checks that the checked-in file is current.
//
// The command is single-threaded and only reads the module sources and
// writes the output file. Only `go generate` runs it; nothing imports it.
package main
