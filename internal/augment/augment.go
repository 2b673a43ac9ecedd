// Package augment makes identifier-replaced copies of findings for
// training: the same finding with another package, other versions (in the
// same order and on the same release lines), other vulnerability and CWE
// ids, other paths and line numbers and other rule ids, every occurrence
// replaced in every text field at once. Narrated like the original, a copy
// teaches the same lesson with facts the model cannot have memorised: the
// only way to get them right is to read them out of the prompt (issue 16:
// a model tuned on the samples alone wrote their versions and paths into
// answers about other projects).
//
// The package rewrites findings, not examples: narrate and remedy build the
// copy's prompt and answer from the rewritten finding exactly as they build
// the original's, so the copy is consistent by construction (the fix
// snippet pins the copy's fixed version, the CWE name is the catalogue's
// name of the copy's CWE), and free text the scanner wrote is rewritten by
// the same table of replacements.
//
// A CWE is replaced by a relative in MITRE's Research Concepts view (a
// sibling under the same parent first, else a weakness under the same
// class or pillar): a random weakness would make the copy's "Address the
// underlying weakness" step teach nonsense, grounded as it is.
//
// A copy of a dependency finding may also move to another ecosystem
// (Catalogue.Ecosystems, ecosystem.go): another ecosystem's package, lock
// file, version shape and name in the text, so the copy's answer gives
// that ecosystem's fix; the samples' dependencies are all one Gradle
// project's.
package augment

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/ident"
	"github.com/vulntune/vulntune/internal/remedy"
	"github.com/vulntune/vulntune/internal/remedy/cwe"
)

// Version identifies how Finding replaces: bump it whenever a copy of the
// same finding would come out differently, so `vulntune run` rebuilds a
// dataset augmented the old way.
const Version = 3

// Catalogue is what replacements are drawn from.
type Catalogue struct {
	// Packages are replacement package names by canonical ecosystem
	// (finding.CanonicalEcosystem: "maven", "npm", "pypi", "go"...), each
	// in its ecosystem's own shape ("group:artifact" for Maven). Other
	// holds the names for ecosystems without a pool of their own.
	Packages map[string][]string
	Other    []string
	// Directories replace the directory parts of paths; FileStems the
	// names of files that are not well-known build or config files (the
	// extension is kept, so the language and the tools stay the same).
	Directories []string
	FileStems   []string
	// RuleNames replace the last part of rule ids that carry no digits
	// (Semgrep's "java.lang.security.audit.formatted-sql-string");
	// the digits of other rule ids are drawn anew.
	RuleNames []string
	// RuleNamespaces, in RuleNamespaceShare of the copies of code findings
	// whose rule id has no digits, replace the rule id's prefix with one
	// of them and a slash: ESLint's "vue/multi-word-component-names" and
	// CodeQL's "js/unused-local-variable" read like paths, and a model
	// that saw only Semgrep's dotted ids took them for the file (0: none;
	// slashRule).
	RuleNamespaces     []string
	RuleNamespaceShare float64
	// StemQualifiers, in StemQualifierShare of the copies of code and
	// config findings, follow a replaced file name with a dot and one of
	// them before the extension (events.pb.go, app.min.js, main.auto.tf):
	// a model that saw only one-dot names cut gosec's
	// events_vtproto.pb.go to events_vtproto.pb (0: none; stemQualifier).
	StemQualifiers     []string
	StemQualifierShare float64
	// CWEs are the CWE ids a finding's CWEs are replaced with; empty
	// means every weakness of the catalogue that MITRE has not deprecated.
	// Either way a CWE is replaced by one of its relatives in the pool when
	// there is one (cweCandidates).
	CWEs []string
	// Ecosystems are the ecosystems a dependency copy may move to (see
	// Ecosystems for those possible), EcosystemShare the share of the
	// copies that can move which do (0: none; moveTarget).
	Ecosystems     []string
	EcosystemShare float64
	// FixShare is the share of the copies of operating-system package
	// findings without a fix that gain one (gainedFix; 0: none).
	FixShare float64
	// LineMoveShare is the share of the copies of dependency findings
	// with a fix on the installed release line whose fix moves to a
	// later line (movedFix; 0: none).
	LineMoveShare float64
	// CWEDropShare is the share of the copies of findings with a CWE that
	// lose it (dropsCWE), LineDropShare of those with a line (dropsLine);
	// 0: none.
	CWEDropShare, LineDropShare float64
	// DirectoryShare is the share of the copies moved out of a manifest
	// or lock file whose location is the file's directory instead
	// (movesToDirectory; 0: none).
	DirectoryShare float64
	// LinkDropShare is the share of the copies of findings with a rule's
	// page (no package's) that lose it (dropsLink; 0: none).
	LinkDropShare float64
}

// Avoid says which identifiers a copy must not take: those of held-out
// examples, so that no training copy names what the model is evaluated on.
type Avoid struct {
	Packages map[string]bool // finding.CanonicalPackageName, by "eco|name"
	VulnIDs  map[string]bool // upper-cased
	Paths    map[string]bool
}

