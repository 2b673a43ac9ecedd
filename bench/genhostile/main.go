// Command genhostile writes the odd and hostile inputs of issue 14 §5, for
// measuring redaction time and ingest memory on them. The output is the same
// for the same flags.
//
//	go run ./bench/genhostile css -size 4MB -o /tmp/min.css
//	go run ./bench/genhostile message -size 200MB -o /tmp/one-line.sarif
//	go run ./bench/genhostile zip -in small.sarif -size 1GB -o /tmp/big-entry.zip
//
// css is whitespace-free minified CSS in which "-webkit-mask-image" gives a
// secret detector a keyword hit ("sk-") every 55 bytes. message is a
// one-line SARIF log with one result whose message text is size bytes of
// base64. zip is an archive with one entry, the SARIF log -in padded with
// whitespace to size bytes, compressed about 100 to 1 when -in is a
// generated log of a few tens of MB (bench/gensarif).
package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"

	"github.com/vulntune/vulntune/bench/internal/bytesize"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	size := fs.String("size", "4MB", "output size (e.g. 4MB, 200MB, 1GB)")
	out := fs.String("o", "", "output file (required)")
	in := fs.String("in", "", "zip: the SARIF log to pad")
	fs.Parse(os.Args[2:])
	n, err := bytesize.Parse(*size)
	if err != nil || *out == "" {
		usage()
	}
	switch os.Args[1] {
	case "css":
		err = writeFile(*out, func(w io.Writer) error { return css(w, n) })
	case "message":
		err = writeFile(*out, func(w io.Writer) error { return message(w, n) })
	case "zip":
		if *in == "" {
			usage()
		}
		err = writeFile(*out, func(w io.Writer) error { return paddedZip(w, *in, n) })
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genhostile:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: genhostile css|message|zip -size N -o FILE [-in FILE.sarif]")
	os.Exit(2)
}

func writeFile(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := fn(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// CSSRule is one rule of the minified CSS, 55 bytes.
const CSSRule = ".a{-webkit-mask-image:url(x.svg);color:#fff;margin:0}"

func css(w io.Writer, n int64) error {
	for ; n > 0; n -= int64(len(CSSRule)) {
		if _, err := io.WriteString(w, CSSRule[:min(int64(len(CSSRule)), n)]); err != nil {
			return err
		}
	}
	return nil
}

func message(w io.Writer, n int64) error {
	head := `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"demo","rules":[{"id":"R1"}]}},"results":[{"ruleId":"R1","level":"error","message":{"text":"`
	tail := `"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"src/app.js"},"region":{"startLine":1}}}]}]}]}`
	if _, err := io.WriteString(w, head); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	raw := make([]byte, 48<<10)
	enc := make([]byte, base64.StdEncoding.EncodedLen(len(raw)))
	for n > 0 {
		for i := range raw {
			raw[i] = byte(rng.Uint32())
		}
		base64.StdEncoding.Encode(enc, raw)
		k := min(int64(len(enc)), n)
		if _, err := w.Write(enc[:k]); err != nil {
			return err
		}
		n -= k
	}
	_, err := io.WriteString(w, tail+"\n")
	return err
}

func paddedZip(w io.Writer, in string, n int64) error {
	doc, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	doc = bytes.TrimRight(doc, " \n")
	if len(doc) == 0 || doc[len(doc)-1] != '}' {
		return fmt.Errorf("%s does not end with }", in)
	}
	zw := zip.NewWriter(w)
	ew, err := zw.CreateHeader(&zip.FileHeader{Name: "results/report.sarif", Method: zip.Deflate})
	if err != nil {
		return err
	}
	if _, err := ew.Write(doc[:len(doc)-1]); err != nil {
		return err
	}
	pad := bytes.Repeat([]byte("          \n"), 1<<16)
	for left := n - int64(len(doc)); left > 0; left -= int64(len(pad)) {
		if _, err := ew.Write(pad[:min(int64(len(pad)), left)]); err != nil {
			return err
		}
	}
	if _, err := ew.Write([]byte("}\n")); err != nil {
		return err
	}
	return zw.Close()
}
