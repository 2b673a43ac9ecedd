package ingest

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
)

// ZipLimits caps what is read from an archive. Archives are read in memory
// and never extracted to disk, so zip-slip cannot write anywhere; the caps
// stop zip bombs. Zero fields take the defaults.
type ZipLimits struct {
	MaxArchive int64 // compressed archive size (default 512 MiB)
	MaxEntries int   // number of entries (default 10,000)
	MaxTotal   int64 // sum of uncompressed sizes actually read (default 1 GiB)
	MaxRatio   int64 // uncompressed/compressed per entry (default 200)
}

func (z ZipLimits) maxArchive() int64 { return defaultInt64(z.MaxArchive, 512<<20) }
func (z ZipLimits) maxEntries() int {
	if z.MaxEntries > 0 {
		return z.MaxEntries
	}
	return 10000
}
func (z ZipLimits) maxTotal() int64 { return defaultInt64(z.MaxTotal, 1<<30) }
func (z ZipLimits) maxRatio() int64 { return defaultInt64(z.MaxRatio, 200) }

func defaultInt64(v, d int64) int64 {
	if v > 0 {
		return v
	}
	return d
}

// ErrUnsafeArchive marks an archive that breaks a rule of ZipLimits or
// holds an entry no report can be (a link, "..", an absolute path): errors
// for such archives wrap it, so a caller that must not trust the rest of
// the archive (the daemon, reading artifacts from CI) can refuse it whole.
var ErrUnsafeArchive = errors.New("unsafe archive")

// Archive is a zip archive already in memory, such as a GitHub Actions
// artifact the daemon downloaded; it is read exactly as a zip file named
// on the command line.
type Archive struct {
	// Name stands for the archive in errors and in the findings' source.
	Name string
	Data []byte
	// Source is recorded on every finding read from the archive (run id,
	// commit, branch); ingest fills in the artifact and the tool file.
	Source finding.Source
}

// expandArchive turns an in-memory archive into parse units.
func expandArchive(a Archive, zl ZipLimits) ([]unit, []string, error) {
	if int64(len(a.Data)) > zl.maxArchive() {
		return nil, nil, &InputError{File: a.Name, Offset: zl.maxArchive(), Msg: fmt.Sprintf("archive larger than the %d MiB limit", zl.maxArchive()>>20), Err: ErrUnsafeArchive}
	}
	if !isZip(a.Data) {
		return nil, nil, &InputError{File: a.Name, Offset: 0, Msg: "not a zip archive"}
	}
	units, skipped, err := expandZip(a.Name, a.Data, zl, true)
	for i := range units {
		units[i].source = a.Source
	}
	return units, skipped, err
}

func isZip(head []byte) bool { return bytes.HasPrefix(head, []byte("PK\x03\x04")) }

func readAllCapped(r io.Reader, name string, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, &InputError{File: name, Offset: -1, Msg: "cannot read", Err: err}
	}
	if int64(len(data)) > limit {
		return nil, &InputError{File: name, Offset: limit, Msg: fmt.Sprintf("archive larger than the %d MiB limit", limit>>20), Err: ErrUnsafeArchive}
	}
	return data, nil
}

// expandZip lists the reports inside an archive as GitHub hands artifacts
// out. Entries with "..", absolute paths or symbolic links are rejected,
// whatever their content; entries that are not reports are skipped, and
// entries under hidden directories (.git/config) are skipped unread, as
// when walking a directory.
func expandZip(name string, data []byte, zl ZipLimits, explicit bool) ([]unit, []string, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, nil, &InputError{File: name, Offset: -1, Msg: "not a readable zip archive", Err: err}
	}
	if len(zr.File) > zl.maxEntries() {
		return nil, nil, &InputError{File: name, Offset: -1, Msg: fmt.Sprintf("archive has %d entries, more than the limit of %d", len(zr.File), zl.maxEntries()), Err: ErrUnsafeArchive}
	}
	var units []unit
	var skipped []string
	var problems []string
	var total int64
	for _, zf := range zr.File {
		disp := name + "!" + zf.Name
		if why := unsafeEntry(zf); why != "" {
			problems = append(problems, fmt.Sprintf("%s: %s", zf.Name, why))
			continue
		}
		if zf.FileInfo().IsDir() {
			continue
		}
		if inHiddenDir(zf.Name) {
			skipped = append(skipped, disp)
			continue
		}
		if zf.UncompressedSize64 > uint64(zl.maxTotal()) ||
			(zf.CompressedSize64 > 0 && zf.UncompressedSize64/zf.CompressedSize64 > uint64(zl.maxRatio())) {
			problems = append(problems, fmt.Sprintf("%s: compression ratio or size over the limit (possible zip bomb)", zf.Name))
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", zf.Name, err))
			continue
		}
		// The declared size can lie; the cap is enforced on bytes read.
		budget := zl.maxTotal() - total
		content, err := io.ReadAll(io.LimitReader(rc, budget+1))
		rc.Close()
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", zf.Name, err))
			continue
		}
		total += int64(len(content))
		if int64(len(content)) > budget {
			problems = append(problems, fmt.Sprintf("%s: archive expands past the %d MiB total limit", zf.Name, zl.maxTotal()>>20))
			break
		}
		head := content[:min(len(content), SniffSize)]
		fm, _ := sniff(head)
		if fm == nil {
			skipped = append(skipped, disp)
			continue
		}
		units = append(units, unit{name: disp, archive: name, data: content, format: fm, size: int64(len(content))})
	}
	var err2 error
	if len(problems) > 0 {
		err2 = &InputError{File: name, Offset: -1, Msg: "rejected archive entries: " + strings.Join(problems, "; "), Err: ErrUnsafeArchive}
	} else if len(units) == 0 && explicit {
		err2 = &InputError{File: name, Offset: -1, Msg: "archive holds no recognised scanner report: expected SARIF or one of " + strings.Join(FormatNames(), ", ")}
	}
	return units, skipped, err2
}

func unsafeEntry(zf *zip.File) string {
	n := zf.Name
	switch {
	case zf.Mode()&os.ModeSymlink != 0:
		return "symbolic link rejected"
	case strings.HasPrefix(n, "/") || strings.HasPrefix(n, `\`) || (len(n) > 1 && n[1] == ':'):
		return "absolute path rejected"
	}
	for _, seg := range strings.FieldsFunc(n, func(r rune) bool { return r == '/' || r == '\\' }) {
		if seg == ".." {
			return `path with ".." rejected`
		}
	}
	if path.Clean("/"+n) == "/" {
		return "empty name rejected"
	}
	return ""
}

// inHiddenDir reports whether an entry lies under a directory whose name
// starts with a dot.
func inHiddenDir(name string) bool {
	segs := strings.FieldsFunc(name, func(r rune) bool { return r == '/' || r == '\\' })
	for _, seg := range segs[:max(len(segs)-1, 0)] {
		if seg != "." && strings.HasPrefix(seg, ".") {
			return true
		}
	}
	return false
}
