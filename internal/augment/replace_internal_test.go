package augment

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/ident"
)

// parts returns the numeric release parts of a version versionRE accepts.
func parts(t testing.TB, v string) []int {
	t.Helper()
	m := versionRE.FindStringSubmatch(v)
	if m == nil {
		t.Fatalf("version %q does not parse", v)
	}
	var out []int
	for _, s := range strings.Split(m[2], ".") {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("version %q: %v", v, err)
		}
		out = append(out, n)
	}
	return out
}

// checkVersionMap asserts what the fix depends on: order, shared release
// lines, zero parts, qualifiers, and that no version keeps its name.
func checkVersionMap(t testing.TB, vs []string, m map[string]string) {
	t.Helper()
	for _, a := range vs {
		na, ok := m[a]
		if !ok {
			t.Fatalf("%q not mapped in %v", a, m)
		}
		if slices.Contains(vs, na) {
			t.Errorf("%q mapped to %q, one of the originals %q", a, na, vs)
		}
		ma, mna := versionRE.FindStringSubmatch(a), versionRE.FindStringSubmatch(na)
		allZero := !slices.ContainsFunc(parts(t, a), func(n int) bool { return n != 0 })
		if ma[1] != mna[1] || ma[3] != mna[3] && !allZero {
			t.Errorf("%q -> %q: prefix or qualifier changed", a, na)
		}
		pa, pna := parts(t, a), parts(t, na)
		if len(pa) != len(pna) {
			t.Errorf("%q -> %q: %d release parts became %d", a, na, len(pa), len(pna))
			continue
		}
		for k := range pa {
			if (pa[k] == 0) != (pna[k] == 0) {
				t.Errorf("%q -> %q: part %d zero-ness changed", a, na, k)
			}
		}
		for _, b := range vs {
			pb, pnb := parts(t, b), parts(t, m[b])
			if got, want := slices.Compare(pna, pnb), slices.Compare(pa, pb); got != want {
				t.Errorf("order of %q and %q (%d) became %d as %q and %q", a, b, want, got, na, m[b])
			}
			for k := 1; k <= min(len(pa), len(pb)); k++ {
				if slices.Equal(pa[:k], pb[:k]) != slices.Equal(pna[:k], pnb[:k]) {
					t.Errorf("%q and %q: sharing the first %d parts changed as %q and %q", a, b, k, na, m[b])
				}
			}
		}
	}
}

func TestMapVersions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		vs   []string
	}{
		{"guava flavours", []string{"31.1-jre", "32.0.0-android", "32.0.0-jre"}},
		{"same release line backport", []string{"2.14.1", "2.14.3", "2.15.0", "3.0.1"}},
		{"zero major", []string{"0.14.0", "0.16.0"}},
		{"v prefix", []string{"v1.2.3", "v1.2.10"}},
		{"maven final", []string{"4.1.100.Final", "4.1.124.Final"}},
		{"alpine and debian", []string{"1.1.1d-r2", "1.1.1k-r0", "1.9.7-2ubuntu17.3"}},
		{"rpm epoch", []string{"1:1.0.2k-19.el7", "1:1.0.2k-21.el7_9"}},
		{"go pseudo-version", []string{"0.0.0-20221104162952-702349b0e862", "0.1.1", "0.2.0"}},
		{"zero-padded date", []string{"2023.01.05", "2023.02.11"}},
		{"one version", []string{"5.3.18"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for n := 1; n <= 5; n++ {
				m, err := mapVersions(Seed(tc.name, n), tc.vs)
				if err != nil {
					t.Fatalf("copy %d: %v", n, err)
				}
				checkVersionMap(t, tc.vs, m)
			}
		})
	}
	// A range is not a version, and a bare 0.0.0 has no other name that
	// keeps its zeros: no copy rather than one that names the original.
	for _, vs := range [][]string{{"1.2.3", "< 3.0.0"}, {"0.0.0"}} {
		if m, err := mapVersions(Seed("x", 1), vs); err == nil {
			t.Errorf("%q mapped to %v, want an error", vs, m)
		}
	}
}