// Replacement is one identifier and what a copy names instead.
type Replacement struct {
	Kind string `json:"kind"`
	Old  string `json:"old"`
	New  string `json:"new"`
}

// Kinds of Replacement beyond ident's kinds.
const (
	KindPackage = "package"
	KindRule    = "rule"
	KindLine    = "line"
	KindImage   = "image"
	KindURLPath = "url path"
	// A moved copy's ecosystem and the base name of its manifest or
	// lock file.
	KindEcosystem = "ecosystem"
	KindManifest  = "manifest"
	// The fixed version a copy gained (gainedFix; Old is empty).
	KindFix = "fix"
	// The fixed version a copy's fix moved to, on a later release line
	// (movedFix; Old is empty: the original's fixed version is replaced
	// as every version is).
	KindFixLine = "fix line"
	// A CWE a copy lost (dropsCWE; New is empty).
	KindNoCWE = "no cwe"
)

// Seed is the random source of copy n of the finding with id: the same
// finding and copy number always get the same replacements.
func Seed(id string, n int) *rand.Rand {
	h := sha256.Sum256(fmt.Appendf(nil, "augment|%s|%d", id, n))
	return rand.New(rand.NewPCG(binary.LittleEndian.Uint64(h[:8]), binary.LittleEndian.Uint64(h[8:16])))
}

// CopyID is the finding id of copy n of the finding with id.
func CopyID(id string, n int) string {
	h := sha256.Sum256(fmt.Appendf(nil, "augment-id|%s|%d", id, n))
	return hex.EncodeToString(h[:12])
}

// Finding returns copy n (1, 2, ...) of f with its identifiers replaced,
// and the replacements made. It fails when f has nothing to replace or a
// version the copy cannot keep in order (no numeric part), and when a pool
// it needs is empty: the caller leaves such a finding without copies.
func Finding(f *finding.Finding, n int, cat Catalogue, avoid Avoid) (finding.Finding, []Replacement, error) {
	return copyOf(f, n, cat, avoid, "")
}

// MovedCopy returns copy n of f moved to the ecosystem target, one of
// Targets(f, cat), whatever cat.EcosystemShare draws: the caller chooses
// where copies go (pipeline balances the training split's ecosystems). It
// fails when target is not one of them or when f's versions cannot be
// written in target's shape.
func MovedCopy(f *finding.Finding, n int, cat Catalogue, avoid Avoid, target string) (finding.Finding, []Replacement, error) {
	if target == "" || !slices.Contains(Targets(f, cat), target) {
		return finding.Finding{}, nil, fmt.Errorf("finding %s: cannot move to ecosystem %q", f.ID, target)
	}
	c, reps, err := copyOf(f, n, cat, avoid, target)
	if err == nil && !slices.ContainsFunc(reps, func(r Replacement) bool { return r.Kind == KindEcosystem }) {
		return finding.Finding{}, nil, fmt.Errorf("finding %s: versions cannot be written in ecosystem %q's shape", f.ID, target)
	}
	return c, reps, err
}

