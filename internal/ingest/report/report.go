// Package report holds the two types every scanner-report parser shares:
// Input, the report file a parser is handed, and Error, a problem at a
// place in it. Package ingest and its format packages (ingest/sarif) both
// import it, so that a format package never needs to import ingest.
package report

import (
	"fmt"
	"strings"
)

// Input is one scanner file as a parser sees it.
type Input struct {
	// Name is the display path of the file: a filesystem path, or
	// "archive.zip!entry/path" for a zip entry. Errors and Source use it.
	Name string
	// Size is the file size in bytes, or -1 when unknown.
	Size int64
}

// Error is a problem with one input file: it names the file, the place
// (a byte offset, a JSON path, or both) and what was expected there.
type Error struct {
	File     string
	Offset   int64  // byte offset, or -1 when unknown
	JSONPath string // e.g. "$.runs[0].results[3].locations", or ""
	Msg      string // what was wrong / expected
	Err      error  // underlying cause, may be nil
	// Warning marks a problem the parser worked around, keeping the
	// record as Msg says (a location that is no path, dropped): the user
	// is told, the exit code does not count it.
	Warning bool
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Offset >= 0 {
		fmt.Fprintf(&b, ": byte %d", e.Offset)
	}
	if e.JSONPath != "" {
		fmt.Fprintf(&b, ": at %s", e.JSONPath)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Err != nil && !strings.Contains(e.Msg, e.Err.Error()) {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }
