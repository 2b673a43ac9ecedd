// Package homepath recognises what gives a machine's people away in paths:
// home directories (/home/<u>/, /Users/<u>/, C:\Users\<u>\, /root/), the
// local account's name and home, and it makes scanner paths repo-relative
// from the best evidence a report carries. Ingest uses it to write
// repo-relative locations; the dataset writer and the publish gate use it
// to refuse files that still hold a home directory or the local user name.
package homepath

import (
	"os"
	"os/user"
	"regexp"
	"strings"
)

// Identity is the local account whose name and home directory must not be
// written or published.
type Identity struct {
	User string
	Home string
}

// Local returns this machine's user and home directory ($HOME first, then
// the account database).
func Local() Identity {
	id := Identity{}
	if u, err := user.Current(); err == nil {
		id.User = u.Username
		if id.Home == "" {
			id.Home = u.HomeDir
		}
	}
	if h, err := os.UserHomeDir(); err == nil && h != "" {
		id.Home = h
	}
	if i := strings.LastIndexAny(id.User, `\`); i >= 0 {
		id.User = id.User[i+1:] // DOMAIN\name on Windows
	}
	return id
}

// genericAccounts are account names that are ordinary words in security
// text ("runs as root") or CI and container defaults; a user name this
// short or this generic is not looked for as a word, though the home
// directory check still covers its directory.
var genericAccounts = map[string]bool{"root": true, "admin": true, "user": true, "runner": true, "ubuntu": true,
	"debian": true, "node": true, "app": true, "nobody": true, "vagrant": true, "ec2-user": true, "www-data": true,
	"test": true, "build": true, "docker": true, "jenkins": true, "gitlab-runner": true, "circleci": true,
	"travis": true, "vscode": true, "codespace": true, "home": true, "users": true, "guest": true, "default": true}

// Generic says whether name is too short or too common to look for as a
// word without flagging ordinary text.
func Generic(name string) bool {
	return len(name) < 4 || genericAccounts[strings.ToLower(name)]
}

// homeRe matches a path into someone's home directory on Linux, macOS or
// Windows, with forward, back or JSON-escaped back slashes. /root is
// not here: it names no person, and container images hold it.
var homeRe = regexp.MustCompile(`(?:/home/|/Users/|[A-Za-z]:(?:\\\\|\\|/)Users(?:\\\\|\\|/))[^/\\\s"'<>]+`)

// FindHome returns the first home-directory path in s, as [start, end) of
// the directory, or nil. A match inside a URL's path or a longer word
// ("https://x.org/home/a/", "/opt/home/x") is not one.
func FindHome(s string) []int {
	for off := 0; off < len(s); {
		loc := homeRe.FindStringIndex(s[off:])
		if loc == nil {
			return nil
		}
		a, b := off+loc[0], off+loc[1]
		if a == 0 || leftBoundary(s, a) {
			return []int{a, b}
		}
		off = a + 1
	}
	return nil
}

// leftBoundary says whether the byte before s[a] ends a token, so the path
// starting at a is a path of its own and not the tail of a URL or of
// another path. "file://" counts as a boundary.
func leftBoundary(s string, a int) bool {
	if strings.HasSuffix(s[:a], "file://") || strings.HasSuffix(s[:a], "file:") {
		return true
	}
	c := s[a-1]
	return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == '-' || c == '/' || c == '\\' || c == '~' || c == '%')
}

// Hits returns what in line gives a person away: the local home directory,
// the local user name as a word (unless Generic), any home-directory path.
// Each detector is named once; values are never returned.
func (id Identity) Hits(line string) []string {
	var out []string
	if id.personalHome() && strings.Contains(line, id.Home) {
		out = append(out, "local home directory")
	}
	if u := id.User; !Generic(u) && ContainsWord(line, u) {
		out = append(out, "local user name")
	}
	if len(out) == 0 && FindHome(line) != nil {
		out = append(out, "home directory path")
	}
	return out
}

// personalHome says whether the home directory names a person: not "/",
// not /root, /home/runner or another generic account's.
func (id Identity) personalHome() bool {
	h := strings.TrimRight(strings.ReplaceAll(id.Home, `\`, "/"), "/")
	i := strings.LastIndexByte(h, '/')
	return h != "" && i >= 0 && !Generic(h[i+1:])
}

// ContainsWord says whether w occurs in s with no letter, digit or
// underscore on either side.
func ContainsWord(s, w string) bool {
	if w == "" {
		return false
	}
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		a, b := i+j, i+j+len(w)
		if (a == 0 || !isWordByte(s[a-1])) && (b == len(s) || !isWordByte(s[b])) {
			return true
		}
		i = a + 1
	}
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}
