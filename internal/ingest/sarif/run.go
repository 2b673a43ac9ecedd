package sarif

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/go-json-experiment/json"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/homepath"
	"github.com/vulntune/vulntune/internal/ingest/report"
)

// run is one run's context: everything but its results, plus caches
// filled while its results are converted.
type run struct {
	index      int
	tool       tool
	artifacts  []artifact
	taxonomies []component
	baseIDs    map[string]artifactLocation
	vcp        []vcp
	logical    []logicalLocation
	props      props

	comps   []*component // driver, then tool.extensions in order
	name    string       // canonical lower-case tool name
	version string
	profile *profile
	roots   []string // absolute directories of originalUriBaseIds and versionControlProvenance, longest first
	repos   []string // names of the repositories of versionControlProvenance
	image   string   // run.properties.imageName (Trivy image scans)

	p       *parser
	keys    [][]ruleKey      // per component: rule ids and guids, decoded on first use
	byID    []map[string]int // per component: rule id → index, built on first use
	infos   map[[2]int]*ruleInfo
	missing map[string]*ruleInfo
	paths   map[[2]string]string // (uri, uriBaseId) → resolved, also interns paths
}

// maxPathCache bounds the path cache of one run.
const maxPathCache = 1 << 16

func (run *run) prepare() {
	run.comps = append(run.comps, &run.tool.Driver)
	for i := range run.tool.Extensions {
		run.comps = append(run.comps, &run.tool.Extensions[i])
	}
	run.byID = make([]map[string]int, len(run.comps))
	run.keys = make([][]ruleKey, len(run.comps))
	run.infos = map[[2]int]*ruleInfo{}
	run.missing = map[string]*ruleInfo{}
	run.paths = map[[2]string]string{}
	run.name = canonicalTool(run.tool.Driver.Name)
	run.version = run.tool.Driver.Version
	if run.version == "" {
		run.version = run.tool.Driver.SemanticVersion
	}
	run.profile = profileFor(run.name)
	run.image = propString(run.props, "imageName")
	for id := range run.baseIDs {
		// A root of "/" (Trivy's ROOTPATH) says nothing about the checkout.
		if dir, ok := run.baseDir(id, 0); ok && dir != "" && dir != "/" {
			run.roots = append(run.roots, dir)
		}
	}
	for _, v := range run.vcp {
		if name := homepath.RepoName(v.RepositoryURI); name != "" {
			run.repos = append(run.repos, name)
		}
		dir, ok := "", false
		if abs, isAbs := fileURIPath(v.MappedTo.URI); isAbs {
			dir, ok = abs, true
		} else if v.MappedTo.URIBaseID != "" {
			if parent, found := run.baseDir(v.MappedTo.URIBaseID, 0); found {
				dir, ok = parent+unescape(v.MappedTo.URI), true
			}
		}
		if ok && dir != "" && dir != "/" {
			if !strings.HasSuffix(dir, "/") {
				dir += "/"
			}
			run.roots = append(run.roots, strings.ReplaceAll(dir, `\`, "/"))
		}
	}
	sort.Slice(run.roots, func(a, b int) bool {
		if len(run.roots[a]) != len(run.roots[b]) {
			return len(run.roots[a]) > len(run.roots[b])
		}
		return run.roots[a] < run.roots[b]
	})
}

// baseDir resolves an originalUriBaseIds entry to an absolute directory with
// a trailing slash; ok is false when the chain does not end in a file URI.
func (run *run) baseDir(id string, depth int) (string, bool) {
	b, ok := run.baseIDs[id]
	if !ok || depth > 8 {
		return "", false
	}
	if abs, isAbs := fileURIPath(b.URI); isAbs {
		if !strings.HasSuffix(abs, "/") {
			abs += "/"
		}
		return abs, true
	}
	if b.URIBaseID == "" {
		return "", false
	}
	parent, ok := run.baseDir(b.URIBaseID, depth+1)
	if !ok {
		return "", false
	}
	rel := unescape(b.URI)
	if rel != "" && !strings.HasSuffix(rel, "/") {
		rel += "/"
	}
	return parent + rel, true
}

// rule finds the rule a result refers to: through result.rule.toolComponent
// into tool.extensions (CodeQL), then ruleIndex, then ruleId (and the base
// of a hierarchical id "CA2000/1"), then other components. A rule that
// cannot be found gives an info built from the id alone.
func (run *run) rule(res *result) *ruleInfo {
	id, idx, comp := res.RuleID, -1, 0
	if res.RuleIndex != nil {
		idx = *res.RuleIndex
	}
	if ref := res.Rule; ref != nil {
		if id == "" {
			id = ref.ID
		}
		if idx < 0 && ref.Index != nil {
			idx = *ref.Index
		}
		if ref.ToolComponent != nil {
			if c := run.component(ref.ToolComponent); c >= 0 {
				comp = c
			}
		}
		if id == "" && ref.GUID != "" {
			for ci := range run.comps {
				for ri, k := range run.ruleKeys(ci) {
					if strings.EqualFold(k.GUID, ref.GUID) {
						return run.info(ci, ri)
					}
				}
			}
		}
	}
	if idx >= 0 && idx < len(run.comps[comp].Rules) {
		info := run.info(comp, idx)
		if id == "" || info.id == id || strings.HasPrefix(id, info.id+"/") {
			return info
		}
	}
	if id != "" {
		order := []int{comp}
		for ci := range run.comps {
			if ci != comp {
				order = append(order, ci)
			}
		}
		for _, ci := range order {
			if ri, ok := run.lookup(ci, id); ok {
				return run.info(ci, ri)
			}
		}
	}
	if info, ok := run.missing[id]; ok {
		return info
	}
	info := &ruleInfo{id: id, title: id}
	if len(run.missing) < maxPathCache {
		run.missing[id] = info
	}
	return info
}

// component resolves a toolComponentReference to an index in run.comps
// (index refers to tool.extensions; name or guid may name the driver too).
func (run *run) component(ref *componentRef) int {
	if ref.Index != nil && *ref.Index >= 0 && *ref.Index < len(run.tool.Extensions) {
		return *ref.Index + 1
	}
	for ci, c := range run.comps {
		if (ref.GUID != "" && strings.EqualFold(c.GUID, ref.GUID)) || (ref.Name != "" && c.Name == ref.Name) {
			return ci
		}
	}
	return -1
}

func (run *run) lookup(ci int, id string) (int, bool) {
	m := run.byID[ci]
	if m == nil {
		keys := run.ruleKeys(ci)
		m = make(map[string]int, len(keys))
		for ri, k := range keys {
			if _, dup := m[k.ID]; !dup {
				m[k.ID] = ri
			}
		}
		run.byID[ci] = m
	}
	if ri, ok := m[id]; ok {
		return ri, true
	}
	if i := strings.LastIndexByte(id, '/'); i > 0 {
		ri, ok := m[id[:i]]
		return ri, ok
	}
	return 0, false
}

func (run *run) info(ci, ri int) *ruleInfo {
	key := [2]int{ci, ri}
	if info, ok := run.infos[key]; ok {
		return info
	}
	info := newSarifRuleInfo(run, run.decodeRule(ci, ri))
	run.infos[key] = info
	return info
}

// ruleKeys decodes the id and guid of every rule of component ci once.
func (run *run) ruleKeys(ci int) []ruleKey {
	if run.keys[ci] == nil {
		raw := run.comps[ci].Rules
		keys := make([]ruleKey, len(raw))
		for ri, v := range raw {
			// A rule of the wrong shape keeps an empty key here; decodeRule
			// reports it if a result uses it.
			_ = json.Unmarshal(v, &keys[ri], jsonOptions...)
		}
		run.keys[ci] = keys
	}
	return run.keys[ci]
}

// decodeRule decodes rule ri of component ci. A rule of the wrong shape is
// reported once and replaced by one that has only its id.
func (run *run) decodeRule(ci, ri int) *rule {
	r := &rule{}
	err := json.Unmarshal(run.comps[ci].Rules[ri], r, jsonOptions...)
	if err == nil {
		return r
	}
	comp := "driver"
	if ci > 0 {
		comp = fmt.Sprintf("extensions[%d]", ci-1)
	}
	path := fmt.Sprintf("$.runs[%d].tool.%s.rules[%d]", run.index, comp, ri)
	var se *json.SemanticError
	msg := "invalid rule: expected a reportingDescriptor object (rule details ignored)"
	if errors.As(err, &se) {
		w := &walker{root: path}
		path = w.pointerPath(se.JSONPointer)
		msg = fmt.Sprintf("invalid rule: expected %s, found %s (rule details ignored)", goKind(se), kindName(se.JSONKind))
	}
	run.p.addErr(&report.Error{File: run.p.file, Offset: -1, JSONPath: path, Msg: msg})
	r = &rule{}
	if ri < len(run.ruleKeys(ci)) {
		r.ID = run.keys[ci][ri].ID
	}
	return r
}

// artifactURI is the URI and base id an artifactLocation names, itself or
// through the run's artifacts.
func (run *run) artifactURI(al *artifactLocation) (uri, base string) {
	uri, base = al.URI, al.URIBaseID
	if al.Index != nil && *al.Index >= 0 && *al.Index < len(run.artifacts) {
		a := run.artifacts[*al.Index].Location
		if uri == "" {
			uri, base = a.URI, a.URIBaseID
		} else if base == "" {
			base = a.URIBaseID
		}
	}
	return uri, base
}

// notAFile reports whether uri is neither a URI reference nor a file path:
// text with whitespace (which no URI reference holds) and neither a
// directory separator nor an extension, such as codeql-action's test
// input "not a valid URI". A path with a space ("My Documents/App.java")
// breaks the URI syntax too, but names a file, and is kept.
func notAFile(uri string) bool {
	return strings.ContainsAny(uri, " \t\n\r") && !strings.ContainsAny(uri, "/\\.")
}

// resolve turns an artifactLocation into a repo-relative path (or a URL);
// "" for one that names no file (notAFile).
func (run *run) resolve(al *artifactLocation) string {
	uri, base := run.artifactURI(al)
	if uri == "" || notAFile(uri) {
		return ""
	}
	key := [2]string{uri, base}
	if p, ok := run.paths[key]; ok {
		return p
	}
	p := run.resolveURI(uri, base)
	if len(run.paths) < maxPathCache {
		run.paths[key] = p
	}
	return p
}

var scheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]+:`)

func (run *run) resolveURI(uri, base string) string {
	if abs, ok := fileURIPath(uri); ok {
		return run.relativize(abs)
	}
	if scheme.MatchString(uri) {
		return uri // http(s) and other schemes are kept as they are
	}
	rel := unescape(uri)
	for depth := 0; base != "" && depth < 8; depth++ {
		b, ok := run.baseIDs[base]
		if !ok {
			break
		}
		if _, abs := fileURIPath(b.URI); abs || b.URI == "" {
			break // the scan root: paths below it are repo-relative already
		}
		prefix := unescape(b.URI)
		if !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		rel, base = prefix+rel, b.URIBaseID
	}
	if strings.HasPrefix(rel, "/") {
		return run.relativize(rel)
	}
	return finding.CleanPath(rel)
}

// ciRoots are checkout directories of common CI systems. They are
// stripped from absolute paths only when no originalUriBaseIds root matched:
// GitHub Actions (Linux, Windows, container jobs), GitLab, Cloud Build,
// Drone, and /src where Semgrep's container mounts the repository. /app is
// not stripped: image scanners report in-image paths such as /app/app.jar
// where /app is part of the path.
var ciRoots = regexp.MustCompile(`^(?:/github/workspace/|/home/runner/work/[^/]+/[^/]+/|[A-Za-z]:/a/[^/]+/[^/]+/|/builds/[^/]+/[^/]+/|/workspace/|/drone/src/|/src/)`)

// relativize makes an absolute path repo-relative when a known root
// prefixes it, else returns it cleaned but still absolute.
func (run *run) relativize(abs string) string {
	abs = strings.ReplaceAll(abs, `\`, "/")
	for _, root := range run.roots {
		if strings.HasPrefix(abs, root) && len(abs) > len(root) {
			return finding.CleanPath(abs[len(root):])
		}
	}
	if m := ciRoots.FindString(abs); m != "" && len(abs) > len(m) {
		return finding.CleanPath(abs[len(m):])
	}
	// The repository's name from versionControlProvenance marks the
	// checkout in a laptop path; with no such evidence the path stays
	// absolute here and ingest relativises it with what the other reports
	// tell (homepath).
	if rel, how := (homepath.Roots{Repos: run.repos}).Rel(abs); how == homepath.Repo {
		return rel
	}
	return finding.CleanPath(abs)
}

// fileURIPath returns the decoded path of an absolute file URI
// ("file:///x/y", "file://host/x", "file:/x") or of an absolute path
// written without a scheme ("/x/y", "C:/x"); ok is false otherwise.
func fileURIPath(uri string) (string, bool) {
	switch {
	case len(uri) >= 5 && strings.EqualFold(uri[:5], "file:"):
		u, err := url.Parse(uri)
		if err != nil {
			return "", false
		}
		p := u.Path
		if p == "" {
			p = u.Opaque
		}
		if len(p) >= 3 && p[0] == '/' && p[2] == ':' {
			p = p[1:] // /C:/x → C:/x
		}
		return p, strings.HasPrefix(p, "/") || len(p) >= 2 && p[1] == ':'
	case strings.HasPrefix(uri, "/"):
		return unescape(uri), true
	case len(uri) >= 3 && uri[1] == ':' && (uri[2] == '/' || uri[2] == '\\'):
		return strings.ReplaceAll(uri, `\`, "/"), true
	}
	return "", false
}

func unescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}
