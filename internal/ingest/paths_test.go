package ingest_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/homepath"
	"github.com/vulntune/vulntune/internal/ingest"
)

const osvLaptop = `{"results": [
 {"source": {"path": "/home/alicew/shop/app/gradle.lockfile", "type": "lockfile"},
  "packages": [{"package": {"name": "com.fasterxml.jackson.core:jackson-core", "version": "2.14.0", "ecosystem": "Maven"},
   "vulnerabilities": [{"id": "GHSA-h46c-h94j-95f3", "aliases": ["CVE-2025-52999"], "summary": "jackson-core can throw a StackoverflowError"}],
   "groups": [{"ids": ["GHSA-h46c-h94j-95f3"], "aliases": ["CVE-2025-52999"], "max_severity": "8.7"}]}]},
 {"source": {"path": "/home/alicew/shop/web/package-lock.json", "type": "lockfile"},
  "packages": [{"package": {"name": "lodash", "version": "4.17.20", "ecosystem": "npm"},
   "vulnerabilities": [{"id": "GHSA-35jh-r3h4-6jhm", "aliases": ["CVE-2021-23337"], "summary": "Command injection in lodash"}],
   "groups": [{"ids": ["GHSA-35jh-r3h4-6jhm"], "aliases": ["CVE-2021-23337"], "max_severity": "7.2"}]}]}]}`

const trivyCI = `{"SchemaVersion": 2, "ArtifactName": "/home/runner/work/shop/shop", "ArtifactType": "filesystem", "Results": [
 {"Target": "app/gradle.lockfile", "Class": "lang-pkgs", "Type": "gradle", "Vulnerabilities": [
  {"VulnerabilityID": "CVE-2025-52999", "PkgName": "com.fasterxml.jackson.core:jackson-core", "InstalledVersion": "2.14.0", "FixedVersion": "2.15.0", "Severity": "HIGH", "Title": "jackson-core: StackoverflowError"}]}]}`

func sarifDoc(tool, runExtra, uri, baseID, sev string) string {
	loc := `"uri": ` + jsonQ(uri)
	if baseID != "" {
		loc += `, "uriBaseId": ` + jsonQ(baseID)
	}
	return `{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": ` + jsonQ(tool) + `, "rules": [{"id": "r1",
  "properties": {"security-severity": ` + sev + `}}]}}` + runExtra + `,
 "results": [{"ruleId": "r1", "level": "error", "message": {"text": "bad thing"},
  "locations": [{"physicalLocation": {"artifactLocation": {` + loc + `}, "region": {"startLine": 3}}}]}]}]}`
}

func jsonQ(s string) string { b, _ := json.Marshal(s); return string(b) }

func TestRepoRelativePaths(t *testing.T) {
	tests := []struct {
		name     string
		doc      string
		want     string
		rootless int
	}{
		{"eslint laptop uri", sarifDoc("ESLint", "", "file:///Users/alicew/git/shop/src/a.js", "", `"5.0"`), "git/shop/src/a.js", 1},
		{"srcroot base id", sarifDoc("ESLint", `, "originalUriBaseIds": {"%SRCROOT%": {"uri": "file:///Users/alicew/git/shop/"}}`,
			"file:///Users/alicew/git/shop/src/a.js", "", `"5.0"`), "src/a.js", 0},
		{"srcroot relative uri", sarifDoc("ESLint", `, "originalUriBaseIds": {"%SRCROOT%": {"uri": "file:///Users/alicew/git/shop/"}}`,
			"src/a.js", "%SRCROOT%", `"5.0"`), "src/a.js", 0},
		{"percent-encoded", sarifDoc("ESLint", `, "originalUriBaseIds": {"SRCROOT": {"uri": "file:///Users/alicew/My%20Code/shop/"}}`,
			"file:///Users/alicew/My%20Code/shop/src/a%2Bb.js", "", `"5.0"`), "src/a+b.js", 0},
		{"windows drive and separators", sarifDoc("ESLint", "", `C:\Users\carolw\shop\src\a.js`, "", `"5.0"`), "shop/src/a.js", 1},
		{"version control provenance", sarifDoc("ESLint", `, "versionControlProvenance": [{"repositoryUri": "https://github.com/acme/shop"}]`,
			"file:///Users/alicew/code/shop/src/a.js", "", `"5.0"`), "src/a.js", 0},
		{"mappedTo", sarifDoc("ESLint", `, "versionControlProvenance": [{"repositoryUri": "https://x.test/r", "mappedTo": {"uri": "file:///home/bobw/w/"}}]`,
			"file:///home/bobw/w/src/a.js", "", `"5.0"`), "src/a.js", 0},
		{"ci root", sarifDoc("Semgrep", "", "/home/runner/work/shop/shop/src/a.js", "", `"5.0"`), "src/a.js", 0},
		{"NaN severity", sarifDoc("ESLint", "", "src/a.js", "", `"NaN"`), "src/a.js", 0},
		{"root home", sarifDoc("ESLint", "", "/root/shop/src/a.js", "", `"Infinity"`), "shop/src/a.js", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "r.sarif", []byte(tt.doc))
			res := runIngest(t, p)
			if len(res.Errors) > 0 || len(res.Findings) != 1 {
				t.Fatalf("errors %v, %d findings", res.Errors, len(res.Findings))
			}
			f := res.Findings[0]
			if f.Location.Path != tt.want || res.RootlessPaths != tt.rootless {
				t.Errorf("path %q rootless %d, want %q %d", f.Location.Path, res.RootlessPaths, tt.want, tt.rootless)
			}
			if f.Score != 0 && f.Score != 5 {
				t.Errorf("score %v", f.Score)
			}
			assertNoHome(t, f)
		})
	}
}

