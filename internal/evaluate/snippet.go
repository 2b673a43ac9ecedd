package evaluate

import (
	"regexp"
	"slices"
	"strings"

	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/ident"
)

// upgradeCmdRE finds a package manager's install or upgrade command in a
// line of prose or an inline code span: "npm install lodash@4.17.21",
// "pip install -U requests==2.31.0", "go get golang.org/x/net@v0.17.0".
var upgradeCmdRE = regexp.MustCompile(`(?i)\b(?:npm|pnpm|yarn|pip3?|poetry|uv|go|cargo|gem|bundle|composer|dotnet|nuget|mvn|apt-get|apt|apk|yum|dnf|brew)\s+(?:install|i|add|get|update|upgrade|require|up)\b`)

var inlineCodeRE = regexp.MustCompile("`([^`\n]+)`")

// epochRE is a Debian or RPM epoch ("1:") right before a version.
var epochRE = regexp.MustCompile(`(?:^|[^\w.:])(\d+:)$`)

// versionTokens returns the versions text names, each whole: where
// ident.LooseVerRE stops at a letter ("1.1.1" of OpenSSL's "1.1.1d-r2",
// "1.0.2" of RPM's "1:1.0.2k-19.el7"), the token runs on over the
// characters a version is made of, and takes in an epoch before it. A
// distribution version is compared whole or not at all.
func versionTokens(text string) []string {
	var out []string
	last := 0
	for _, m := range ident.LooseVerRE.FindAllStringIndex(text, -1) {
		start, end := m[0], m[1]
		if start < last {
			continue
		}
		for end < len(text) && versionByte(text[end]) {
			end++
		}
		if e := epochRE.FindStringSubmatchIndex(text[last:start]); e != nil {
			start = last + e[2]
		}
		out = append(out, text[start:end])
		last = end
	}
	return out
}

func versionByte(c byte) bool {
	return alnum(c) || c == '.' || c == '-' || c == '+' || c == '~' || c == '_'
}

// fixSnippets returns what a reader copies from answer to apply a fix:
// each fenced code block (an unclosed last one too: the answer was cut
// inside it) and each install or upgrade command outside them, in an
// inline code span or written bare (to the end of its clause,
// commandClause). Inline code that runs no command is left out: "the
// installed `logback-core:1.3.5`" describes, it does not fix.
// In a fenced diff, removed lines ("-" first) are left out: they show what
// the fix replaces.
func fixSnippets(answer string) []string {
	var out, block []string
	in := false
	flush := func() {
		diff := false
		for _, l := range block {
			diff = diff || strings.HasPrefix(l, "+") && !strings.HasPrefix(l, "+++")
		}
		var keep []string
		for _, l := range block {
			if diff && strings.HasPrefix(l, "-") {
				continue
			}
			keep = append(keep, l)
		}
		out = append(out, strings.Join(keep, "\n"))
		block = nil
	}
	for _, line := range strings.Split(answer, "\n") {
		if isFence(line) {
			if in {
				flush()
			}
			in = !in
			continue
		}
		if in {
			block = append(block, line)
			continue
		}
		rest := inlineCodeRE.ReplaceAllStringFunc(line, func(span string) string {
			if code := strings.Trim(span, "`"); upgradeCmdRE.MatchString(code) {
				out = append(out, code)
			}
			return " "
		})
		if loc := upgradeCmdRE.FindStringIndex(rest); loc != nil {
			out = append(out, commandClause(rest[loc[0]:]))
		}
	}
	if in && len(block) > 0 {
		flush()
	}
	return out
}

// isFence reports whether line opens or closes a fenced block, its indent
// aside.
func isFence(line string) bool {
	t := strings.TrimSpace(line)
	return strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~")
}

// clauseEndRE is where a command written bare in prose ends: a period,
// comma, semicolon or colon followed by a space. A version's dots are
// followed by digits, a registry coordinate's colon by its version.
var clauseEndRE = regexp.MustCompile(`[.,;:]\s`)

