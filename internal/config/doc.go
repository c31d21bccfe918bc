// Package config holds the typed configuration of `skiff server` and
// `skiff agent`, their defaults and validation. It is pure: no I/O.
// Importers: internal/cli, internal/server, internal/agent.
package config
