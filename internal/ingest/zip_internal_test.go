package ingest

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type testEntry struct {
	name      string
	data      []byte
	encrypted bool
}

func makeZip(t *testing.T, entries ...testEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		if e.encrypted {
			// ZipCrypto: flag bit 0 set, a 12-byte encryption header and
			// bytes no inflater can read.
			h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Flags: 0x1,
				CompressedSize64: uint64(12 + len(e.data)), UncompressedSize64: uint64(len(e.data))}
			w, err := zw.CreateRaw(h)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(append(bytes.Repeat([]byte{0xA5}, 12), e.data...))
			continue
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const miniSARIF = `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"demo"}},"results":[]}]}`

// bigSARIF is a SARIF log of at least n bytes, padded with whitespace.
func bigSARIF(n int) []byte {
	return []byte(miniSARIF[:len(miniSARIF)-1] + strings.Repeat(" ", max(n-len(miniSARIF), 0)) + "}")
}

func TestExpandZip(t *testing.T) {
	t.Parallel()
	sarif := []byte(miniSARIF)
	inner := makeZip(t, testEntry{name: "in/a.sarif", data: sarif}, testEntry{name: "deep.zip", data: makeZip(t, testEntry{name: "x.sarif", data: sarif})})
	tests := []struct {
		name    string
		data    []byte
		limits  ZipLimits
		units   []string // names, and "+temp" when spilled to a file
		skipped []string
		errs    []string
		unsafe  bool
	}{
		{
			name:  "encrypted entry",
			data:  makeZip(t, testEntry{name: "secret.sarif", data: sarif, encrypted: true}, testEntry{name: "ok.sarif", data: sarif}),
			units: []string{"a.zip!ok.sarif"},
			errs:  []string{"a.zip!secret.sarif: encrypted zip entry: vulntune cannot read it; extract it and pass the file"},
		},
		{
			name:  "only encrypted",
			data:  makeZip(t, testEntry{name: "secret.sarif", data: sarif, encrypted: true}),
			errs:  []string{"a.zip!secret.sarif: encrypted zip entry"},
			units: nil,
		},
		{
			name:  "nested one level read, two reported",
			data:  makeZip(t, testEntry{name: "reports.zip", data: inner}, testEntry{name: "top.sarif", data: sarif}),
			units: []string{"a.zip!reports.zip!in/a.sarif", "a.zip!top.sarif"},
			errs:  []string{"a.zip!reports.zip!deep.zip: zip inside a zip inside a zip: not read"},
		},
		{
			name:   "nested shares the total cap",
			data:   makeZip(t, testEntry{name: "top.sarif", data: sarif}, testEntry{name: "reports.zip", data: makeZip(t, testEntry{name: "b.sarif", data: bigSARIF(4000)})}),
			limits: ZipLimits{MaxTotal: 4100, MaxRatio: 1000},
			units:  []string{"a.zip!top.sarif"},
			errs:   []string{"a.zip!reports.zip: rejected archive entries: b.sarif: archive expands past"},
			unsafe: true,
		},
		{
			name:   "large entry spilled",
			data:   makeZip(t, testEntry{name: "big.sarif", data: bigSARIF(zipSpill + 10)}, testEntry{name: "small.sarif", data: sarif}),
			limits: ZipLimits{MaxRatio: 1 << 20},
			units:  []string{"a.zip!big.sarif+temp", "a.zip!small.sarif"},
		},
		{
			name:   "spilled entry over the total cap removed",
			data:   makeZip(t, testEntry{name: "big.sarif", data: bigSARIF(zipSpill + 10)}),
			limits: ZipLimits{MaxRatio: 1 << 20, MaxTotal: zipSpill + 5},
			errs:   []string{"a.zip: rejected archive entries: big.sarif: compression ratio or size over the limit"},
			unsafe: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tt.limits.tempDir = dir
			units, skipped, err := expandZip("a.zip", tt.data, tt.limits, true)
			var names []string
			for _, u := range units {
				n := u.name
				if u.temp {
					n += "+temp"
					if b, err := os.ReadFile(u.path); err != nil || int64(len(b)) != u.size || filepath.Dir(u.path) != dir {
						t.Errorf("spilled %s: %d bytes at %s, %v", u.name, len(b), u.path, err)
					}
				}
				names = append(names, n)
			}
			if strings.Join(names, ",") != strings.Join(tt.units, ",") {
				t.Errorf("units %v, want %v", names, tt.units)
			}
			if strings.Join(skipped, ",") != strings.Join(tt.skipped, ",") {
				t.Errorf("skipped %v, want %v", skipped, tt.skipped)
			}
			leaves := flatten(err)
			if err == nil {
				leaves = nil
			}
			if len(leaves) != len(tt.errs) {
				t.Fatalf("errors %v, want %d", leaves, len(tt.errs))
			}
			for i, e := range leaves {
				if !strings.Contains(e.Error(), tt.errs[i]) {
					t.Errorf("error %q, want containing %q", e, tt.errs[i])
				}
			}
			if errors.Is(err, ErrUnsafeArchive) != tt.unsafe {
				t.Errorf("unsafe = %v, want %v", !tt.unsafe, tt.unsafe)
			}
			removeTemps(units)
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

// TestRunSpilledEntry checks that a report spilled to a temporary file is
// parsed from it and that the file is gone after the run.
func TestRunSpilledEntry(t *testing.T) {
	t.Parallel()
	doc := `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"demo"}},"results":[{"ruleId":"R1","level":"error","message":{"text":"m"},` +
		`"locations":[{"physicalLocation":{"artifactLocation":{"uri":"a.go"},"region":{"startLine":1}}}]}]}]}`
	data := makeZip(t, testEntry{name: "big.sarif", data: []byte(doc[:len(doc)-1] + strings.Repeat(" ", zipSpill) + "}")})
	in, tmp := t.TempDir(), t.TempDir()
	p := filepath.Join(in, "artifact.zip")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Run(t.Context(), []string{p}, Options{TempDir: tmp, Zip: ZipLimits{MaxRatio: 1 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 0 || len(res.Findings) != 1 || res.Files[0].Path != "artifact.zip!big.sarif" {
		t.Fatalf("errors %v, findings %d, files %+v", res.Errors, len(res.Findings), res.Files)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