// commandClause cuts a bare command (s starts at its tool) at the end of
// its clause: in "run npm install: npm overrides force the version" or
// "then run bundle update rack." the prose after it is no part of what a
// reader runs, and a package that prose names is not the command's
// argument.
func commandClause(s string) string {
	if loc := clauseEndRE.FindStringIndex(s); loc != nil {
		s = s[:loc[0]]
	}
	return strings.TrimRight(s, ".,;: \t")
}

// pinning is what a fix snippet says about the package's version.
type pinning struct {
	// pins are the versions the snippet gives the package.
	pins []string
	// named: the snippet names the package at all.
	named bool
	// misnamed: it gives a version to the package's last part under
	// another owner (nameMentions), a coordinate that would not resolve
	// however right its version; or, never naming the package, it runs
	// an install command whose argument holds the package's name glued
	// to other text (gluedInstall).
	misnamed bool
	// unpinned: a line names the package and gives it no version where
	// it must (needsPin): a declaration or install a user would paste
	// that fixes nothing, or text that is no command at all.
	unpinned bool
}

// snippetPins returns what snip says about pkg's version: on each line
// that names the package, the first version after the name; when that
// line has none, the first version on one of the next three lines that
// says "version" (a Maven <version>, a Gradle "version ="); a line with
// neither is unpinned unless needsPin lets it be.
func snippetPins(snip, pkg string) pinning {
	var p pinning
	lines := strings.Split(snip, "\n")
	glued := false
	for i, line := range lines {
		ms := nameMentions(lines, i, pkg)
		if len(ms) == 0 {
			glued = glued || gluedInstall(line, pkg)
			continue
		}
		p.named = true
		var vers []string
		wrong := false
		for _, m := range ms {
			if v := versionTokens(line[m.end:]); len(v) > 0 {
				vers = append(vers, v[0])
			}
			wrong = wrong || m.wrongOwner
		}
		for j := i + 1; len(vers) == 0 && j < len(lines) && j <= i+3; j++ {
			if strings.Contains(strings.ToLower(lines[j]), "version") {
				if v := versionTokens(lines[j]); len(v) > 0 {
					vers = append(vers, v[0])
				}
			}
		}
		if wrong && len(vers) > 0 {
			p.misnamed = true
			continue
		}
		if len(vers) == 0 && needsPin(line, ms) {
			p.unpinned = true
		}
		p.pins = append(p.pins, vers...)
	}
	// A glued name counts only in a snippet that never names the package:
	// beside "npm install lodash@4.17.21", "npm install lodash.merge" is
	// another package's command, not a misspelling of this one.
	if !p.named && glued {
		p.named, p.misnamed = true, true
	}
	return p
}

// inspectCmdRE finds a command that reads which version a build resolves
// (npm ls, ./gradlew dependencyInsight, mvn dependency:tree, pip show, go
// list, dpkg-query ...) or refreshes a lock file within the range the
// manifest declares (npm update, bundle update, cargo update, composer
// update, poetry update, go mod tidy ...). Such a command names the
// package and rightly gives it no version: the reference answers verify
// with one ("./gradlew dependencyInsight --dependency logback-core") and
// move a transitive gem with one ("bundle update rack --conservative").
// Commands that move a package to the version they are given (npm
// install, yarn add, yarn up, pip install, go get, apk add, apt-get
// install ...) are not among them: without a version they install
// whatever is newest, or nothing new.
var inspectCmdRE = regexp.MustCompile(`(?i)(?:` +
	`\b(?:npm|pnpm)\s+(?:ls|list|ll|la|why|explain|view|info|show|outdated|audit|update|up|upgrade)\b` +
	`|\byarn\s+(?:why|list|info|outdated|audit|upgrade)\b` +
	`|\bpip3?\s+(?:show|list|index|freeze|check)\b|\bpip-compile\b|\bpipdeptree\b` +
	`|\bpipenv\s+(?:graph|update|lock)\b|\bpoetry\s+(?:show|update|lock)\b|\buv\s+(?:tree|lock|pip\s+(?:show|list))\b` +
	`|\bgo\s+(?:list|version|mod\s+(?:why|graph|tidy))\b` +
	`|\bcargo\s+(?:tree|update|search|info)\b` +
	`|\bbundle\s+(?:info|show|list|update|outdated|lock)\b|\bgem\s+(?:list|info|search)\b` +
	`|\bcomposer\s+(?:show|info|why|why-not|depends|outdated|update|audit)\b` +
	`|\bmvnw?\b[^\n]*?\b(?:dependency:(?:tree|list|analyze)|versions:display)` +
	`|\bgradlew?\b[^\n]*?\b(?:dependencyinsight|dependencies)\b` +
	`|\bdotnet\s+list\b` +
	`|\bdpkg-query\b|\bdpkg\s+-[lsLW]|\bapk\s+(?:info|version|policy|search)\b|\brpm\s+-q` +
	`|\bapt-cache\b|\bapt\s+(?:list|show|policy)\b|\b(?:yum|dnf)\s+(?:list|info|check-update)\b` +
	`|\b(?:grep|rg)\s` +
	`)`)