// copyOf is Finding, moved to the ecosystem to when it is not "".
func copyOf(f *finding.Finding, n int, cat Catalogue, avoid Avoid, to string) (finding.Finding, []Replacement, error) {
	gained, fixed := gainedFix(f, n, cat)
	if fixed != "" {
		f = withFix(f, gained, fixed)
	}
	// The ecosystem the copy moves to (moveTarget), drawn here for
	// movedFix too: nothing below changes what it reads (the package's
	// name and ecosystem, the file).
	target, targetFile := moveTarget(f, n, cat, to)
	moved, was := movedFix(f, n, cat, target)
	if moved != "" {
		f = withMovedFix(f, moved, was)
	}
	var dropped []string
	if cwe, line, link := dropsCWE(f, n, cat), dropsLine(f, n, cat), dropsLink(f, n, cat); cwe || line || link {
		if cwe {
			dropped = f.CWE
		}
		f = without(f, cwe, line, link)
	}
	rng := Seed(f.ID, n)
	c := clone(f)
	c.ID = CopyID(f.ID, n)
	var reps []Replacement
	add := func(kind, old, new string) {
		if old != "" && old != new {
			reps = append(reps, Replacement{Kind: kind, Old: old, New: new})
		}
	}
	texts := allText(f)

	var tr []textRep
	var flavoured []string
	// The package and its versions, in another ecosystem when the copy
	// moves (target).
	if p := f.Package; p != nil {
		eco := finding.CanonicalEcosystem(p.Ecosystem)
		// A flavoured artifact's fixes are given in the installed
		// flavour: under another name remedy would not know to switch.
		kept, _ := remedy.KeepFlavour(p.Ecosystem, p.Name, p.InstalledVersion, p.FixedVersions)
		flavoured = kept
		own := append(append([]string{p.InstalledVersion}, p.FixedVersions...), kept...)
		vs := slices.Clone(own)
		// Versions the scanner's text names ("logback version 1.5.12")
		// join the tree, so the copy's prose stays in order with its
		// facts; only those of three or more parts, as "TLS 1.2" and a
		// CVSS "3.1" are not package versions.
		for _, t := range texts {
			for _, m := range textVersionRE.FindAllStringSubmatch(t, -1) {
				vs = append(vs, m[1])
			}
		}
		vs = sortedUnique(vs)
		// A copy moving to an ecosystem its versions cannot be written in
		// stays where it is.
		shaped := map[string]string{}
		if target != "" {
			pkg := map[string]bool{}
			for _, v := range own {
				pkg[v] = true
			}
			var ok bool
			if shaped, ok = shapeVersions(target, vs, pkg); !ok {
				target, targetFile = "", ""
			}
		}
		peco := eco
		if target != "" {
			peco = target
		}
		names := cat.Packages[peco]
		if len(names) == 0 {
			names = cat.Other
		}
		var cands []string
		for _, nm := range names {
			if nm != p.Name && !avoid.Packages[peco+"|"+finding.CanonicalPackageName(peco, nm)] {
				cands = append(cands, nm)
			}
		}
		if len(cands) == 0 {
			return finding.Finding{}, nil, fmt.Errorf("finding %s: no replacement package name for ecosystem %q (dataset.augment.packages)", f.ID, peco)
		}
		np := cands[rng.IntN(len(cands))]
		var vmap map[string]string
		var err error
		if target == "" {
			vmap, err = mapVersions(rng, vs)
		} else {
			var sv []string
			for _, v := range vs {
				sv = append(sv, shaped[v])
			}
			var smap map[string]string
			smap, err = mapVersions(rng, sortedUnique(sv))
			vmap = map[string]string{}
			for _, v := range vs {
				vmap[v] = smap[shaped[v]]
			}
		}
		if err != nil {
			return finding.Finding{}, nil, fmt.Errorf("finding %s: %w", f.ID, err)
		}
		if target == "go" {
			for _, v := range own {
				if v != "" {
					np = goModulePath(np, vmap[v])
					break
				}
			}
		}
		add(KindPackage, p.Name, np)
		tr = append(tr, packageReps(p.Name, np)...)
		for _, v := range vs {
			if v != "" && vmap[v] != v {
				add(ident.KindVersion, v, vmap[v])
			}
		}
		if target != "" {
			add(KindEcosystem, eco, target)
			tr = append(tr, ecosystemReps(eco, target)...)
		}
	}

	// Vulnerability ids: the finding's and any its text names.
	vulns := map[string]string{}
	vids := slices.Clone(f.VulnIDs)
	for _, t := range texts {
		vids = append(vids, ident.VulnRE.FindAllString(t, -1)...)
	}
	for _, t := range f.Tools {
		if ident.VulnRE.MatchString(t.RuleID) && ident.VulnRE.FindString(t.RuleID) == t.RuleID {
			vids = append(vids, t.RuleID)
		}
	}
	for _, id := range vids {
		up := strings.ToUpper(id)
		if _, ok := vulns[up]; ok {
			continue
		}
		var nid string
		for try := 0; ; try++ {
			nid = newVulnID(rng, up)
			// An id that names the package (Snyk's
			// "npm:tunnel-agent:20170305") names the copy's.
			if named := newReplacer(tr).replace(up); named != up {
				nid = redraw(rng, named, false)
			}
			if !avoid.VulnIDs[nid] && nid != up || try > 20 {
				break
			}
		}
		vulns[up] = nid
		add(ident.KindVulnID, up, nid)
	}

	// CWE ids: each replaced by a relative (cweCandidates), never one the
	// finding already names.
	cwes := map[int]int{}
	var olds []string
	olds = append(olds, f.CWE...)
	for _, t := range texts {
		olds = append(olds, ident.CWERE.FindAllString(t, -1)...)
	}
	named := map[int]bool{}
	for _, o := range olds {
		if num, ok := cwe.ParseID(ident.NormCWE(o)); ok {
			named[num] = true
		}
	}
	for _, o := range olds {
		num, ok := cwe.ParseID(ident.NormCWE(o))
		if !ok || cwes[num] != 0 {
			continue
		}
		// Neither an id the finding names (the copy would still name it,
		// and the replacer would turn it into another) nor one another of
		// its CWEs became (two ids would merge into one).
		taken := maps.Clone(named)
		for _, v := range cwes {
			taken[v] = true
		}
		cands := cweCandidates(num, cat.CWEs, taken)
		if len(cands) == 0 {
			return finding.Finding{}, nil, fmt.Errorf("finding %s: no unused CWE to replace %s with (dataset.augment.cwes)", f.ID, o)
		}
		cwes[num] = cands[rng.IntN(len(cands))]
		add(ident.KindCWE, fmt.Sprintf("CWE-%d", num), fmt.Sprintf("CWE-%d", cwes[num]))
	}

	// Paths, with their lines moved by one offset per finding.
	dirs, stems := map[string]string{}, map[string]string{}
	shift := 0
	if lo := minLine(f); lo > 0 {
		shift = rng.IntN(120) - min(lo-1, 40)
		if shift == 0 {
			shift = 1 + rng.IntN(9)
		}
	}
	paths := map[string]string{}
	qual := stemQualifier(f, n, cat)
	for _, p := range allPaths(f) {
		if _, ok := paths[p]; ok {
			continue
		}
		var np string
		for try := 0; ; try++ {
			var err error
			np, err = newPath(rng, p, cat, dirs, stems, qual)
			if err != nil {
				return finding.Finding{}, nil, fmt.Errorf("finding %s: %w", f.ID, err)
			}
			if !avoid.Paths[np] || try > 20 {
				break
			}
			clear(dirs)
			clear(stems)
		}
		if targetFile != "" && p == f.Location.Path {
			// A moved copy's manifest or lock file is its new
			// ecosystem's, in the directory the copy drew, or that
			// directory alone.
			ob := base(p)
			np = strings.TrimSuffix(np, ob) + targetFile
			add(KindManifest, ob, targetFile)
			if d := strings.TrimSuffix(np, "/"+targetFile); d != np && movesToDirectory(f, n, cat) {
				np = d
			}
		}
		paths[p] = np
		add(ident.KindPath, p, np)
	}
	// A container image: its repository path is a name like a directory's;
	// the registry host and the tag are kept.
	if img := f.Location.Image; img != "" {
		ni := newImage(rng, img, cat, dirs)
		add(KindImage, img, ni)
	}
	// A web finding's URL: its path segments are names too; the scheme,
	// host and query are kept.
	if u := f.Location.URL; u != "" {
		if nu := newURL(rng, u, cat, dirs); nu != u {
			add(KindURLPath, u, nu)
		}
	}
	for o, s := range stems {
		// A file's stem also names its class or module in the text
		// ("RelyingParty" in RelyingParty.java); short stems ("app",
		// "main") are words too, so only distinctive ones are replaced.
		if len(o) >= 5 {
			tr = append(tr, textRep{old: o, new: s, fold: true})
		}
	}

	// Rule ids. A license finding's rule is the license ("MIT License",
	// "EPL-1.0") and a secret finding's the kind of credential
	// ("github-pat"): what the finding is about, not whose it is, and
	// what remedy's guidance depends on.
	for _, t := range f.Tools {
		if t.RuleID == "" || f.Kind == finding.KindLicense || f.Kind == finding.KindSecret {
			continue
		}
		if _, ok := vulns[strings.ToUpper(t.RuleID)]; ok {
			continue
		}
		// A rule id may name the package ("npm:tunnel-agent:20170305").
		nr := newRule(rng, newReplacer(tr).replace(t.RuleID), cat.RuleNames)
		if ns := slashRule(f, n, cat); ns != "" {
			nr = ns + "/" + nr[strings.LastIndexAny(nr, "./:")+1:]
		}
		if nr != t.RuleID {
			add(KindRule, t.RuleID, nr)
		}
	}
	if len(reps) == 0 {
		return finding.Finding{}, nil, fmt.Errorf("finding %s: no identifier to replace", f.ID)
	}

	// Lines named with their path ("a.yml:12") change with the location.
	if shift != 0 {
		for _, l := range allLocations(f) {
			if l.Path != "" && l.StartLine > 0 {
				tr = append(tr, textRep{old: fmt.Sprintf("%s:%d", l.Path, l.StartLine), new: fmt.Sprintf("%s:%d", paths[l.Path], l.StartLine+shift)})
			}
		}
		reps = append(reps, Replacement{Kind: KindLine, Old: "+0", New: fmt.Sprintf("%+d", shift)})
	}
	for _, r := range reps {
		switch r.Kind {
		case ident.KindVulnID, KindPackage:
			tr = append(tr, textRep{old: r.Old, new: r.New, fold: true})
		case ident.KindCWE:
			// Every spelling ("CWE-79", "cwe 79") and the entry's page.
			tr = append(tr, textRep{old: r.Old, new: r.New, cwe: true},
				textRep{old: "definitions/" + strings.TrimPrefix(r.Old, "CWE-") + ".html", new: "definitions/" + strings.TrimPrefix(r.New, "CWE-") + ".html"})
		case ident.KindVersion:
			tr = append(tr, textRep{old: r.Old, new: r.New})
			switch {
			case strings.HasPrefix(r.Old, "v"):
			case strings.HasPrefix(r.New, "v"):
				// Moved to Go: "v1.2.3" and "1.2.3" are one version.
				tr = append(tr, textRep{old: "v" + r.Old, new: r.New})
			default:
				tr = append(tr, textRep{old: "v" + r.Old, new: "v" + r.New})
			}
		case KindManifest:
			tr = append(tr, textRep{old: r.Old, new: r.New})
		case ident.KindPath, KindRule, KindImage, KindURLPath:
			tr = append(tr, textRep{old: r.Old, new: r.New})
			if b := base(r.Old); r.Kind == ident.KindPath && b != r.Old && b != base(r.New) && !ident.KnownFiles[strings.ToLower(b)] {
				tr = append(tr, textRep{old: b, new: base(r.New)})
			}
		}
	}
	rp := newReplacer(tr)

	// Structured fields first, then every text field through the table.
	for i := range c.VulnIDs {
		c.VulnIDs[i] = rp.replace(c.VulnIDs[i])
	}
	for i := range c.CWE {
		if num, ok := cwe.ParseID(ident.NormCWE(c.CWE[i])); ok && cwes[num] != 0 {
			c.CWE[i] = fmt.Sprintf("CWE-%d", cwes[num])
		}
	}
	for i := range c.Tools {
		c.Tools[i].RuleID = rp.replace(c.Tools[i].RuleID)
	}
	if p := c.Package; p != nil {
		for _, r := range reps {
			switch {
			case r.Kind == KindPackage:
				p.Name = r.New
			case r.Kind == ident.KindVersion && p.InstalledVersion == r.Old:
				p.InstalledVersion = r.New
			}
		}
		p.FixedVersions = slices.Clone(flavoured)
		for i, v := range p.FixedVersions {
			for _, r := range reps {
				if r.Kind == ident.KindVersion && r.Old == v {
					p.FixedVersions[i] = r.New
				}
			}
		}
		p.PURL = rp.replace(p.PURL)
		if target != "" {
			p.Ecosystem = target
			if p.PURL != "" {
				p.PURL = finding.PURL(target, p.Name, p.InstalledVersion)
			}
		}
	}
	moveLocation := func(l *finding.Location) {
		if np, ok := paths[l.Path]; ok {
			l.Path = np
		}
		if l.StartLine > 0 {
			l.StartLine += shift
		}
		if l.EndLine > 0 {
			l.EndLine += shift
		}
		l.Snippet = rp.replace(l.Snippet)
		for i := range l.Logical {
			l.Logical[i] = rp.replace(l.Logical[i])
		}
	}
	moveLocation(&c.Location)
	c.Location.Image = rp.replace(c.Location.Image)
	c.Location.URL = rp.replace(c.Location.URL)
	for i := range c.Related {
		c.Related[i].URL = rp.replace(c.Related[i].URL)
	}
	for i := range c.Related {
		moveLocation(&c.Related[i])
	}
	for i := range c.Flow {
		moveLocation(&c.Flow[i])
	}
	for i := range c.Fixes {
		fx := &c.Fixes[i]
		if np, ok := paths[fx.Path]; ok {
			fx.Path = np
		}
		if fx.StartLine > 0 {
			fx.StartLine += shift
		}
		if fx.EndLine > 0 {
			fx.EndLine += shift
		}
		fx.Description, fx.Replacement = rp.replace(fx.Description), rp.replace(fx.Replacement)
	}
	c.Title, c.Message, c.Description, c.HelpURI = rp.replace(c.Title), rp.replace(c.Message), rp.replace(c.Description), rp.replace(c.HelpURI)
	for i := range c.References {
		c.References[i] = rp.replace(c.References[i])
	}
	for k, v := range c.Properties {
		c.Properties[k] = rp.replace(v)
	}
	if c.Suppression != nil {
		c.Suppression.Justification = rp.replace(c.Suppression.Justification)
	}
	if fixed != "" {
		// Recorded after the text table is built: nothing in the
		// original's text is replaced by it.
		reps = append(reps, Replacement{Kind: KindFix, New: c.Package.FixedVersions[0]})
	}
	if moved != "" {
		reps = append(reps, Replacement{Kind: KindFixLine, New: c.Package.FixedVersions[0]})
	}
	for _, id := range dropped {
		reps = append(reps, Replacement{Kind: KindNoCWE, Old: ident.NormCWE(id)})
	}
	return c, reps, nil
}

