package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
)

// Trivy reads Trivy's JSON report (`trivy <target> --format json`, schema
// version 2): Results[] per target with Vulnerabilities, Misconfigurations,
// Secrets and Licenses, plus ExperimentalModifiedFindings, the findings that
// .trivyignore or a VEX statement took out of the lists, which are kept as
// suppressed findings.
type Trivy struct{}

var _ Format = Trivy{}

func init() { register(Trivy{}) }

// Name implements Format.
func (Trivy) Name() string { return "trivy" }

// Sniff implements Format: "SchemaVersion" with "Results" or "ArtifactName".
func (Trivy) Sniff(head []byte) bool {
	h := jsonSniffHead(head)
	return !h.array && h.top["SchemaVersion"] && (h.top["Results"] || h.top["ArtifactName"])
}

type trivyReport struct {
	ArtifactName string   `json:"ArtifactName"`
	ArtifactType string   `json:"ArtifactType"`
	Results      jsonList `json:"Results"`
	Trivy        struct {
		Version string `json:"Version"`
	} `json:"Trivy"`
}

type trivyResult struct {
	Target            string   `json:"Target"`
	Class             string   `json:"Class"`
	Type              string   `json:"Type"`
	Vulnerabilities   jsonList `json:"Vulnerabilities"`
	Misconfigurations jsonList `json:"Misconfigurations"`
	Secrets           jsonList `json:"Secrets"`
	Licenses          jsonList `json:"Licenses"`
	Modified          jsonList `json:"ExperimentalModifiedFindings"`
}

type trivyModified struct {
	Type      string          `json:"Type"`
	Status    string          `json:"Status"`
	Statement string          `json:"Statement"`
	Source    string          `json:"Source"`
	Finding   json.RawMessage `json:"Finding"`
}

// trivyCtx is what every finding of one Result shares.
type trivyCtx struct {
	in      Input
	version string
	image   string
	res     trivyResult
}

// Parse implements Format.
func (Trivy) Parse(ctx context.Context, in Input, r io.Reader) ([]finding.Finding, error) {
	data, err := jsonReadDoc(ctx, in, r)
	if err != nil {
		return nil, err
	}
	var doc trivyReport
	if err := jsonDecodeDoc(in, "$", data, &doc); err != nil {
		return nil, err
	}
	image := ""
	if doc.ArtifactType == "container_image" {
		image = doc.ArtifactName
	}
	var errs jsonErrs
	var out []finding.Finding
	for i, res := range jsonEach[trivyResult](ctx, in, "$.Results", doc.Results, &errs) {
		tc := trivyCtx{in: in, version: doc.Trivy.Version, image: image, res: res}
		p := fmt.Sprintf("$.Results[%d].", i)
		for _, v := range jsonEach[trivyVuln](ctx, in, p+"Vulnerabilities", res.Vulnerabilities, &errs) {
			out = append(out, tc.vuln(v))
		}
		for _, m := range jsonEach[trivyMisconf](ctx, in, p+"Misconfigurations", res.Misconfigurations, &errs) {
			if !strings.EqualFold(m.Status, "PASS") {
				out = append(out, tc.misconf(m))
			}
		}
		for _, s := range jsonEach[trivySecret](ctx, in, p+"Secrets", res.Secrets, &errs) {
			out = append(out, tc.secret(s))
		}
		for _, l := range jsonEach[trivyLicense](ctx, in, p+"Licenses", res.Licenses, &errs) {
			out = append(out, tc.license(l))
		}
		for j, m := range jsonEach[trivyModified](ctx, in, p+"ExperimentalModifiedFindings", res.Modified, &errs) {
			f, err := tc.modified(fmt.Sprintf("%sExperimentalModifiedFindings[%d].Finding", p, j), m)
			if err != nil {
				errs.add(err)
				continue
			}
			out = append(out, f)
		}
	}
	return jsonTidy(out), errs.err(in)
}

// modified decodes the finding inside a modified-finding entry by its Type
// and marks it suppressed with Trivy's status and statement.
func (tc trivyCtx) modified(path string, m trivyModified) (finding.Finding, error) {
	var f finding.Finding
	var err error
	switch strings.ToLower(m.Type) {
	case "vulnerability":
		var v trivyVuln
		if err = jsonDecodeElem(tc.in, path, m.Finding, &v); err == nil {
			f = tc.vuln(v)
		}
	case "misconfiguration":
		var v trivyMisconf
		if err = jsonDecodeElem(tc.in, path, m.Finding, &v); err == nil {
			f = tc.misconf(v)
		}
	case "secret":
		var v trivySecret
		if err = jsonDecodeElem(tc.in, path, m.Finding, &v); err == nil {
			f = tc.secret(v)
		}
	case "license":
		var v trivyLicense
		if err = jsonDecodeElem(tc.in, path, m.Finding, &v); err == nil {
			f = tc.license(v)
		}
	default:
		return f, &InputError{File: tc.in.Name, Offset: -1, JSONPath: path,
			Msg: fmt.Sprintf("modified finding of type %q skipped: want vulnerability, misconfiguration, secret or license", m.Type)}
	}
	if err != nil {
		return f, err
	}
	just := strings.TrimSpace(m.Statement)
	if m.Source != "" {
		just = strings.TrimSpace(just + " (source: " + m.Source + ")")
	}
	f.Suppressed = true
	f.Suppression = &finding.Suppression{Kind: "external", Status: m.Status, Justification: just}
	return f, nil
}

// trivyHash is the SecretHash of a Trivy secret. Trivy never reports the
// raw value, only the matched line with the secret starred out, so the hash
// is of that masked line: stable across runs of one file, but unable to
// match the same secret found by another tool (whose hash is of the value).
func trivyHash(match string) string {
	if match == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(match))
	return hex.EncodeToString(sum[:])
}

// trivyPath returns the file a Result is about, or "" when the target is an
// image or OS description rather than a file ("alpine:3.19 (alpine 3.19.1)").
func (tc trivyCtx) trivyPath() string {
	if tc.res.Class == "os-pkgs" {
		return ""
	}
	return jsonRepoPath(tc.res.Target)
}
