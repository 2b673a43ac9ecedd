package hub

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"strings"

	"github.com/vulntune/vulntune/internal/homepath"
	"github.com/vulntune/vulntune/internal/redact"
)

// Hit is one privacy finding: where, and which detector, never the value.
type Hit struct {
	Path     string `json:"path"`
	Line     int    `json:"line"` // 0 for a binary file's header
	Detector string `json:"detector"`
}

func (h Hit) String() string {
	if h.Line == 0 {
		return fmt.Sprintf("%s: %s", h.Path, h.Detector)
	}
	return fmt.Sprintf("%s:%d: %s", h.Path, h.Line, h.Detector)
}

// vocabFiles are tokenizer vocabularies: random byte-pair entries match
// token and address shapes, and nothing a person or tool wrote is in them.
var vocabFiles = map[string]bool{"tokenizer.json": true, "vocab.json": true, "merges.txt": true, "tokenizer.model": true}

// specialTokenFiles hold special-token entries ("eos_token": "<|im_end|>")
// that read as secret assignments; they are scanned for everything else.
var specialTokenFiles = map[string]bool{"tokenizer_config.json": true, "special_tokens_map.json": true}

// email matches an address whose domain starts with a letter, so package
// coordinates such as netty-codec@4.1.101.Final are not addresses.
var email = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)*\.[a-z]{2,24}\b`)

// publicAddress says whether an address names nobody: documentation
// domains and the ssh user of git hosts.
func publicAddress(a string) bool {
	local, domain, _ := strings.Cut(strings.ToLower(a), "@")
	return local == "git" || domain == "example.com" || domain == "example.org" || domain == "example.net" ||
		strings.HasSuffix(domain, ".example")
}

// Identity is the local account whose name and home directory must not be
// published; the detector is shared with ingest and the dataset writer.
type Identity = homepath.Identity

// LocalIdentity returns this machine's user and home directory.
func LocalIdentity() Identity { return homepath.Local() }

// Scan checks every file of the plan for secrets (the redaction
// detectors: provider tokens incl. Hugging Face, GitHub and cloud keys,
// private keys, passwords), e-mail addresses and the local identity, and
// returns each hit by file and line. Safetensors files are checked in
// their JSON header (where metadata, and so paths, would be); other
// binary files are not text and are skipped.
func Scan(files []File, id Identity) ([]Hit, error) {
	var hits []Hit
	for _, f := range files {
		name := path.Base(f.Path)
		if vocabFiles[name] {
			continue
		}
		text, err := scannable(f)
		if err != nil {
			return nil, err
		}
		if text == nil {
			continue
		}
		line := 0
		if strings.HasSuffix(name, ".safetensors") {
			line = -1 // reported as the header, not a line
		}
		sc := bufio.NewScanner(bytes.NewReader(text))
		sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
		for sc.Scan() {
			if line >= 0 {
				line++
			}
			hits = append(hits, scanLine(f.Path, max(line, 0), sc.Text(), id, specialTokenFiles[name])...)
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("scan %s: %w", f.Path, err)
		}
	}
	return hits, nil
}

func scanLine(p string, line int, text string, id Identity, specialTokens bool) []Hit {
	var hits []Hit
	seen := map[string]bool{}
	add := func(det string) {
		if !seen[det] {
			seen[det] = true
			hits = append(hits, Hit{Path: p, Line: line, Detector: det})
		}
	}
	if !specialTokens {
		for _, m := range redact.Scan(text) {
			add(m.Detector)
		}
	}
	for _, a := range email.FindAllString(text, -1) {
		if !publicAddress(a) {
			add("e-mail address")
		}
	}
	for _, det := range id.Hits(text) {
		add(det)
	}
	return hits
}

// scannable returns the text to scan of a file: the content of a text
// file, the JSON header of a safetensors file, nil for other binaries.
func scannable(f File) ([]byte, error) {
	if f.content != nil {
		return f.content, nil
	}
	fh, err := os.Open(f.Local)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	if strings.HasSuffix(f.Path, ".safetensors") {
		var n uint64
		if err := binary.Read(fh, binary.LittleEndian, &n); err != nil || n > 100<<20 {
			return nil, fmt.Errorf("%s: not a safetensors file", f.Path)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(fh, b); err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		return b, nil
	}
	b, err := io.ReadAll(fh)
	if err != nil {
		return nil, err
	}
	if bytes.IndexByte(b[:min(len(b), 8000)], 0) >= 0 {
		return nil, nil // binary (loss.png)
	}
	return b, nil
}
