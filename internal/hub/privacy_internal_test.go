package hub

import (
	"strings"
	"testing"
)

// FuzzScanLine holds the privacy scan to its contract on any text: it never
// panics, and a hit names the file, line and detector only, never any of
// the scanned text.
func FuzzScanLine(f *testing.F) {
	for _, seed := range []string{
		"", "plain text", `{"token": "hf_` + "aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgH" + `"}`,
		"mail alice.w@corp-mail.io now", "netty-codec@4.1.101.Final", "/home/alicewonder/x", `C:\Users\bob\x`,
		"alicewonder wrote this", "git@github.com:org/repo",
	} {
		f.Add(seed)
	}
	id := Identity{User: "alicewonder", Home: "/home/alicewonder"}
	f.Fuzz(func(t *testing.T, line string) {
		for _, h := range scanLine("f.txt", 7, line, id, false) {
			if h.Path != "f.txt" || h.Line != 7 || h.Detector == "" {
				t.Fatalf("hit %+v", h)
			}
			if len(line) >= 8 && strings.Contains(h.String(), line) {
				t.Fatalf("hit %q quotes the scanned text", h)
			}
		}
	})
}

func TestScanLineDetectors(t *testing.T) {
	id := Identity{User: "alicewonder", Home: "/home/alicewonder"}
	tests := []struct {
		line string
		want string // detectors, comma-joined
	}{
		{"nothing here", ""},
		{"mail alice.w@corp-mail.io now", "e-mail address"},
		{"netty-codec@4.1.101.Final and security@example.com and git@github.com", ""},
		{"cd /home/alicewonder/src", "local home directory,local user name"},
		{"by alicewonder.", "local user name"},
		{"alicewonderland", ""},
		{"runs in /Users/bob/work", "home directory path"},
		{"HF_TOKEN=hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgH", "huggingface-token,secret-assignment"},
	}
	for _, tt := range tests {
		var got []string
		for _, h := range scanLine("f", 1, tt.line, id, false) {
			got = append(got, h.Detector)
		}
		if strings.Join(got, ",") != tt.want {
			t.Errorf("%q: detectors %v, want %q", tt.line, got, tt.want)
		}
	}
	if hits := (Identity{User: "root", Home: "/root"}).Hits("runs as root"); len(hits) != 0 {
		t.Errorf("an ordinary account name as a word: %v", hits)
	}
}
