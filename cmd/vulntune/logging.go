package main

import (
	"io"
	"log/slog"
)

// newLogger builds the one slog handler: text to stderr, quiet (warnings and
// errors) unless -v. Secrets are masked by the packages that know them, and
// values of attributes named like credentials are never printed.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			switch a.Key {
			case "token", "hf_token", "github_token", "password", "secret", "authorization":
				return slog.String(a.Key, "*******")
			}
			return a
		},
	}))
}
