package ingest

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
)

// ZAP reads the traditional JSON report of OWASP ZAP (zap-baseline.py -J,
// zap-full-scan.py -J, the "traditional-json" report template, the API's
// jsonreport) from ZAP 2.8 on: site[] -> alerts[] -> instances[].
//
// Versions differ in small ways the decoder absorbs: numbers written as
// strings ("riskcode": "2") or as numbers, "alertRef", "name",
// "@programName", "attack" and "evidence" missing before 2.10/2.11, and
// "site" as a lone object in reports converted from XML.
type ZAP struct{}

var _ Format = ZAP{}

func init() { register(ZAP{}) }

// zapMaxInstances is how many distinct instances a finding lists in Related;
// the count of all of them goes into Occurrences.
const zapMaxInstances = 10

// Name implements Format.
func (ZAP) Name() string { return "zap" }

// Sniff implements Format: "site" next to "@version" or "@programName".
func (ZAP) Sniff(head []byte) bool {
	h := jsonSniffHead(head)
	return !h.array && h.top["site"] && (h.top["@version"] || h.top["@programName"] || h.top["@generated"])
}

type zapReport struct {
	Version jsonText `json:"@version"`
	Site    jsonList `json:"site"`
}

type zapSite struct {
	Name   string   `json:"@name"`
	Alerts jsonList `json:"alerts"`
}

type zapAlert struct {
	PluginID   jsonText      `json:"pluginid"`
	AlertRef   jsonText      `json:"alertRef"`
	Alert      string        `json:"alert"`
	Name       string        `json:"name"`
	RiskCode   jsonText      `json:"riskcode"`
	Confidence jsonText      `json:"confidence"`
	RiskDesc   string        `json:"riskdesc"`
	Desc       string        `json:"desc"`
	Instances  []zapInstance `json:"instances"`
	Count      jsonText      `json:"count"`
	Solution   string        `json:"solution"`
	OtherInfo  string        `json:"otherinfo"`
	Reference  string        `json:"reference"`
	CWEID      jsonText      `json:"cweid"`
	WASCID     jsonText      `json:"wascid"`
	SourceID   jsonText      `json:"sourceid"`
}

type zapInstance struct {
	URI       string `json:"uri"`
	Method    string `json:"method"`
	Param     string `json:"param"`
	Attack    string `json:"attack"`
	Evidence  string `json:"evidence"`
	OtherInfo string `json:"otherinfo"`
}

// Parse implements Format.
func (ZAP) Parse(ctx context.Context, in Input, r io.Reader) ([]finding.Finding, error) {
	data, err := jsonReadDoc(ctx, in, r)
	if err != nil {
		return nil, err
	}
	var doc zapReport
	if err := jsonDecodeDoc(in, "$", data, &doc); err != nil {
		return nil, err
	}
	var errs jsonErrs
	var out []finding.Finding
	for i, site := range jsonEach[zapSite](ctx, in, "$.site", doc.Site, &errs) {
		path := fmt.Sprintf("$.site[%d].alerts", i)
		for _, a := range jsonEach[zapAlert](ctx, in, path, site.Alerts, &errs) {
			out = append(out, zapFinding(doc.Version.String(), site.Name, a))
		}
	}
	return jsonTidy(out), errs.err(in)
}

