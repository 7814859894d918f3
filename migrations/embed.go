// Package migrations holds the numbered SQL migrations of the node's
// database. Each file NNNN_name.sql is applied once, in order, in its own
// transaction; the schema version is the number of the last one applied.
//
// Never edit a released migration: add the next number instead, and add a
// fixture for the previous version to the store's migration test.
package migrations

import "embed"

// FS holds every *.sql migration, embedded in the binary.
//
//go:embed *.sql
var FS embed.FS