// Leftovers returns the original identifiers of reps that text still
// names: a copy that keeps one teaches the constant it was made to hide.
func Leftovers(text string, reps []Replacement) []string {
	var out []string
	low := strings.ToLower(text)
	for _, r := range reps {
		switch r.Kind {
		case KindLine:
			continue
		case ident.KindCWE, KindNoCWE:
			for _, m := range ident.CWERE.FindAllString(text, -1) {
				if ident.NormCWE(m) == r.Old {
					out = append(out, r.Old)
					break
				}
			}
		case ident.KindVulnID, KindPackage, KindEcosystem:
			if ident.ContainsWord(low, strings.ToLower(r.Old)) {
				out = append(out, r.Old)
			}
		default:
			if ident.ContainsWord(text, r.Old) {
				out = append(out, r.Old)
			}
		}
	}
	return out
}

// newVulnID draws an id of the same family and shape: every digit anew
// (a CVE's year from 2010 to 2025), and the letters of GHSA-style groups.
// Numeric parts other than the year start with "99" and are two digits
// longer than the original's: a drawn CVE-2021-44228 would be a real
// advisory about another package, and a published dataset must not tie a
// real id to a made-up package; no numbering authority has assigned
// numbers of that range (real sequence numbers run to five digits, or
// seven from 1000000 in the DWF range). GHSA ids keep their shape: twelve
// characters of a 20-letter alphabet do not collide with real ones.
func newVulnID(rng *rand.Rand, id string) string {
	fam, rest, ok := strings.Cut(id, "-")
	if !ok {
		return id
	}
	parts := strings.Split(rest, "-")
	for i, p := range parts {
		if i == 0 && isYear(fam, p) {
			parts[i] = strconv.Itoa(2010 + rng.IntN(16))
			continue
		}
		if fam == "GHSA" || fam == "CGA" {
			// Advisory ids are written lower-case after the prefix.
			parts[i] = redraw(rng, strings.ToLower(p), true)
			continue
		}
		if year, num, ok := strings.Cut(p, ":"); ok && i == 0 && isYear(fam, year) {
			// Red Hat's "2020:1234".
			parts[i] = strconv.Itoa(2010+rng.IntN(16)) + ":" + unassigned(redraw(rng, num, false))
			continue
		}
		parts[i] = unassigned(redraw(rng, p, false))
	}
	return fam + "-" + strings.Join(parts, "-")
}

