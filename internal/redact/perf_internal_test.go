package redact

import (
	"strings"
	"testing"
	"time"
)

func TestPerDetectorCost(t *testing.T) {
	msg := strings.Repeat(`The package lodash before 4.17.21 is vulnerable to Command Injection via the template function (CVE-2021-23337, GHSA-35jh-r3h4-6jhm).
Installed version 4.17.20 at /app/node_modules/lodash/package.json; fixed in 4.17.21. See https://nvd.nist.gov/vuln/detail/CVE-2021-23337
and https://github.com/lodash/lodash/commit/3469357cff396a26c363f8c1b5a91dde28ba4b1c. Image alpine@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.
Code: const compiled = _.template(userInput, { sourceURL: opts.url }); // Key: template injection
`, 4)[:2048]
	lower := asciiLower(msg)
	for _, d := range builtin() {
		start := time.Now()
		for range 20 {
			d.find(msg, lower)
		}
		t.Logf("%-24s total %8v", d.Name, time.Since(start)/20)
	}
}
