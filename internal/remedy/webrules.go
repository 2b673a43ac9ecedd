package remedy

import (
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
)

// zapRuleFixes are the fixes for ZAP's common passive and active rules, by
// plugin id, for an alert that arrives without ZAP's own solution text
// (a SARIF export, a trimmed report). Each names only headers, attributes
// and settings, never a version, path or identifier, so it holds for any
// site. The wording follows ZAP's alert documentation
// (https://www.zaproxy.org/docs/alerts/); it says what to change instead
// of restating where, which a small model trained on "change <URL> so that
// it no longer matches" repeated until its length limit.
var zapRuleFixes = map[string]string{
	"2":     "Remove private IP addresses from response bodies, headers and error pages; they map the internal network.",
	"3":     "Keep the session identifier in a cookie, never in the URL, where logs, proxies and the Referer header disclose it.",
	"10010": "Set the HttpOnly attribute on the cookie, so scripts in the page cannot read it.",
	"10011": "Set the Secure attribute on the cookie, so it is only ever sent over HTTPS.",
	"10015": "Send Cache-Control: no-store on responses with sensitive or user-specific content; allow caching only for public static files.",
	"10017": "Serve scripts from the site's own origin, or load a third-party script with an integrity attribute so a changed file is refused.",
	"10020": "Send a Content-Security-Policy with frame-ancestors 'self' (or 'none'), or X-Frame-Options: DENY or SAMEORIGIN, on every HTML response.",
	"10021": "Send X-Content-Type-Options: nosniff on every response, with a Content-Type that matches the body.",
	"10023": "Return a generic error message and log the details on the server; responses must not carry debug output.",
	"10035": "Send Strict-Transport-Security with a max-age of at least a year (and includeSubDomains where every subdomain serves HTTPS) on HTTPS responses.",
	"10036": "Remove the version, or the whole Server header, in the web server or proxy configuration.",
	"10037": "Stop sending the X-Powered-By header: disable it in the framework or strip it at the proxy.",
	"10038": "Send a Content-Security-Policy header on every HTML response, starting from default-src 'self' and allowing only the sources the page needs.",
	"10049": "Send Cache-Control: no-store on responses with sensitive or user-specific content; allow caching only for public static files.",
	"10054": "Set the cookie's SameSite attribute to Lax or Strict.",
	"10055": "Tighten the Content-Security-Policy: replace wildcard sources, 'unsafe-inline' and 'unsafe-eval' with the exact origins, nonces or hashes the page needs.",
	"10063": "Send a Permissions-Policy header that turns off the browser features the site does not use.",
	"10098": "Allow only the origins that need the resource in Access-Control-Allow-Origin, never a wildcard on responses with private data.",
	"10202": "Add an anti-CSRF token to every state-changing form and check it on the server, or rely on SameSite cookies with an Origin check.",
	"40025": "Disable the TRACE method on the proxies and the origin server, and strip headers that reveal the proxy chain.",
	"40035": "Remove the file from what the server publishes, or deny access to it in the web server configuration.",
	"40040": "Allow only the origins that need the resource in Access-Control-Allow-Origin, and never reflect the request's Origin with credentials allowed.",
	"90003": "Add an integrity attribute (with crossorigin) to every script and stylesheet loaded from another origin.",
	"90004": "Send Cross-Origin-Resource-Policy: same-origin (with Cross-Origin-Embedder-Policy and Cross-Origin-Opener-Policy) on responses other sites must not load.",
	"90005": "Check the Sec-Fetch-* request headers on the server and refuse cross-site requests to state-changing endpoints; browsers send them, so no client change is needed.",
	"90022": "Return a generic error page and log the details on the server; responses must not carry stack traces or error text.",
}

// webFallback is the fix for a web finding without the scanner's solution
// and without a rule-specific one: what to change, in the terms of any web
// alert, without repeating the endpoint or the alert's text.
const webFallback = "Change the response the alert describes where it is produced (the application, or the server or proxy in front of it), then scan the endpoint again."

// webRuleFix is the fix zapRuleFixes has for f's rule, when f is a ZAP
// alert ("10021", or the alert reference "10021-1"), else "".
func webRuleFix(f *finding.Finding) string {
	for _, t := range f.Tools {
		if !strings.Contains(strings.ToLower(t.Name), "zap") {
			continue
		}
		id, _, _ := strings.Cut(strings.TrimSpace(t.RuleID), "-")
		if s := zapRuleFixes[id]; s != "" {
			return s
		}
	}
	return ""
}