// isYear reports whether p, the first part after an id's family, is the
// year of families numbered per year (CVE-2021-, ALAS2-2023-, RHSA-2020:);
// Debian's and Ubuntu's ids start with a sequence number instead.
func isYear(fam, p string) bool {
	switch fam {
	case "DSA", "DLA", "USN":
		return false
	}
	return len(p) == 4 && isDigits(p) && (strings.HasPrefix(p, "19") || strings.HasPrefix(p, "20"))
}

// unassigned puts a drawn number where no advisory is numbered: "99" before
// it when it is all digits (Snyk's letters are kept).
func unassigned(p string) string {
	if isDigits(p) {
		return "99" + p
	}
	return p
}

// ghsaAlphabet is the alphabet of GitHub advisory ids.
const ghsaAlphabet = "23456789cfghjmpqrvwx"

// redraw replaces each digit of s with a random digit (never a leading
// zero where s had none) and, with letters, each letter or digit with a
// character of the GHSA alphabet in the same case.
func redraw(rng *rand.Rand, s string, letters bool) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case letters && (isAlnum(c)):
			n := ghsaAlphabet[rng.IntN(len(ghsaAlphabet))]
			if c >= 'A' && c <= 'Z' {
				n = byte(unicode.ToUpper(rune(n)))
			}
			b[i] = n
		case c >= '0' && c <= '9':
			d := byte('0' + rng.IntN(10))
			if i == 0 && c != '0' && d == '0' {
				d = byte('1' + rng.IntN(9))
			}
			b[i] = d
		}
	}
	return string(b)
}

