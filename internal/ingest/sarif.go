package ingest

import "github.com/vulntune/vulntune/internal/ingest/sarif"

// SARIF logs from any producer are read by package sarif; registered here,
// between the formats whose files sort before and after this one, so the
// sniffing order stays what it was.
func init() { register(sarif.Format{}) }
