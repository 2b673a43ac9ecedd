package ingest

import (
	"fmt"
	"math"
	"strings"

	gocvss20 "github.com/pandatix/go-cvss/20"
	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"
)

// jsonCVSSScore computes the base score of a CVSS vector of any version
// (v2 without a prefix, "CVSS:3.0/", "CVSS:3.1/", "CVSS:4.0/"). rank orders
// versions by preference when a vulnerability carries several: v3.1 first
// (what NVD, GitHub and Trivy's scores mostly are, so tools agree), then
// v4.0, v3.0 and v2.
func jsonCVSSScore(vector string) (score float64, rank int, err error) {
	v := strings.Trim(strings.TrimSpace(vector), "()")
	switch {
	case strings.HasPrefix(v, "CVSS:3.1/"):
		c, err := gocvss31.ParseVector(v)
		if err != nil {
			return 0, 0, fmt.Errorf("cvss vector %q: %w", v, err)
		}
		return jsonRound1(c.BaseScore()), 4, nil
	case strings.HasPrefix(v, "CVSS:4.0/"):
		c, err := gocvss40.ParseVector(v)
		if err != nil {
			return 0, 0, fmt.Errorf("cvss vector %q: %w", v, err)
		}
		return jsonRound1(c.Score()), 3, nil
	case strings.HasPrefix(v, "CVSS:3.0/"):
		c, err := gocvss30.ParseVector(v)
		if err != nil {
			return 0, 0, fmt.Errorf("cvss vector %q: %w", v, err)
		}
		return jsonRound1(c.BaseScore()), 2, nil
	case strings.HasPrefix(v, "AV:"):
		c, err := gocvss20.ParseVector(v)
		if err != nil {
			return 0, 0, fmt.Errorf("cvss vector %q: %w", v, err)
		}
		return jsonRound1(c.BaseScore()), 1, nil
	}
	return 0, 0, fmt.Errorf("cvss vector %q: want a CVSS v2, v3.0, v3.1 or v4.0 vector", v)
}

// jsonRound1 removes float noise (9.800000001) so scores compare and print
// as the one-decimal numbers CVSS defines.
func jsonRound1(f float64) float64 { return math.Round(f*10) / 10 }

// jsonCVSS is the best score of a set of CVSS vectors.
type jsonCVSS struct {
	score  float64
	vector string
	rank   int
}

// consider keeps vector when it is of a preferred version, or of the same
// version with a higher score. Unparseable vectors are ignored: a bad vector
// must not cost the finding its other severity sources.
func (b *jsonCVSS) consider(vector string) {
	s, r, err := jsonCVSSScore(vector)
	if err != nil {
		return
	}
	if r > b.rank || (r == b.rank && s > b.score) {
		*b = jsonCVSS{score: s, vector: strings.Trim(strings.TrimSpace(vector), "()"), rank: r}
	}
}

func (b jsonCVSS) ok() bool { return b.rank > 0 }
