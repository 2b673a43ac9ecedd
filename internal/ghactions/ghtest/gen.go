//go:build ignore

// gen.go writes testdata/openapi-actions.json, the part of GitHub's REST
// description the stand-in is validated against, from the pinned npm
// tarball of @octokit/openapi (version and integrity in openapi.go). To
// regenerate:
//
//	npm pack @octokit/openapi@23.0.2
//	go run gen.go -tarball octokit-openapi-23.0.2.tgz
//
// TestExtractMatchesNPM repeats this whenever npm can reach its registry
// and fails when the committed file differs.
package main

import (
	"flag"
	"log"
	"os"

	"github.com/vulntune/vulntune/internal/atomicfile"
	"github.com/vulntune/vulntune/internal/ghactions/ghtest"
)

func main() {
	tgz := flag.String("tarball", "", "npm pack output of "+ghtest.OpenAPIPackage+"@"+ghtest.OpenAPIVersion)
	out := flag.String("out", "testdata/openapi-actions.json", "output file")
	flag.Parse()
	if *tgz == "" {
		log.Fatal("gen: -tarball is required")
	}
	data, err := os.ReadFile(*tgz)
	if err != nil {
		log.Fatalf("gen: %v", err)
	}
	extract, err := ghtest.ExtractSchemas(data)
	if err != nil {
		log.Fatalf("gen: %v", err)
	}
	if err := atomicfile.WriteFile(*out, extract, 0o644); err != nil {
		log.Fatalf("gen: %v", err)
	}
}