// needsPin says whether a snippet line that names the package (ms) and
// gives it no version is wrong. It is not when the line is a comment
// (#, //, <!--, /*), a Gradle because() reason (a finding without an id
// gives its title, which may name the package), or every mention follows
// an inspection or lock-refresh command (inspectCmdRE) with no install
// or upgrade command (upgradeCmdRE) after it: "npm ls lodash" is right,
// "npm ls lodash && npm install lodash" is not. Every other line is: a
// declaration ("implementation 'g:a'", "npm install lodash"), or text
// that is no command at all (issue 16's tuned model wrote
// "piprencabreelocalize(r'ch.qos.logback:logback-classic', ...)").
func needsPin(line string, ms []mention) bool {
	t := strings.TrimSpace(line)
	for _, c := range []string{"#", "//", "<!--", "/*", "because"} {
		if strings.HasPrefix(t, c) {
			return false
		}
	}
	for _, m := range ms {
		before := line[:m.start]
		if i := lastMatch(inspectCmdRE, before); i < 0 || i < lastMatch(upgradeCmdRE, before) {
			return true
		}
	}
	return false
}

// lastMatch is where re's last match in s starts, -1 without one.
func lastMatch(re *regexp.Regexp, s string) int {
	ms := re.FindAllStringIndex(s, -1)
	if len(ms) == 0 {
		return -1
	}
	return ms[len(ms)-1][0]
}

// shellSepRE ends a command's arguments.
var shellSepRE = regexp.MustCompile(`&&|\|\||[;|]`)

// gluedInstall says whether line runs an install or upgrade command one
// of whose arguments holds the package's name, or its last part, glued to
// other name characters: "go get golang.kts/io.netty-codec-http2" for
// io.netty:netty-codec-http2 (issue 16), a coordinate that resolves to
// nothing. It is asked only of lines that name the package nowhere
// (nameMentions).
func gluedInstall(line, pkg string) bool {
	_, _, p := splitOwner(pkg)
	if p == "" {
		return false
	}
	low := strings.ToLower(line)
	for _, loc := range upgradeCmdRE.FindAllStringIndex(low, -1) {
		args := low[loc[1]:]
		if sep := shellSepRE.FindStringIndex(args); sep != nil {
			args = args[:sep[0]]
		}
		for _, a := range strings.Fields(args) {
			if !strings.HasPrefix(a, "-") && strings.Contains(a, p) {
				return true
			}
		}
	}
	return false
}

// mention is where a line names a package: start and end are where the
// name starts and ends; wrongOwner says the line spells the name's owner
// (a Maven group, an npm scope, a Go module path's prefix) and spells
// another.
type mention struct {
	start, end int
	wrongOwner bool
}

