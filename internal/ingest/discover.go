package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/vulntune/vulntune/internal/finding"
)

// File discovery: what Run reads. Each command-line path is a file, a
// directory walked recursively, or a zip archive recognised by content;
// every file found is sniffed for a known format and becomes a unit to
// parse, is skipped (found while walking, no report) or is an error (named
// explicitly, no report).

// unit is one report to parse: a file on disk or a zip entry in memory.
type unit struct {
	name    string
	archive string
	path    string // on disk, when data is nil
	data    []byte // zip entry content
	temp    bool   // path is a spilled zip entry, removed after the run
	format  Format
	size    int64
	source  finding.Source // run metadata of an in-memory archive
}

// expand turns one command-line path into parse units. Directories are
// walked recursively without following links; hidden directories (.git)
// are skipped because reports never live there and artifacts that carry
// .git/config must not be read (NOTES: ArtiPACKED).
func expand(p string, zl ZipLimits) (units []unit, skipped []string, errs []error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, nil, []error{&InputError{File: p, Offset: -1, Msg: "cannot read input", Err: unwrapPathErr(err)}}
	}
	if !info.IsDir() {
		u, skip, err := classify(p, info.Size(), zl, true)
		if err != nil {
			errs = []error{err}
		}
		return u, skip, errs
	}
	walkErr := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, &InputError{File: path, Offset: -1, Msg: "cannot read", Err: unwrapPathErr(err)})
			return nil
		}
		if d.IsDir() {
			if path != p && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			skipped = append(skipped, path)
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			errs = append(errs, &InputError{File: path, Offset: -1, Msg: "cannot stat", Err: unwrapPathErr(err)})
			return nil
		}
		u, skip, err := classify(path, fi.Size(), zl, false)
		if err != nil {
			errs = append(errs, err)
		}
		units = append(units, u...)
		skipped = append(skipped, skip...)
		return nil
	})
	if walkErr != nil {
		errs = append(errs, walkErr)
	}
	return units, skipped, errs
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// classify sniffs one file on disk. explicit says the user named it, so an
// unrecognised file is an error rather than a skip.
func classify(path string, size int64, zl ZipLimits, explicit bool) ([]unit, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, &InputError{File: path, Offset: -1, Msg: "cannot open", Err: unwrapPathErr(err)}
	}
	defer f.Close()
	head := make([]byte, SniffSize)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, nil, &InputError{File: path, Offset: -1, Msg: "cannot read", Err: err}
	}
	head = head[:n]
	if isZip(head) {
		data, err := readAllCapped(io.MultiReader(bytes.NewReader(head), f), path, zl.maxArchive())
		if err != nil {
			return nil, nil, err
		}
		return expandZip(path, data, zl, explicit)
	}
	fm, why := sniff(head)
	if fm == nil {
		if explicit {
			return nil, nil, &InputError{File: path, Offset: -1, Msg: why}
		}
		return nil, []string{path}, nil
	}
	return []unit{{name: path, path: path, format: fm, size: size}}, nil, nil
}

// sniff picks the format of head, or explains why none fits.
func sniff(head []byte) (Format, string) {
	if len(bytes.TrimSpace(head)) == 0 {
		return nil, "empty file: expected a SARIF or scanner JSON report"
	}
	if bytes.HasPrefix(head, []byte{0xFF, 0xFE}) || bytes.HasPrefix(head, []byte{0xFE, 0xFF}) {
		return nil, "UTF-16 encoded file: expected UTF-8 JSON (re-encode with iconv -f UTF-16 -t UTF-8)"
	}
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(head, []byte("\xEF\xBB\xBF")))
	if fm := Detect(trimmed); fm != nil {
		return fm, ""
	}
	if !utf8.Valid(trimmed[:min(len(trimmed), 512)]) || bytes.IndexByte(trimmed[:min(len(trimmed), 512)], 0) >= 0 {
		return nil, "binary data: expected a SARIF or scanner JSON report"
	}
	if trimmed[0] != '{' && trimmed[0] != '[' {
		// Only the first character: the start of a file that is no report
		// may be a credential (AKIA..., hf_...).
		first, _ := utf8.DecodeRune(trimmed)
		return nil, fmt.Sprintf("not JSON (starts with %q): expected a SARIF or scanner JSON report", string(first))
	}
	return nil, "JSON of no known report format: expected one of " + strings.Join(FormatNames(), ", ")
}

// displayName is how a file found under the command-line input in is
// named in findings (sources[].tool_file) and the summary: relative to the
// input, never absolute. A relative input that stays inside the working
// directory is kept as given; otherwise the input's base name stands for it.
func displayName(in, name string) string {
	if name == "" {
		return ""
	}
	clean := filepath.Clean(in)
	if !filepath.IsAbs(clean) && clean != ".." && !strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return name
	}
	rest, ok := strings.CutPrefix(name, clean)
	if !ok {
		return filepath.ToSlash(filepath.Base(name))
	}
	return filepath.ToSlash(filepath.Base(clean) + rest)
}
