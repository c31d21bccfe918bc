// Package etcd runs an embedded, single-member etcd server for the API
// server and builds clients for it or for an external etcd cluster.
//
// Start brings etcd up with its data in Config.DataDir. Clients reach it only
// through a unix socket inside DataDir (or, when that path is too long for a
// socket address, a 127.0.0.1 port chosen once and persisted in DataDir), and
// the peer listener is equally unreachable from other machines. etcd's own
// zap logging is bridged to log/slog and kept at error level by default.
//
//	srv, err := etcd.Start(ctx, etcd.Config{DataDir: dir, Logger: log})
//	defer srv.Stop()
//	cli, err := srv.NewClient()
//
// NewClient (package function) builds a client for an external cluster from
// endpoints and CA/certificate/key files (the --datastore-* flags).
//
// Only internal/server, the storage packages and tests may import this
// package. A Server is safe for concurrent use; Stop may be called more
// than once.
package etcd