// newRule draws a rule id of the same shape: its digits anew, or, for an
// id without digits, its last part from the pool of rule names. Short
// numeric ids ("1") are kept: they are words of every text.
func newRule(rng *rand.Rand, id string, names []string) string {
	digits := 0
	for i := 0; i < len(id); i++ {
		if id[i] >= '0' && id[i] <= '9' {
			digits++
		}
	}
	switch {
	case isDigits(id) && len(id) < 3:
		return id
	case digits > 0:
		for try := 0; try < 10; try++ {
			if n := redraw(rng, id, false); n != id {
				return n
			}
		}
		return id
	case len(names) == 0:
		return id
	}
	i := strings.LastIndexAny(id, "./:")
	name := names[rng.IntN(len(names))]
	if id[i+1:] == name {
		return id
	}
	return id[:i+1] + name
}

// slashRule is the namespace copy n of f gives its rule ids
// (Catalogue.RuleNamespaces), or "" when it keeps their form: f is a code
// finding whose rule ids have no digits (those are drawn anew, keeping
// their shape), and the copy falls in cat.RuleNamespaceShare.
func slashRule(f *finding.Finding, n int, cat Catalogue) string {
	if cat.RuleNamespaceShare <= 0 || len(cat.RuleNamespaces) == 0 || f.Kind != finding.KindCode {
		return ""
	}
	for _, t := range f.Tools {
		if strings.ContainsAny(t.RuleID, "0123456789") {
			return ""
		}
	}
	rng := Seed(f.ID+"|rule-namespace", n)
	if rng.Float64() >= cat.RuleNamespaceShare {
		return ""
	}
	return cat.RuleNamespaces[rng.IntN(len(cat.RuleNamespaces))]
}

