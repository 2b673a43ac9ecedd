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
// and never extracted to disk, so zip-slip cannot write anywhere (an entry
// too big for memory goes to a temporary file of ingest's own naming); the
// caps stop zip bombs. Zero fields take the defaults.
type ZipLimits struct {
	MaxArchive int64 // compressed archive size (default 512 MiB)
	MaxEntries int   // number of entries (default 10,000)
	MaxTotal   int64 // sum of uncompressed sizes actually read (default 1 GiB)
	MaxRatio   int64 // uncompressed/compressed per entry (default 200)

	// tempDir holds entries too big for memory (Options.TempDir; Run
	// sets it).
	tempDir string
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

// zipSpill is the entry size above which an entry is copied to a temporary
// file and parsed from there, streaming, instead of held in memory: an
// honest 1 GB report in a 10 MB artifact would otherwise sit in memory whole
// (and several times over while parsed).
const zipSpill = 16 << 20

// expandZip lists the reports inside an archive as GitHub hands artifacts
// out. Entries with "..", absolute paths or symbolic links are rejected,
// whatever their content; entries that are not reports are skipped, and
// entries under hidden directories (.git/config) are skipped unread, as
// when walking a directory. A zip inside the archive is read the same way,
// under the same caps; one inside that is reported, not read. Entries over
// zipSpill bytes are copied to temporary files (units with temp set), which
// the caller removes. Several problems come back joined (errors.Join).
func expandZip(name string, data []byte, zl ZipLimits, explicit bool) ([]unit, []string, error) {
	x := &zipExpander{zl: zl}
	units, skipped, err := x.expand(name, bytes.NewReader(data), int64(len(data)), explicit, 0)
	x.errs = append([]error{err}, x.errs...)
	return units, skipped, errors.Join(x.errs...)
}

// zipExpander reads one archive given on the command line or in memory,
// and the zips inside it, sharing one budget.
type zipExpander struct {
	zl ZipLimits
	// total is the uncompressed size read so far, at every level.
	total int64
	// errs are problems that do not make the archive unsafe (encrypted
	// entries, zips nested too deep).
	errs []error
}

func (x *zipExpander) expand(name string, ra io.ReaderAt, size int64, explicit bool, depth int) ([]unit, []string, error) {
	zl := x.zl
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, nil, &InputError{File: name, Offset: -1, Msg: "not a readable zip archive", Err: err}
	}
	if len(zr.File) > zl.maxEntries() {
		return nil, nil, &InputError{File: name, Offset: -1, Msg: fmt.Sprintf("archive has %d entries, more than the limit of %d", len(zr.File), zl.maxEntries()), Err: ErrUnsafeArchive}
	}
	var units []unit
	var skipped []string
	var problems []string
	nested := false
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
		if zf.Flags&0x1 != 0 {
			// Opening it would fail later with "flate: corrupt input".
			x.errs = append(x.errs, &InputError{File: disp, Offset: -1, Msg: "encrypted zip entry: vulntune cannot read it; extract it and pass the file"})
			continue
		}
		if zf.UncompressedSize64 > uint64(zl.maxTotal()) ||
			(zf.CompressedSize64 > 0 && zf.UncompressedSize64/zf.CompressedSize64 > uint64(zl.maxRatio())) {
			problems = append(problems, fmt.Sprintf("%s: compression ratio or size over the limit (possible zip bomb)", zf.Name))
			continue
		}
		// The declared size can lie; the cap is enforced on bytes read.
		budget := zl.maxTotal() - x.total
		u, n, err := x.read(zf, budget)
		x.total += n
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", zf.Name, err))
			continue
		}
		if n > budget {
			problems = append(problems, fmt.Sprintf("%s: archive expands past the %d MiB total limit", zf.Name, zl.maxTotal()>>20))
			break
		}
		head, err := u.head()
		if err != nil {
			u.remove()
			problems = append(problems, fmt.Sprintf("%s: %v", zf.Name, err))
			continue
		}
		if isZip(head) {
			nested = true
			in, sk, err := x.nested(u, disp, depth)
			units = append(units, in...)
			skipped = append(skipped, sk...)
			if err != nil {
				x.errs = append(x.errs, err)
			}
			continue
		}
		fm, _ := sniff(head)
		if fm == nil {
			u.remove()
			skipped = append(skipped, disp)
			continue
		}
		u.name, u.archive, u.format = disp, name, fm
		units = append(units, u)
	}
	var err2 error
	if len(problems) > 0 {
		err2 = &InputError{File: name, Offset: -1, Msg: "rejected archive entries: " + strings.Join(problems, "; "), Err: ErrUnsafeArchive}
	} else if len(units) == 0 && explicit && !nested && len(x.errs) == 0 {
		err2 = &InputError{File: name, Offset: -1, Msg: "archive holds no recognised scanner report: expected SARIF or one of " + strings.Join(FormatNames(), ", ")}
	}
	return units, skipped, err2
}

