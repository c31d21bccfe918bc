// Package cli parses skiff's command line into config values and calls
// the composition roots. It holds no logic and no globals.
// Importers: cmd/skiff only.
package cli