// stemQualifier is the qualifier copy n of f puts between its files' new
// names and their extensions (Catalogue.StemQualifiers), or "" when they
// keep one dot: f is a code or config finding and the copy falls in
// cat.StemQualifierShare.
func stemQualifier(f *finding.Finding, n int, cat Catalogue) string {
	if cat.StemQualifierShare <= 0 || len(cat.StemQualifiers) == 0 || (f.Kind != finding.KindCode && f.Kind != finding.KindConfig) {
		return ""
	}
	rng := Seed(f.ID+"|stem-qualifier", n)
	if rng.Float64() >= cat.StemQualifierShare {
		return ""
	}
	return cat.StemQualifiers[rng.IntN(len(cat.StemQualifiers))]
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// packageReps are the text replacements of a package name: the whole name
// and, for a name with a group or scope ("com.google.guava:guava",
// "@scope/name", "github.com/org/mod"), its last part, which prose names
// on its own ("Guava"), when it is distinctive enough not to be a word.
func packageReps(old, new string) []textRep {
	out := []textRep{{old: old, new: new, fold: true}}
	last := func(s string) string {
		s = goMajorRE.ReplaceAllString(s, "") // a Go module's name, not its "/v2"
		return s[strings.LastIndexAny(s, ":/")+1:]
	}
	lo, ln := last(old), last(new)
	if lo != old && len(lo) >= 4 && lo != ln {
		out = append(out, textRep{old: lo, new: ln, fold: true})
	}
	// The project a module belongs to ("logback" of "logback-core"); a
	// new name without one (a moved copy's "orbitlib") stands for it whole.
	if po, _, ok := strings.Cut(lo, "-"); ok && len(po) >= 5 {
		if pn, _, _ := strings.Cut(ln, "-"); !strings.EqualFold(po, pn) {
			out = append(out, textRep{old: po, new: pn, fold: true})
		}
	}
	if g, _, ok := strings.Cut(old, ":"); ok && len(g) >= 4 {
		if ng, _, ok := strings.Cut(new, ":"); ok && g != ng {
			out = append(out, textRep{old: g, new: ng})
		}
	}
	return out
}

// textVersionRE finds versions of three or more numeric parts in text.
var textVersionRE = regexp.MustCompile(`(?:^|[\s(@:=])(v?\d+\.\d+\.\d+(?:[-+~.][0-9A-Za-z][0-9A-Za-z.+~-]*)?)`)

func sortedUnique(vs []string) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		if v = strings.TrimRight(v, ".,;:"); v != "" {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// allText is every free-text field of f that replacements apply to.
func allText(f *finding.Finding) []string {
	out := []string{f.Title, f.Message, f.Description, f.HelpURI}
	out = append(out, f.References...)
	for _, l := range allLocations(f) {
		out = append(out, l.Snippet)
		out = append(out, l.Logical...)
	}
	for _, fx := range f.Fixes {
		out = append(out, fx.Description, fx.Replacement)
	}
	keys := make([]string, 0, len(f.Properties))
	for k := range f.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, f.Properties[k])
	}
	return out
}

func allLocations(f *finding.Finding) []finding.Location {
	out := []finding.Location{f.Location}
	out = append(out, f.Related...)
	return append(out, f.Flow...)
}

func allPaths(f *finding.Finding) []string {
	var out []string
	for _, l := range allLocations(f) {
		if l.Path != "" {
			out = append(out, l.Path)
		}
	}
	for _, fx := range f.Fixes {
		if fx.Path != "" {
			out = append(out, fx.Path)
		}
	}
	return out
}

func minLine(f *finding.Finding) int {
	lo := 0
	for _, l := range allLocations(f) {
		if l.StartLine > 0 && (lo == 0 || l.StartLine < lo) {
			lo = l.StartLine
		}
	}
	return lo
}

func base(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

// newPath replaces the directories of p (each the same way throughout the
// finding, through dirs) and the stem of its file name (through stems).
// Directories that are a convention rather than a name (".github",
// "src", "main", "test"...) and build or config files every project of an
// ecosystem has (package.json, gradle.lockfile) are kept: the fix depends
// on them.
func newPath(rng *rand.Rand, p string, cat Catalogue, dirs, stems map[string]string, qual string) (string, error) {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		last := i == len(segs)-1
		switch {
		case s == "" || s == "." || s == "..":
		case !last && (strings.HasPrefix(s, ".") || conventionalDirs[strings.ToLower(s)]):
		case !last:
			if _, ok := dirs[s]; !ok {
				if len(cat.Directories) == 0 {
					return "", fmt.Errorf("no replacement directory names (dataset.augment.directories)")
				}
				dirs[s] = pick(rng, cat.Directories, s, dirs)
			}
			segs[i] = dirs[s]
		case ident.KnownFiles[strings.ToLower(s)] || keptFiles[strings.ToLower(s)] || !strings.Contains(s[1:], "."):
			// Build and config files every project has, and names
			// without an extension (Dockerfile, Makefile) say what a
			// file is, not whose.
		default:
			// The extension is what follows the first dot (app.module.ts,
			// archive.tar.gz) unless that holds a version
			// (mariadb-java-client-3.1.4.jar): then the last dot's.
			stem, ext := s, ""
			if j := strings.IndexByte(s[1:], '.'); j >= 0 {
				stem, ext = s[:j+1], s[j+1:]
				if strings.ContainsAny(ext[1:], "0123456789") {
					k := strings.LastIndexByte(s, '.')
					stem, ext = s[:k], s[k:]
				}
			}
			if _, ok := stems[stem]; !ok {
				if len(cat.FileStems) == 0 {
					return "", fmt.Errorf("no replacement file names (dataset.augment.file_stems)")
				}
				n := pick(rng, cat.FileStems, stem, stems)
				stems[stem] = styled(stem, n)
			}
			// The qualifier is the file's, not the name's: the text
			// that names the class or module keeps the bare stem.
			if qual != "" && !strings.Contains(ext[1:], ".") {
				ext = "." + qual + ext
			}
			segs[i] = stems[stem] + ext
		}
	}
	return strings.Join(segs, "/"), nil
}