// nested reads a zip found inside an archive: its reports are read when
// depth is 0 (an artifact zip holding zips), and it is reported unread
// deeper down. The zip itself, in memory or spilled, is dropped after.
func (x *zipExpander) nested(u unit, disp string, depth int) ([]unit, []string, error) {
	defer u.remove()
	if depth > 0 {
		return nil, nil, &InputError{File: disp, Offset: -1, Msg: "zip inside a zip inside a zip: not read (only one level of nesting is); extract it and pass the file"}
	}
	if u.data != nil {
		return x.expand(disp, bytes.NewReader(u.data), u.size, false, depth+1)
	}
	f, err := os.Open(u.path)
	if err != nil {
		return nil, nil, &InputError{File: disp, Offset: -1, Msg: "cannot read", Err: err}
	}
	defer f.Close()
	return x.expand(disp, f, u.size, false, depth+1)
}

// read reads an entry: into memory when it has at most zipSpill bytes, else
// into a temporary file in zl's temp dir. It reads at most budget+1 bytes
// and returns how many it read.
func (x *zipExpander) read(zf *zip.File, budget int64) (unit, int64, error) {
	rc, err := zf.Open()
	if err != nil {
		return unit{}, 0, err
	}
	defer rc.Close()
	r := io.LimitReader(rc, budget+1)
	data, err := io.ReadAll(io.LimitReader(r, min(zipSpill, budget)+1))
	if err != nil {
		return unit{}, int64(len(data)), err
	}
	if int64(len(data)) <= min(zipSpill, budget) {
		return unit{data: data, size: int64(len(data))}, int64(len(data)), nil
	}
	if int64(len(data)) > budget {
		return unit{}, int64(len(data)), nil
	}
	f, err := os.CreateTemp(x.zl.tempDir, "vulntune-zip-*")
	if err != nil {
		return unit{}, int64(len(data)), fmt.Errorf("cannot spill a large entry to a temporary file: %w", err)
	}
	u := unit{path: f.Name(), temp: true}
	_, err = f.Write(data)
	n := int64(len(data))
	if err == nil {
		var m int64
		m, err = io.Copy(f, r)
		n += m
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil || n > budget {
		u.remove()
		if err != nil {
			err = fmt.Errorf("cannot spill a large entry to a temporary file: %w", err)
		}
		return unit{}, n, err
	}
	u.size = n
	return u, n, nil
}

// head returns the first SniffSize bytes of an entry read by read.
func (u unit) head() ([]byte, error) {
	if u.data != nil || !u.temp {
		return u.data[:min(len(u.data), SniffSize)], nil
	}
	f, err := os.Open(u.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, SniffSize)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return head[:n], nil
}

// remove deletes the temporary file of a spilled entry.
func (u unit) remove() {
	if u.temp {
		os.Remove(u.path)
	}
}

// removeTemps deletes the temporary files of spilled entries.
func removeTemps(units []unit) {
	for _, u := range units {
		u.remove()
	}
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