func assertNoHome(t *testing.T, fs ...finding.Finding) {
	t.Helper()
	for _, f := range fs {
		b, _ := json.Marshal(f)
		if homepath.FindHome(string(b)) != nil || strings.Contains(string(b), "alicew") {
			t.Errorf("home path left in %s", b)
		}
	}
}

func TestLaptopAndCIReportsMerge(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "osv.json", []byte(osvLaptop))
	b := writeFile(t, dir, "trivy.json", []byte(trivyCI))
	// The same code finding from one tool, on a laptop and in CI.
	c := writeFile(t, dir, "laptop.sarif", []byte(sarifDoc("Semgrep", `, "originalUriBaseIds": {"%SRCROOT%": {"uri": "file:///Users/alicew/shop/"}}`, "file:///Users/alicew/shop/src/a.js", "", `"5.0"`)))
	d := writeFile(t, dir, "ci.sarif", []byte(sarifDoc("Semgrep", "", "/home/runner/work/shop/shop/src/a.js", "", `"5.0"`)))
	res, err := ingest.Run(context.Background(), []string{a, b, c, d}, ingest.Options{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	byPath := map[string]finding.Finding{}
	for _, f := range res.Findings {
		byPath[f.Location.Path] = f
	}
	jackson, ok := byPath["app/gradle.lockfile"]
	if !ok || len(res.Findings) != 3 {
		t.Fatalf("findings %v", byPath)
	}
	if !toolNames(jackson)["trivy"] || !toolNames(jackson)["osv-scanner"] {
		t.Errorf("jackson not merged across tools: %v", jackson.Tools)
	}
	if f := byPath["src/a.js"]; f.Occurrences < 2 && len(f.Sources) < 2 {
		t.Errorf("laptop and CI code finding not merged: %+v", f.Sources)
	}
	if _, ok := byPath["web/package-lock.json"]; !ok {
		t.Errorf("common root not used: %v", byPath)
	}
	assertNoHome(t, res.Findings...)
}

func TestNotJSONErrorShowsOneCharacter(t *testing.T) {
	tests := []struct{ content, want, hidden string }{
		{"AKIAIOSFODNN7EXAMPLE secret", `starts with "A"`, "AKIA"},
		{"hf_abcdefghijklmnopqrstuvwxyz", `starts with "h"`, "hf_"},
		{"élan", `starts with "é"`, "él"},
	}
	for _, tt := range tests {
		p := writeFile(t, t.TempDir(), "x.json", []byte(tt.content))
		res, err := ingest.Run(context.Background(), []string{p}, ingest.Options{})
		if err != nil || len(res.Errors) != 1 {
			t.Fatalf("err %v, errors %v", err, res.Errors)
		}
		msg := res.Errors[0].Error()
		if !strings.Contains(msg, tt.want) || strings.Contains(msg, tt.hidden) {
			t.Errorf("error %q: want %q and no %q", msg, tt.want, tt.hidden)
		}
	}
}

func TestToolFileRelativeToInput(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "reports", "web")
	writeFile(t, sub, "r.sarif", []byte(sarifDoc("ESLint", "", "src/a.js", "", `"5.0"`)))
	for _, in := range []string{filepath.Join(dir, "reports"), filepath.Join(sub, "r.sarif")} {
		res := runIngest(t, in)
		if len(res.Findings) != 1 {
			t.Fatalf("%d findings", len(res.Findings))
		}
		got := res.Findings[0].Sources[0].ToolFile
		if filepath.IsAbs(got) || !strings.HasSuffix(got, "r.sarif") || strings.Contains(got, dir) {
			t.Errorf("input %s: tool_file %q", in, got)
		}
	}
}