// keptFiles are conventional file names beyond ident.KnownFiles.
var keptFiles = map[string]bool{"androidmanifest.xml": true, "web.config": true, "app.config": true, "index.html": true}

// newImage replaces the repository path of a container image reference
// ("ghcr.io/owner/app:tag"), keeping a registry host (a first part with a
// dot or colon) and the tag or digest.
func newImage(rng *rand.Rand, img string, cat Catalogue, dirs map[string]string) string {
	name, tag := img, ""
	if i := strings.IndexAny(img, "@"); i >= 0 {
		name, tag = img[:i], img[i:]
	} else if i := strings.LastIndexByte(img, ':'); i > strings.LastIndexByte(img, '/') {
		name, tag = img[:i], img[i:]
	}
	segs := strings.Split(name, "/")
	for i, s := range segs {
		if i == 0 && len(segs) > 1 && strings.ContainsAny(s, ".:") || len(cat.Directories) == 0 {
			continue
		}
		if _, ok := dirs[s]; !ok {
			dirs[s] = pick(rng, cat.Directories, s, dirs)
		}
		segs[i] = dirs[s]
	}
	return strings.Join(segs, "/") + tag
}

// newURL replaces the path segments of a URL that are names (letters,
// digits, '-' and '_'), through dirs, and its host unless it is the local
// machine (a scan of localhost names no one): a site's name is as much
// the project's as its paths.
func newURL(rng *rand.Rand, raw string, cat Catalogue, dirs map[string]string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || len(cat.Directories) == 0 {
		return raw
	}
	if h := u.Hostname(); h != "localhost" && net.ParseIP(h) == nil {
		if _, ok := dirs[h]; !ok {
			dirs[h] = pick(rng, cat.Directories, h, dirs) + ".example.com"
		}
		u.Host = dirs[h]
		if p := u.Port(); p != "" {
			u.Host += ":" + p
		}
	}
	segs := strings.Split(u.Path, "/")
	for i, s := range segs {
		if s == "" || !nameRE.MatchString(s) {
			continue
		}
		if _, ok := dirs[s]; !ok {
			dirs[s] = pick(rng, cat.Directories, s, dirs)
		}
		segs[i] = dirs[s]
	}
	u.Path = strings.Join(segs, "/")
	u.RawPath = ""
	return u.String()
}

var nameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

// pick draws a pool entry other than old and not yet used in m.
func pick(rng *rand.Rand, pool []string, old string, m map[string]string) string {
	used := map[string]bool{}
	for _, v := range m {
		used[strings.ToLower(v)] = true
	}
	var cands []string
	for _, s := range pool {
		if !strings.EqualFold(s, old) && !used[strings.ToLower(s)] {
			cands = append(cands, s)
		}
	}
	if len(cands) == 0 {
		cands = pool
	}
	return cands[rng.IntN(len(cands))]
}

// styled writes the name n in the style of old: CamelCase for a Java class
// name, snake_case or kebab-case as old is written.
func styled(old, n string) string {
	words := strings.FieldsFunc(n, func(r rune) bool { return r == '-' || r == '_' || r == ' ' })
	switch {
	case old != "" && unicode.IsUpper(rune(old[0])):
		for i, w := range words {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
		return strings.Join(words, "")
	case strings.Contains(old, "_"):
		return strings.Join(words, "_")
	}
	return strings.Join(words, "-")
}

// conventionalDirs are directory names that say what a directory is for,
// not whose it is; replacing them would teach nothing and could change
// the fix (a workflow must stay under .github/workflows).
var conventionalDirs = map[string]bool{
	"src": true, "main": true, "test": true, "tests": true, "java": true, "kotlin": true, "resources": true,
	"webapp": true, "lib": true, "bin": true, "workflows": true, "templates": true, "config": true,
}

func clone(f *finding.Finding) finding.Finding {
	c := *f
	c.Tools = slices.Clone(f.Tools)
	c.References = slices.Clone(f.References)
	c.CWE = slices.Clone(f.CWE)
	c.VulnIDs = slices.Clone(f.VulnIDs)
	c.Location = cloneLoc(f.Location)
	c.Related, c.Flow = nil, nil
	for _, l := range f.Related {
		c.Related = append(c.Related, cloneLoc(l))
	}
	for _, l := range f.Flow {
		c.Flow = append(c.Flow, cloneLoc(l))
	}
	if f.Package != nil {
		p := *f.Package
		p.FixedVersions = slices.Clone(f.Package.FixedVersions)
		c.Package = &p
	}
	c.Fixes = slices.Clone(f.Fixes)
	if f.Suppression != nil {
		s := *f.Suppression
		c.Suppression = &s
	}
	if f.Properties != nil {
		c.Properties = map[string]string{}
		for k, v := range f.Properties {
			c.Properties[k] = v
		}
	}
	c.Sources = slices.Clone(f.Sources)
	c.Secrets = nil
	return c
}

func cloneLoc(l finding.Location) finding.Location {
	l.Logical = slices.Clone(l.Logical)
	return l
}