var (
	// sbtGroupRE is an sbt module's group right before its artifact:
	// "ch.qos.logback" % "logback-core" (or %% for a Scala artifact).
	sbtGroupRE = regexp.MustCompile(`"([^"\s]+)"\s*%{1,3}\s*"$`)
	// gradleGroupRE is a Gradle map notation's group, on the artifact's
	// line: group: 'ch.qos.logback', name: 'logback-core'.
	gradleGroupRE = regexp.MustCompile(`\bgroup\s*[:=]\s*["']([^"'\s]+)["']`)
	// pomGroupRE is a Maven POM's <groupId>.
	pomGroupRE = regexp.MustCompile(`<groupid>\s*([^<\s]+)\s*</groupid>`)
	// pomStartRE and pomEndRE open and close the POM element that holds
	// an artifact's coordinate.
	pomStartRE = regexp.MustCompile(`<(?:dependency|plugin|parent)\b`)
	pomEndRE   = regexp.MustCompile(`</(?:dependency|plugin|parent)>`)
)

// splitOwner splits a package name, lower-cased, into its owner, the
// separator and its last part: "ch.qos.logback", ':', "logback-core" for a
// Maven group:artifact; "@acme", '/', "router" for a scoped npm name; a
// Go module path at its last slash; "", 0 and the whole name otherwise.
func splitOwner(pkg string) (owner string, sep byte, last string) {
	p := strings.ToLower(pkg)
	if k := strings.LastIndexAny(p, ":/"); k >= 0 && k+1 < len(p) {
		return p[:k], p[k], p[k+1:]
	}
	return "", 0, p
}

// nameMentions returns the mentions of pkg on lines[i]: the full name or,
// for a Maven group:artifact or a path-like name (an npm "@scope/name", a
// Go module path), its last part, not glued to a longer name
// (ident.ContainsWord's rule; a dash and a digit may follow, as in yum's
// "openssl-libs-1:1.0.2k-19.el7"). Where the line spells an owner before
// the last part, it must be the package's: "X:artifact" (Gradle, a Maven
// string), "X/name" (an npm scope, a Go module path; a path or URL may
// lead up to X), sbt's "X" % "artifact", Gradle's group: 'X' on the line,
// a POM's <groupId>X</groupId> in the artifact's <dependency>; owners are
// compared without case. A last part with no owner spelled (Gradle's
// "--dependency logback-core", a POM without <groupId>) counts as before:
// nothing says it is another package.
func nameMentions(lines []string, i int, pkg string) []mention {
	low := strings.ToLower(lines[i])
	owner, sep, p := splitOwner(pkg)
	if p == "" {
		return nil
	}
	var out []mention
	for off := 0; ; {
		k := strings.Index(low[off:], p)
		if k < 0 {
			return out
		}
		start, end := off+k, off+k+len(p)
		off = start + 1
		before := start == 0 || !nameByte(low[start-1])
		after := end == len(low) || !nameByte(low[end]) ||
			low[end] == '.' && (end+1 == len(low) || !alnum(low[end+1])) ||
			low[end] == '-' && end+1 < len(low) && low[end+1] >= '0' && low[end+1] <= '9' // yum's name-version
		// A segment of a longer path is no mention of the name: in
		// gitlab.example.com/quill/quill the first "quill" is the owner's.
		inPath := sep == '/' && end < len(low) && low[end] == '/'
		if !before || !after || inPath {
			continue
		}
		m := mention{start: start, end: end}
		if owner != "" {
			if o, ok := spelledOwner(lines, i, low, start, sep); ok {
				m.wrongOwner = o != owner && !strings.HasSuffix(o, "/"+owner)
			}
		}
		out = append(out, m)
	}
}

