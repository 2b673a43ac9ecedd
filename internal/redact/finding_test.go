package redact_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/redact"
)

// notRedacted are the Finding fields Finding deliberately leaves alone: the
// enums, the hashes, and Package (see the Finding doc comment).
var notRedacted = map[string]bool{"ID": true, "Kind": true, "Severity": true, "SecretHash": true, "PartialFingerprint": true, "Package": true, "Secrets": true,
	// Redactions counts masks by detector name: vulntune's own words, no report text.
	"Redactions": true}

// plant fills every string reachable from v (struct fields, slices, map keys
// and values, pointers) with text containing canary, allocating one element
// for every empty slice, map and pointer, and returns how many it filled.
func plant(v reflect.Value, canary string, top bool) int {
	switch v.Kind() {
	case reflect.String:
		v.SetString("text " + canary + " text")
		return 1
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return plant(v.Elem(), canary, false)
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		}
		n := 0
		for i := range v.Len() {
			n += plant(v.Index(i), canary, false)
		}
		return n
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		m.SetMapIndex(reflect.ValueOf("key "+canary), reflect.ValueOf("value "+canary))
		m.SetMapIndex(reflect.ValueOf("password"), reflect.ValueOf("hunter2-"+canary))
		v.Set(m)
		return 3
	case reflect.Struct:
		n := 0
		for i := range v.NumField() {
			if top && notRedacted[v.Type().Field(i).Name] {
				continue
			}
			n += plant(v.Field(i), canary, false)
		}
		return n
	}
	return 0
}

func TestFindingMasksEveryField(t *testing.T) {
	t.Parallel()
	const ghp = "ghp_" + "xK9mQ2vL8nR4tY6wZ1aB3cD5eF7gH0jN2pS4"
	tests := []struct {
		name    string
		canary  string
		known   []string
		secrets []string
	}{
		{"known secret", "Zq8LmN4vB7cR1tY9", []string{"Zq8LmN4vB7cR1tY9"}, nil},
		{"finding's own secret", "Wd5KpX2sH9gJ3fQ7", nil, []string{"Wd5KpX2sH9gJ3fQ7"}},
		{"detector hit", ghp, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var f finding.Finding
			if n := plant(reflect.ValueOf(&f).Elem(), tt.canary, true); n < 30 {
				t.Fatalf("planted only %d fields", n)
			}
			f.Secrets = tt.secrets
			known := tt.known
			stats := redact.New(known).Finding(&f)
			if f.Secrets != nil {
				t.Errorf("Secrets = %v, want nil", f.Secrets)
			}
			out, err := json.Marshal(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(out), tt.canary) {
				t.Errorf("canary survives in %s", out)
			}
			if strings.Contains(string(out), "hunter2") {
				t.Errorf("password property survives in %s", out)
			}
			if stats.Total() < 30 {
				t.Errorf("stats %v: want a mask per planted field", stats)
			}
			if hits := redact.Scan(string(out)); len(hits) > 0 {
				t.Errorf("Scan of the JSON finds %s at %q", hits[0].Detector, out[hits[0].Start:hits[0].End])
			}
			again := f
			if st := redact.New(known).Finding(&again); st.Total() != 0 {
				t.Errorf("second Finding masked %v", st)
			}
		})
	}
}

// TestFindingLeavesPackage checks remediation input is untouched.
func TestFindingLeavesPackage(t *testing.T) {
	t.Parallel()
	pkg := finding.Package{Name: "left-pad", Ecosystem: "npm", PURL: "pkg:npm/left-pad@1.0.0", InstalledVersion: "1.0.0", FixedVersions: []string{"1.3.0"}}
	f := finding.Finding{Title: "x", Package: &pkg, Secrets: []string{"1.0.0-secret"}}
	redact.New([]string{"left-pad"}).Finding(&f)
	if !reflect.DeepEqual(*f.Package, pkg) {
		t.Errorf("Package changed: %+v", *f.Package)
	}
}
