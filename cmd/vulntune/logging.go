package main

import (
	"io"
	"log/slog"
)

// newLogger builds the one slog handler: text to stderr, quiet (warnings and
// errors) unless -v. Secrets are masked by the packages that know them, and
// values of attributes named like credentials are never printed.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return newLoggerFormat(w, level, false)
}

// newLoggerFormat is newLogger with JSON lines instead of text, for
// programs reading the log (the daemon under a service manager).
func newLoggerFormat(w io.Writer, level slog.Level, asJSON bool) *slog.Logger {
	opts := &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			switch a.Key {
			case "token", "hf_token", "github_token", "password", "secret", "authorization":
				return slog.String(a.Key, "*******")
			}
			return a
		},
	}
	if asJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
