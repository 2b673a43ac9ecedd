package homepath

import (
	"net/url"
	"path"
	"regexp"
	"strings"
)

// How says what evidence made a path repo-relative.
type How int

const (
	// Relative: the path was relative already.
	Relative How = iota
	// Root: a checkout directory the report names (SARIF base ids,
	// version-control mappings) or the common root of its paths.
	Root
	// CI: a CI runner's checkout directory.
	CI
	// Repo: the repository's name as a directory of the path.
	Repo
	// Home: no root found; the home and user segments were dropped and
	// the rest kept.
	Home
	// Absolute: no root found and no home directory in it; kept as is.
	Absolute
)

// Rootless says whether no checkout root was found for the path.
func (h How) Rootless() bool { return h == Home || h == Absolute }

// Normalize turns a path or file URI as a tool wrote it into one form:
// file: scheme and host removed, percent-encoding decoded, back slashes
// turned into forward ones, "/C:/x" into "C:/x", "." and ".." resolved.
// Other URLs (http, https) are returned unchanged.
func Normalize(p string) string {
	p = strings.TrimSpace(p)
	if p == "" {
		return ""
	}
	if len(p) >= 5 && strings.EqualFold(p[:5], "file:") {
		rest := p[5:]
		if strings.HasPrefix(rest, "//") {
			rest = rest[2:]
			if i := strings.IndexByte(rest, '/'); i > 0 && !drive(rest[:i]) {
				rest = rest[i:] // file://host/x
			} else if i < 0 && !drive(rest) {
				rest = "/"
			}
		}
		p = rest
	} else if scheme.MatchString(p) && !drivePrefix(p) {
		return p
	}
	if strings.Contains(p, "%") {
		if u, err := url.PathUnescape(p); err == nil {
			p = u
		}
	}
	p = strings.ReplaceAll(p, `\`, "/")
	if len(p) >= 3 && p[0] == '/' && drivePrefix(p[1:]) {
		p = p[1:]
	}
	vol := ""
	if drivePrefix(p) {
		vol, p = strings.ToUpper(p[:1])+":", p[2:]
		if p == "" {
			p = "/"
		}
	}
	abs := strings.HasPrefix(p, "/")
	p = path.Clean(p)
	if !abs {
		p = strings.TrimPrefix(p, "./")
		for strings.HasPrefix(p, "../") {
			p = p[3:]
		}
		if p == "." || p == ".." {
			p = ""
		}
	}
	return vol + p
}

var scheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]+:`)

func drive(s string) bool {
	return len(s) == 2 && s[1] == ':' && (s[0]|0x20 >= 'a' && s[0]|0x20 <= 'z')
}

func drivePrefix(s string) bool {
	return len(s) >= 2 && drive(s[:2]) && (len(s) == 2 || s[2] == '/' || s[2] == '\\')
}

// IsAbs says whether a normalised path is absolute ("/x", "C:/x").
func IsAbs(p string) bool { return strings.HasPrefix(p, "/") || drivePrefix(p) }

// ciRoot matches the checkout directories of CI runners: GitHub-hosted
// (Linux, Windows), GitHub container actions and container jobs, GitLab,
// Drone. The named groups hold the repository's name where the root has it.
var ciRoot = regexp.MustCompile(`^(?:/home/runner/work/[^/]+/(?P<gh>[^/]+)/|/github/workspace/|/__w/[^/]+/(?P<ct>[^/]+)/|[A-Z]:/a/[^/]+/(?P<win>[^/]+)/|/builds/[^/]+/(?P<gl>[^/]+)/|/drone/src/)`)

// CIRoot returns the CI checkout directory that starts the normalised path
// p ("" when none) and the repository name it holds, if any.
func CIRoot(p string) (root, repo string) {
	m := ciRoot.FindStringSubmatch(p)
	if m == nil {
		return "", ""
	}
	for _, g := range m[1:] {
		if g != "" {
			repo = g
		}
	}
	return m[0], repo
}

// homeDir matches the home directory that starts a normalised path.
var homeDir = regexp.MustCompile(`^(?:/home/[^/]+/|/Users/[^/]+/|[A-Z]:/Users/[^/]+/|/root/|/var/root/)`)

// HomeDir returns the home directory that starts the normalised path p
// (with its trailing slash), or "".
func HomeDir(p string) string { return homeDir.FindString(p) }

// Roots is the evidence one report gives about where its checkout was.
type Roots struct {
	// Dirs are absolute checkout directories, normalised, each ending in
	// "/"; the longest matching one wins.
	Dirs []string
	// Repos are names of the repository scanned; a path's first directory
	// of that name (below a home directory or anywhere in an absolute
	// path) is taken as the checkout.
	Repos []string
}

// Rel makes p repo-relative from the best evidence: a checkout directory,
// a CI root, the repository's name, and where none is found the home and
// user segments are dropped and the tail kept. p may be a path or file URI
// in any form Normalize takes; http(s) URLs are returned unchanged.
func (r Roots) Rel(p string) (string, How) {
	p = Normalize(p)
	if p == "" || scheme.MatchString(p) && !drivePrefix(p) {
		return p, Relative
	}
	if !IsAbs(p) {
		return p, Relative
	}
	rel, how := r.rel(p)
	// A tail that is itself absolute ("/Users/a/C:/Users/b/x") is taken
	// apart again, so no home directory survives.
	for i := 0; i < 8 && how != Absolute && IsAbs(rel); i++ {
		var h How
		rel, h = r.rel(rel)
		if h == Absolute {
			break
		}
	}
	return rel, how
}

func (r Roots) rel(p string) (string, How) {
	best := ""
	for _, d := range r.Dirs {
		if len(d) > len(best) && len(p) > len(d) && hasDirPrefix(p, d) {
			best = d
		}
	}
	if best != "" {
		return p[len(best):], Root
	}
	if root, _ := CIRoot(p); root != "" && len(p) > len(root) {
		return p[len(root):], CI
	}
	if tail, ok := r.repoTail(p); ok {
		return tail, Repo
	}
	if h := HomeDir(p); h != "" && len(p) > len(h) {
		return p[len(h):], Home
	}
	return p, Absolute
}

// hasDirPrefix compares a directory prefix, ignoring case for a drive
// letter path (Windows file systems are case-insensitive).
func hasDirPrefix(p, d string) bool {
	if drivePrefix(d) {
		return strings.EqualFold(p[:len(d)], d)
	}
	return strings.HasPrefix(p, d)
}

func (r Roots) repoTail(p string) (string, bool) {
	if len(r.Repos) == 0 {
		return "", false
	}
	segs := strings.Split(p, "/")
	for i := 1; i < len(segs)-1; i++ {
		for _, name := range r.Repos {
			if name != "" && strings.EqualFold(segs[i], name) {
				return strings.Join(segs[i+1:], "/"), true
			}
		}
	}
	return "", false
}

// RepoName returns the repository name of a repository URI
// ("https://github.com/o/r.git", "git@github.com:o/r"), or "".
func RepoName(uri string) string {
	uri = strings.TrimSpace(uri)
	uri = strings.TrimRight(uri, "/")
	uri = strings.TrimSuffix(uri, ".git")
	i := strings.LastIndexAny(uri, "/:")
	if i < 0 || i == len(uri)-1 {
		return ""
	}
	name := uri[i+1:]
	if name == "." || name == ".." {
		return ""
	}
	return name
}

// CommonDir returns the deepest directory, ending in "/", that holds every
// one of the normalised absolute paths, or "" when there is none or fewer
// than two distinct paths (one path's directory says nothing about where
// the checkout starts).
func CommonDir(paths []string) string {
	if len(paths) < 2 {
		return ""
	}
	common := dirOf(paths[0])
	distinct := false
	for _, p := range paths[1:] {
		if p != paths[0] {
			distinct = true
		}
		for common != "" && !strings.HasPrefix(p, common) {
			common = dirOf(strings.TrimSuffix(common, "/"))
		}
	}
	if !distinct || common == "/" {
		return ""
	}
	return common
}

func dirOf(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return ""
	}
	return p[:i+1]
}

// pathToken is what a path in free text runs on to.
var pathToken = regexp.MustCompile(`^[^\s"'<>()\[\]{},;|` + "`" + `]*`)

// Text replaces every home-directory path in free text (messages,
// snippets, descriptions) by its repo-relative form and returns the count
// replaced.
func (r Roots) Text(s string) (string, int) {
	if FindHome(s) == nil {
		return s, 0
	}
	var b strings.Builder
	n := 0
	for {
		loc := FindHome(s)
		if loc == nil {
			break
		}
		a := loc[0]
		if strings.HasSuffix(s[:a], "file://") {
			a -= len("file://")
		} else if strings.HasSuffix(s[:a], "file:") {
			a -= len("file:")
		}
		end := loc[0] + len(pathToken.FindString(s[loc[0]:]))
		tok := s[a:end]
		rel, _ := r.Rel(strings.ReplaceAll(tok, `\\`, `\`))
		if rel == "" || IsAbs(rel) || FindHome(rel) != nil {
			rel = "~" // a home directory with nothing after it
		}
		b.WriteString(s[:a])
		b.WriteString(rel)
		s = s[end:]
		n++
	}
	b.WriteString(s)
	return b.String(), n
}