// zapFinding makes one finding per alert and site. ZAP lists every URL an
// alert fired on as an instance; they are one weakness (a missing header,
// a CORS policy), so instances become Related locations and a count rather
// than findings of their own.
func zapFinding(version, site string, a zapAlert) finding.Finding {
	title := strings.TrimSpace(a.Name)
	if title == "" {
		title = strings.TrimSpace(a.Alert)
	}
	// The alert reference is the rule: one plugin raises several alerts
	// ("10055-4" CSP wildcard directive, "10055-5" script-src
	// unsafe-inline, on the same URL and header), which under the plugin
	// id alone shared one fingerprint and were merged into one finding.
	// The plugin id stays a property; the remedy table falls back to it.
	rule := a.AlertRef.String()
	if rule == "" {
		rule = a.PluginID.String()
	}
	sev, ok := finding.SeverityMapping["zap"][a.RiskCode.String()]
	if !ok {
		sev = zapSeverityFromDesc(a.RiskDesc)
	}
	f := finding.Finding{
		Tools:       []finding.Tool{{Name: "zap", Version: version, RuleID: rule}},
		Kind:        finding.KindWeb,
		Severity:    sev,
		Title:       title,
		Message:     title,
		Description: zapHTMLText(a.Desc),
		References:  zapURLs(zapHTMLText(a.Reference)),
		CWE:         jsonCWEs([]string{a.CWEID.String()}),
		VulnIDs:     []string{},
	}
	if len(f.References) > 0 {
		f.HelpURI = f.References[0]
	}
	if rule != "" {
		f.HelpURI = "https://www.zaproxy.org/docs/alerts/" + rule + "/"
	}
	if sol := zapHTMLText(a.Solution); sol != "" {
		f.Fixes = []finding.Fix{{Description: sol}}
	}
	insts := zapDistinct(a.Instances)
	f.Location.URL = site
	if len(insts) > 0 {
		first := insts[0]
		f.Location = finding.Location{URL: first.URI, Method: strings.ToUpper(first.Method), Param: first.Param}
		// Attack strings and evidence may quote cookies or tokens; they go
		// only into the snippet and properties, which the redactor masks.
		f.Location.Snippet = strings.TrimSpace(first.Evidence)
		for _, in := range insts[1:min(len(insts), zapMaxInstances)] {
			f.Related = append(f.Related, finding.Location{URL: in.URI, Method: strings.ToUpper(in.Method), Param: in.Param})
		}
	}
	f.Occurrences = max(len(insts), 1)
	other := zapHTMLText(a.OtherInfo)
	attack := ""
	if len(insts) > 0 {
		attack = strings.TrimSpace(insts[0].Attack)
		if other == "" {
			other = strings.TrimSpace(insts[0].OtherInfo)
		}
	}
	f.Properties = jsonProps(
		"instances", strconv.Itoa(len(insts)),
		"confidence", zapConfidence(a.Confidence.String()),
		"plugin_id", a.PluginID.String(),
		"wasc", a.WASCID.String(),
		"site", site,
		"attack", attack,
		"other_info", other,
	)
	return f
}

// zapDistinct drops instances repeating a (uri, method, param) triple, which
// ZAP emits once per attack payload.
func zapDistinct(in []zapInstance) []zapInstance {
	seen := make(map[[3]string]bool, len(in))
	var out []zapInstance
	for _, i := range in {
		k := [3]string{i.URI, strings.ToUpper(i.Method), i.Param}
		if !seen[k] {
			seen[k] = true
			out = append(out, i)
		}
	}
	return out
}

// zapSeverityFromDesc reads "High (Medium)" when riskcode is missing.
func zapSeverityFromDesc(riskdesc string) finding.Severity {
	word, _, _ := strings.Cut(strings.TrimSpace(riskdesc), " ")
	return jsonSeverity(word, finding.SeverityInfo)
}

// zapConfidence names ZAP's confidence codes (0 false positive, 1 low, 2
// medium, 3 high, 4 user confirmed).
func zapConfidence(code string) string {
	names := map[string]string{"0": "false positive", "1": "low", "2": "medium", "3": "high", "4": "confirmed"}
	if n, ok := names[code]; ok {
		return n
	}
	return code
}

// zapURLs picks the http(s) URLs out of ZAP's reference text.
func zapURLs(text string) []string {
	out := []string{}
	for _, w := range strings.Fields(text) {
		if strings.HasPrefix(w, "http://") || strings.HasPrefix(w, "https://") {
			out = append(out, strings.TrimRight(w, ".,;)"))
		}
	}
	return out
}
