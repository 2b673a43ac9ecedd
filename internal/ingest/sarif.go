package ingest

import "github.com/vulntune/vulntune/internal/ingest/sarif"

// SARIF logs from any producer are read by package sarif, which streams
// (Streamer). It is registered from this file so that the sniffing order
// stays by file name, as for the formats that live in ingest.
var _ Streamer = sarif.Format{}

func init() { register(sarif.Format{}) }