// FuzzMapVersions holds any versions mapVersions accepts to its promises.
func FuzzMapVersions(f *testing.F) {
	f.Add("31.1-jre", "32.0.0-android", "32.0.0-jre", uint8(1))
	f.Add("0.14.0", "0.16.0", "", uint8(2))
	f.Add("1:1.0.2k-19.el7", "v2.0", "2.0.1", uint8(3))
	f.Fuzz(func(t *testing.T, a, b, c string, n uint8) {
		var vs []string
		for _, v := range []string{a, b, c} {
			if v != "" && !slices.Contains(vs, v) {
				vs = append(vs, v)
			}
		}
		m, err := mapVersions(Seed(a+b+c, int(n)), vs)
		if err != nil {
			return
		}
		// Two spellings of one release (1.0 and 1.00) are one version to
		// the tree; only distinct releases are held to the order.
		seen := map[string]bool{}
		var distinct []string
		for _, v := range vs {
			k := fmt.Sprint(parts(t, v), versionRE.FindStringSubmatch(v)[1], versionRE.FindStringSubmatch(v)[3])
			if !seen[k] {
				seen[k] = true
				distinct = append(distinct, v)
			}
		}
		if len(distinct) == len(vs) {
			checkVersionMap(t, vs, m)
		}
	})
}

func TestReplacer(t *testing.T) {
	t.Parallel()
	reps := []textRep{
		{old: "com.google.guava:guava", new: "org.example.orbit:orbit-core", fold: true},
		{old: "guava", new: "orbit-core", fold: true},
		{old: "CVE-2023-2976", new: "CVE-2014-2445", fold: true},
		{old: "GHSA-7G45-4RM6-3MM3", new: "GHSA-fr3v-r657-63v6", fold: true},
		{old: "31.1-jre", new: "21.1-jre"},
		{old: "1.2.3", new: "4.5.6"},
		{old: "CWE-79", new: "CWE-89", cwe: true},
		{old: "definitions/79.html", new: "definitions/89.html"},
		{old: "web/app.js", new: "gateway/order-service.js"},
	}
	cases := []struct{ in, want string }{
		{"com.google.guava:guava 31.1-jre", "org.example.orbit:orbit-core 21.1-jre"},
		{"Google Guava versions before 32", "Google Orbit-core versions before 32"},
		{"guava-testlib stays", "guava-testlib stays"},
		{"https://avd.aquasec.com/nvd/cve-2023-2976", "https://avd.aquasec.com/nvd/cve-2014-2445"},
		{"GHSA-7g45-4rm6-3mm3 and GHSA-7G45-4RM6-3MM3", "GHSA-fr3v-r657-63v6 and GHSA-FR3V-R657-63V6"},
		{"1.2.3, 11.2.3 and 1.2.34 and v1.2.3.", "4.5.6, 11.2.3 and 1.2.34 and v1.2.3."},
		{"tagged cwe 079 (see https://cwe.mitre.org/data/definitions/79.html)", "tagged CWE-89 (see https://cwe.mitre.org/data/definitions/89.html)"},
		{"CWE-790 is another weakness", "CWE-790 is another weakness"},
		{"at web/app.js:12", "at gateway/order-service.js:12"},
		{"", ""},
	}
	r := newReplacer(reps)
	for _, tc := range cases {
		if got := r.replace(tc.in); got != tc.want {
			t.Errorf("replace(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNewVulnIDKeepsShape(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"CVE-2023-2976", "GHSA-7G45-4RM6-3MM3", "GO-2022-0969", "PYSEC-2021-19", "RUSTSEC-2023-0015",
		"DSA-5000-1", "USN-4235-1", "RHSA-2020:1234", "ALAS2-2023-2000", "SNYK-JS-LODASH-1040724"} {
		seen := map[string]bool{}
		for n := 1; n <= 5; n++ {
			got := newVulnID(Seed(id, n), id)
			fam, _, _ := strings.Cut(id, "-")
			if !strings.HasPrefix(got, fam+"-") || !ident.VulnRE.MatchString(got) || ident.VulnRE.FindString(got) != got {
				t.Errorf("%s -> %s: family or shape changed", id, got)
			}
			if fam != "GHSA" && !strings.Contains(got, "-99") && !strings.Contains(got, ":99") {
				t.Errorf("%s -> %s: a number an advisory could have", id, got)
			}
			if strings.EqualFold(got, id) {
				t.Errorf("%s drew itself", id)
			}
			seen[got] = true
		}
		if len(seen) < 4 {
			t.Errorf("%s: 5 copies drew only %d ids", id, len(seen))
		}
	}
}
