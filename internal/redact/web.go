package redact

import (
	"bytes"
	"encoding/base64"
	"regexp"
	"strings"
)

// webDetectors find credentials in URLs and HTTP headers, as ZAP and other
// DAST tools quote them in requests and responses.
func webDetectors() []Detector {
	return []Detector{
		{
			window:      func(e *edges, start, end int) (int, int, bool) { return start, e.toSpace(end), true },
			Name:        "url-password",
			Description: "password in the userinfo of a URL (scheme://user:password@host); only the password is masked",
			Keywords:    []string{"://"},
			MustMatch: []string{
				"git clone https://deploy:" + "s3cr3tP4ss@github.com/org/repo.git",
				"DATABASE_URL=postgres://app:" + "hunter2@db:5432/app",
				"redis://:" + "Xy9pQ2wErT@cache:6379/0",
			},
			MustNotMatch: []string{
				"https://user@example.com/path",
				"git@github.com:org/repo.git",
				"http://example.com:8080/a@b",
				"https://user:${PASSWORD}@example.com",
				"https://user:<password>@example.com",
				"https://user:****@example.com",
			},
			// Starting at the literal "://" lets the regexp engine skip to it.
			patterns: []pattern{newPattern(`://[^\s:@/?#"'<>]*:(?P<s1>[^\s@/?#"'<>]+)@[^\s@/"'<>]`, keepValue)},
		},
		{
			window:      defaultWindow,
			Name:        "authorization-header",
			Description: "credentials of an Authorization or API-key header, or a bare Bearer/Basic/Token credential; the scheme is kept",
			Keywords:    []string{"authorization", "bearer", "token", "basic", "api-key", "apikey", "subscription-key"},
			MustMatch: []string{
				"Authorization: Bearer " + "abcDEF123.ghiJKL456-mnoPQR789",
				"curl -H 'Authorization: token " + "0123456789abcdef0123456789abcdef01234567'",
				"Authorization: Basic " + "dXNlcjpwYXNzd29yZA==",
				`"headers": {"Authorization": "` + "Zm9vOmJhcg123" + `"}`,
				"X-Api-Key: " + "8f14e45fceea167a5a36dedd4bea2543",
				"bearer " + "a1b2c3d4e5f6g7h8i9j0k1l2",
			},
			MustNotMatch: []string{
				"Authorization: Bearer <token>",
				"Authorization: Bearer ${TOKEN}",
				"The endpoint requires Bearer authentication",
				"Basic authentication is enabled",
				"Authorization: required",
				"Authorization header is missing",
			},
			patterns: []pattern{
				newPattern(`(?i)(?:^|[^a-z0-9\-])(?:proxy-)?authorization["'\x60]?[ \t]*[:=][ \t]*["'\x60]?(?:(?:bearer|basic|token|bot|apikey|key|digest|negotiate|ntlm|sso-key)[ \t]+)?(?P<s1>[A-Za-z0-9._~+/=\-]{6,})`, keepAuthorization),
				newPattern(`(?i)(?:^|[^a-z0-9\-])(?:x-api-key|x-apikey|api-key|x-auth-token|x-access-token|private-token|job-token|x-gitlab-token|x-vault-token|x-figma-token|ocp-apim-subscription-key)["'\x60]?[ \t]*:[ \t]*["'\x60]?(?P<s1>[^\s"'\x60,;]{6,})`, keepValue),
				newPattern(`(?i)\b(?:bearer|token)[ \t]+(?P<s1>[A-Za-z0-9._~+/\-]{16,}={0,2})`, keepBare),
				newPattern(`(?i)\bbasic[ \t]+(?P<s1>[A-Za-z0-9+/]{8,}={0,2})`, keepBasic),
			},
		},
		{
			Name:        "cookie",
			Description: "values of a Cookie header, and the value of the cookie a Set-Cookie header sets; names and attributes are kept",
			Keywords:    []string{"cookie"},
			MustMatch: []string{
				"Cookie: JSESSIONID=" + "8F2A9C1B7E; theme=dark",
				"Set-Cookie: sid=" + "s%3AxK9mQ2vL8nR4; Path=/; HttpOnly",
			},
			MustNotMatch: []string{"Set-Cookie header lacks the HttpOnly flag", "Cookie: none", "cookie: the session cookie is not Secure"},
			custom:       cookieSpans,
		},
		{
			window:       defaultWindow,
			Name:         "session-id",
			Description:  "session identifier assigned to a well-known session cookie or URL parameter name (JSESSIONID, PHPSESSID, connect.sid, *_session, ...)",
			Keywords:     []string{"sess", "sid="},
			MustMatch:    []string{"GET /app;jsessionid=" + "1A2B3C4D5E6F7A8B HTTP/1.1", "laravel_session=" + "eyJpdiI6IkN0b2tlbiJ9abc; path=/"},
			MustNotMatch: []string{"session=true", "the session id is rotated on login", "PHPSESSID=deleted"},
			patterns:     []pattern{newPattern(`(?i)(?:^|[^a-z0-9_.\-])(?:jsessionid|phpsessid|asp\.net_sessionid|aspsessionid[a-z]{0,8}|connect\.sid|sessionid|session_id|sessid|[a-z0-9_.\-]*_session|session|sid)=(?P<s1>[^;\s&"'<>,\\]{8,})`, keepValue)},
		},
		{
			window:      defaultWindow,
			Name:        "url-query-secret",
			Description: "credential passed in a URL query parameter (token, key, sig, password, X-Amz-Signature, ...)",
			Keywords:    []string{"sig=", "signature=", "code=", "key=", "token=", "auth=", "secret=", "password=", "passwd=", "pwd=", "credential="},
			MustMatch: []string{
				"https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sig=" + "kP8x2vQ%2Bz9mL4nR7tY1wA%3D",
				"https://api.example.com/v1/items?page=2&access_token=" + "a1b2c3d4e5",
				"https://s3.amazonaws.com/b/k?X-Amz-Signature=" + "9f86d081884c7d659a2feaa0c55ad015",
			},
			MustNotMatch: []string{"https://example.com/search?q=token&page=2", "https://example.com/?key=", "https://example.com/?token=${TOKEN}"},
			patterns:     []pattern{newPattern(`(?i)[?&;](?:x-amz-signature|x-amz-security-token|x-amz-credential|x-goog-signature|x-goog-credential|sig|signature|code|key|apikey|api_key|api-key|access_token|id_token|refresh_token|token|auth|client_secret|secret|password|passwd|pwd|private_token)=(?P<s1>[^&#\s"'<>\\]+)`, keepValue)},
		},
	}
}