// spelledOwner returns the owner that low (lines[i] lower-cased) spells
// for the name starting at start, and whether it spells one.
func spelledOwner(lines []string, i int, low string, start int, sep byte) (string, bool) {
	if start > 0 && low[start-1] == sep {
		k := start - 1
		for k > 0 && (nameByte(low[k-1]) || low[k-1] == '/' || low[k-1] == '@') {
			k--
		}
		o := strings.Trim(low[k:start-1], "/")
		return o, o != ""
	}
	if sep != ':' {
		return "", false
	}
	if m := sbtGroupRE.FindStringSubmatch(low[:start]); m != nil {
		return m[1], true
	}
	if m := gradleGroupRE.FindStringSubmatch(low); m != nil {
		return m[1], true
	}
	if !strings.Contains(low[:start], "<artifactid>") {
		return "", false
	}
	// The POM's <groupId> is in the artifact's <dependency> (or <plugin>,
	// <parent>): the lines back to its start and on to its end, a few each
	// way.
	var elem []string
	for j := i; j >= 0 && j >= i-4; j-- {
		l := strings.ToLower(lines[j])
		if j < i && pomEndRE.MatchString(l) {
			break
		}
		elem = append(elem, l)
		if pomStartRE.MatchString(l) {
			break
		}
	}
	for j := i + 1; j < len(lines) && j <= i+4; j++ {
		l := strings.ToLower(lines[j])
		if pomStartRE.MatchString(l) {
			break
		}
		elem = append(elem, l)
		if pomEndRE.MatchString(l) {
			break
		}
	}
	for _, l := range elem {
		if m := pomGroupRE.FindStringSubmatch(l); m != nil {
			return m[1], true
		}
	}
	return "", false
}

func nameByte(c byte) bool { return alnum(c) || c == '_' || c == '-' || c == '.' }

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// snippetScore says whether every fix snippet of answer that names the
// package gives it the fixed version, under the package's own name (a
// coordinate under another group or scope is wrong: a user would paste it
// and it would not resolve), and none names the installed, vulnerable
// version. A snippet that names the package and gives it no version where
// one belongs (snippetPins' unpinned: "implementation 'g:a'", "npm install
// lodash", text that is no command) is wrong too; one that names it only
// in a command that reads or relocks versions (needsPin) is not scored.
// nil when no snippet is scored, when the example has no fixed version or
// no package name to find.
func snippetScore(answer string, f dataset.Facts) *bool {
	if f.FixedVersion == "" || f.Package == "" {
		return nil
	}
	fixed := ident.NormVersion(f.FixedVersion)
	installed := ident.NormVersion(f.InstalledVersion)
	if installed == fixed {
		installed = ""
	}
	seen, ok := false, true
	for _, s := range fixSnippets(answer) {
		p := snippetPins(s, f.Package)
		if !p.named {
			continue
		}
		vulnerable := false
		if installed != "" {
			for _, v := range versionTokens(s) {
				vulnerable = vulnerable || ident.NormVersion(v) == installed
			}
		}
		if len(p.pins) == 0 && !vulnerable && !p.misnamed && !p.unpinned {
			continue
		}
		seen = true
		ok = ok && !vulnerable && !p.misnamed && !p.unpinned
		for _, v := range p.pins {
			ok = ok && ident.NormVersion(v) == fixed
		}
	}
	if !seen {
		return nil
	}
	return &ok
}

// snippetVerbatim reports whether every fix snippet of answer that pins
// pkg is written as the reference answer writes its fixes: its lines, runs
// of spaces aside, are the reference's fix snippets whole, one after
// another (referenceBlocks, tiles). The pin alone cannot see a snippet a
// user could not run: `npm install lodash @4.17.21` installs a package
// named "@4.17.21", `gem 'uri:0.10.2'` names no gem, and an apt-get line
// for a Go module or a Maven jar changes nothing in the build that has
// them, all with the fixed version. Nor can each line alone: a Maven
// <dependency> block without its <groupId> line (a grounded answer wrote
// one) has every line right and resolves nothing (scoring v14). A
// reference without fix snippets judges nothing.
func snippetVerbatim(answer, reference, pkg string) bool {
	blocks := referenceBlocks(reference)
	if len(blocks) == 0 || pkg == "" {
		return true
	}
	for _, s := range fixSnippets(answer) {
		if len(snippetPins(s, pkg).pins) == 0 {
			continue
		}
		if !tiles(snippetLines(s), blocks) {
			return false
		}
	}
	return true
}

// referenceBlocks are reference's fix snippets as snippetVerbatim compares
// them (snippetLines), each once, in order, none empty.
func referenceBlocks(reference string) [][]string {
	var out [][]string
	seen := map[string]bool{}
	for _, s := range fixSnippets(reference) {
		lines := snippetLines(s)
		key := strings.Join(lines, "\n")
		if len(lines) > 0 && !seen[key] {
			seen[key] = true
			out = append(out, lines)
		}
	}
	return out
}

// tiles reports whether lines are whole blocks, one after another, at
// least one: a snippet that gives two of the reference's fixes in one
// fence is as right as two fences; one that leaves a line of a fix out,
// or stops inside one, is not.
func tiles(lines []string, blocks [][]string) bool {
	if len(lines) == 0 {
		return false
	}
	// ends[i]: lines[:i] is whole blocks.
	ends := make([]bool, len(lines)+1)
	ends[0] = true
	for i := range lines {
		if !ends[i] {
			continue
		}
		for _, b := range blocks {
			if len(b) <= len(lines)-i && slices.Equal(b, lines[i:i+len(b)]) {
				ends[i+len(b)] = true
			}
		}
	}
	return ends[len(lines)]
}

// snippetLines returns the non-blank lines of a snippet, each with its
// runs of spaces made one and a command's documented aliases spelled as
// its name (commandAliases): the form snippetVerbatim compares.
func snippetLines(snip string) []string {
	var out []string
	for _, l := range strings.Split(snip, "\n") {
		if n := strings.Join(strings.Fields(l), " "); n != "" {
			out = append(out, commandAliases.ReplaceAllString(n, "${1}install"))
		}
	}
	return out
}

// commandAliases are the names npm documents for `npm install` (npm's
// lib/utils/cmd-list.js: add, i, in, ins, inst, insta, instal and the
// isnt… typos), so `npm add lodash@4.17.21` is the reference's `npm
// install lodash@4.17.21`: the same command, run the same way (scoring
// v10). Other package managers' commands are not aliases of one another
// (`pnpm add` writes a pnpm lock file into an npm project) and stay
// distinct.
var commandAliases = regexp.MustCompile(`\b(npm )(?:add|i|in|ins|inst|insta|instal|isnt|isnta|isntal|isntall)\b`)

// firstLine is the answer's first line of content: its "In short" line,
// the heading itself left out.
func firstLine(answer string) string {
	for _, line := range strings.Split(answer, "\n") {
		t := strings.TrimLeft(strings.TrimSpace(line), "#*_ ")
		if len(t) >= 8 && strings.EqualFold(t[:8], "in short") {
			t = strings.TrimLeft(t[8:], "*_:.- ")
		}
		if strings.TrimSpace(t) != "" {
			return t
		}
	}
	return ""
}

// firstLineAgrees reports whether the answer's first line agrees with the
// fix: a first line that names versions must name the fixed one, and no
// other than the installed one it upgrades from ("upgrade from 1.3.5 to
// 1.3.15"). A first line without a version contradicts nothing. The
// package name and the location are left out first (an image tag,
// "alpine:3.18.4", is no claim about the fix); with no installed version
// known (a dataset built before it was recorded) other versions are
// allowed.
func firstLineAgrees(answer string, f dataset.Facts) bool {
	line := strings.ToLower(firstLine(answer))
	line = ident.URLRE.ReplaceAllString(line, " ")
	for _, s := range []string{f.Location, f.Package} {
		if s != "" {
			line = strings.ReplaceAll(line, strings.ToLower(s), " ")
		}
	}
	vers := versionTokens(line)
	if len(vers) == 0 {
		return true
	}
	fixed, installed := ident.NormVersion(f.FixedVersion), ident.NormVersion(f.InstalledVersion)
	named := false
	for _, v := range vers {
		switch n := ident.NormVersion(v); {
		case n == fixed:
			named = true
		case f.InstalledVersion != "" && n != installed:
			return false
		}
	}
	return named
}