// keepValue keeps a span unless it is a placeholder.
func keepValue(s string, start, end int) bool {
	return !isPlaceholder(s[start:end])
}

// authSchemes are Authorization schemes, which are kept in the text.
var authSchemes = map[string]bool{
	"bearer": true, "basic": true, "token": true, "bot": true, "apikey": true, "key": true,
	"digest": true, "negotiate": true, "ntlm": true, "sso-key": true,
}

// keepAuthorization keeps an Authorization header credential. After an
// explicit scheme anything but a placeholder is a credential; without one
// the value must look like a secret, so that prose such as
// "Authorization: required" survives.
func keepAuthorization(s string, start, end int) bool {
	v := s[start:end]
	if isPlaceholder(v) || authSchemes[strings.ToLower(v)] {
		return false
	}
	before := asciiLower(strings.TrimRight(s[max(0, start-32):start], " \t"))
	for scheme := range authSchemes {
		if strings.HasSuffix(before, scheme) {
			return true
		}
	}
	return looksSecret(v)
}

// keepBare keeps a credential after a bare "Bearer" or "token" only when it
// mixes letters and digits, as tokens do and words do not.
func keepBare(s string, start, end int) bool {
	v := s[start:end]
	return !isPlaceholder(v) && hasDigit(v) && hasLetter(v)
}

// keepBasic keeps a bare Basic credential only when it decodes to
// printable "user:password".
func keepBasic(s string, start, end int) bool {
	v := s[start:end]
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(v, "="))
	}
	if err != nil || bytes.IndexByte(raw, ':') <= 0 {
		return false
	}
	for _, c := range raw {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

var cookieLine = regexp.MustCompile(`(?i)(?:^|[^a-z0-9\-])(set-cookie|cookie)[ \t]*:[ \t]*([^\r\n"\\]+)`)

// cookieSpans masks every value of a Cookie header and the first (the set
// cookie's) value of a Set-Cookie header; the rest of a Set-Cookie line is
// attributes (Path, Expires, HttpOnly), which are not secret.
func cookieSpans(s string) [][2]int {
	var out [][2]int
	for _, m := range cookieLine.FindAllStringSubmatchIndex(s, -1) {
		set := strings.EqualFold(s[m[2]:m[3]], "set-cookie")
		pos := m[4]
		for _, pair := range strings.Split(s[m[4]:m[5]], ";") {
			if eq := strings.IndexByte(pair, '='); eq > 0 {
				v := strings.TrimSpace(pair[eq+1:])
				start := pos + eq + 1 + strings.Index(pair[eq+1:], v)
				if v != "" && !isPlaceholder(v) {
					out = append(out, [2]int{start, start + len(v)})
				}
			}
			pos += len(pair) + 1
			if set {
				break
			}
		}
	}
	return out
}
