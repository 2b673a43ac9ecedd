package redact

import (
	"math"
	"regexp"
	"strings"
)

// Key names, as regular-expression fragments without capture groups. A key
// must END with one of the keywords, so "password", "db_password" and
// "dbPassword" are keys but "passwordPolicy", "tokenizer", "max_tokens" and
// "secret_name" are not.
const (
	passwordKey = `(?:[a-z0-9_.\-]*(?:passw(?:or)?d|passphrase)|(?:[a-z0-9_.\-]*[_.\-])?(?:pass|pwd)|[a-z0-9_.\-]*(?-i:[a-z0-9](?:Pass|Pwd)))`
	secretKey   = `(?:[a-z0-9_.\-]*(?:secret|secret[_.\-]?key|token|api[_.\-]?key|access[_.\-]?key|private[_.\-]?key|auth[_.\-]?key|signing[_.\-]?key|encryption[_.\-]?key|master[_.\-]?key|credentials?))`
	genericKey  = `(?:[a-z0-9_.\-]*(?:key|auth|signature))`
)

// assignmentDetectors find values assigned to secret-looking names in code
// and configuration. Only the value is masked; the key stays so the text
// still reads ("password = [REDACTED:password-assignment]").
//
// Placeholders are not secrets and are left alone (see isPlaceholder):
// empty values, ${VAR}, $VAR, {{ tmpl }}, <password>, ****, "changeme",
// "your_password", values containing "example", and type names in
// annotations (`password: str`). Unquoted values that are code — a call, a
// member access, an UPPER_SNAKE constant — are left alone too.
func assignmentDetectors() []Detector {
	return []Detector{
		{
			Name:        "password-assignment",
			Description: "value assigned to a password-like name in code, config, env files, properties, YAML, XML, CLI flags and connection strings",
			Keywords:    []string{"pass", "pwd"},
			MustMatch: []string{
				`password = "hunter2"`,
				`"password": "S3cure!Pass"`,
				`DB_PASSWORD=Tr0ub4dor&3`,
				"spring:\n  datasource:\n    password: Sup3rS3cret",
				`<password>p@ssw0rd</password>`,
				`jdbc.password=hunter22`,
				`Server=db;Database=app;User Id=sa;Password=Xk9#mQ2v;`,
				`mysql --user=root --password="Xk9mQ2v!"`,
				`<add key="SmtpPassword" value="Xk9mQ2v!" />`,
				`$dbPass = 'letmein42';`,
			},
			MustNotMatch: []string{
				`password = ""`,
				`password = "${DB_PASSWORD}"`,
				`PASSWORD=$DB_PASSWORD`,
				`<password></password>`,
				`password: <password>`,
				`password = "changeme"`,
				`password = "your_password_here"`,
				"the password is hashed with bcrypt",
				"Password: must be at least 8 characters",
				`password = get_password()`,
				`password = os.environ["DB_PASSWORD"]`,
				`passwordPolicy: strict`,
				`password_min_length = 12`,
				`if password == "":`,
				`def login(password: str) -> bool:`,
				`password = "********"`,
				"bypass: true",
			},
			patterns: assignmentPatterns(passwordKey, keepValue, keepUnquoted),
			window:   assignmentWindow(passwordKey),
		},
		{
			Name:        "secret-assignment",
			Description: "value assigned to a secret-, token-, API-key- or credential-like name in code and config",
			Keywords:    []string{"secret", "token", "key", "credential"},
			MustMatch: []string{
				`api_key = "3a7bd3e2360a3d29eea436fcfb7e44c735d117c4"`,
				`"client_secret": "Xk9mQ2vL8nR4tY6w"`,
				`GITHUB_TOKEN=Xk9mQ2vL8nR4tY6wZ1aB`,
				`SECRET_KEY: django-insecure-x9k2m4q7`,
				`const apiToken = 'Xk9mQ2vL8nR4'`,
				`<clientSecret>Xk9mQ2vL8nR4</clientSecret>`,
			},
			MustNotMatch: []string{
				`token: ${{ secrets.GITHUB_TOKEN }}`,
				`tokenizer: gpt2`,
				`max_tokens: 512`,
				`token_type = "bearer"`,
				`secretName: tls-cert`,
				`secret_key = settings.SECRET_KEY`,
				`api_key=API_KEY`,
				`token = None`,
				"the token is rotated every 90 days",
				`secrets: inherit`,
				`credentials: "include"`,
			},
			patterns: assignmentPatterns(secretKey, keepValue, keepUnquoted),
			window:   assignmentWindow(secretKey),
		},
		{
			Name:        "generic-secret",
			Description: "high-entropy value (Shannon entropy >= 3.5 bits/char, 16-256 chars, letters and digits) assigned to a key-, auth- or signature-like name; hashes, UUIDs and versions are not masked",
			Keywords:    []string{"key", "auth", "signature"},
			MustMatch: []string{
				`stripe_key = "q8Zx2LmN4vB7cR1tY9wK"`,
				`HMAC_SIGNATURE: bX9kM2qL7vN4rT1yW8zA5cD3`,
				`{"auths":{"ghcr.io":{"auth":"dXNlcjpnaHBfYWJj"}}}`,
			},
			MustNotMatch: []string{
				`key = "550e8400-e29b-41d4-a716-446655440000"`,
				`cache_key: "3f786850e387550fdab836ed7e6dc881de23001b"`,
				`image_key: sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08`,
				`digest_key = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"`,
				`public_key = "q8Zx2LmN4vB7cR1tY9wK"`,
				`primary_key = "id"`,
				`key: CVE-2024-12345`,
				`version_key = "1.2.3-beta.4+build.567"`,
				`auth: aaaaaaaaaaaaaaaaaaaa`,
			},
			patterns: assignmentPatterns(genericKey, keepGeneric, keepGeneric),
			window:   assignmentWindow(genericKey),
		},
	}
}

// assignmentPatterns builds the expressions for values assigned to key in
// the usual syntaxes: quoted (`k = "v"`, `"k": "v"`, JSON-escaped quotes) or
// unquoted (`K=v`, `k: v`, `k=v;`) in one expression, then XML elements, CLI
// flags and .NET appSettings, each gated by a literal it needs. quoted vets
// quoted values, unquoted the rest.
func assignmentPatterns(key string, quoted, unquoted func(s string, start, end int) bool) []pattern {
	const (
		before = `(?i)(?:^|[^a-z0-9_.\-])`
		op     = `(?:\\?["'\x60])?[ \t]*(?:=>|:=|\?=|=|:)[ \t]*`
		dq     = `\\?"(?P<s1>(?:[^"\\\r\n]|\\[^"\r\n])+)\\?"`
		sq     = `\\?'(?P<s2>[^'\\\r\n]+)\\?'`
		bq     = "\x60(?P<s3>[^\x60\\r\\n]+)\x60"
		bare   = `(?P<s4>[^\s"'\x60;,&<>()\[\]{}\\=|#][^\s"'\x60;,&<>()\[\]{}\\|]*)`
	)
	either := func(s string, start, end int) bool {
		// A bare value never follows a quote, so a quote before means quoted.
		if start > 0 && strings.IndexByte("\"'`", s[start-1]) >= 0 {
			return quoted(s, start, end)
		}
		return unquoted(s, start, end)
	}
	xml := newPattern(`(?i)<(?:[a-z0-9_\-]+:)?`+key+`(?:\s[^>]*)?>[ \t]*(?P<s1>[^<\s][^<]*?)[ \t]*</`, quoted)
	xml.need = "</"
	flag := newPattern(`(?i)(?:^|\s)--?`+key+`(?:[ \t]+|=)(?:"(?P<s1>[^"\r\n]+)"|'(?P<s2>[^'\r\n]+)'|(?P<s3>[^\s"'\-][^\s"']*))`, unquoted)
	flag.need = "-"
	dotnet := newPattern(`(?i)\bkey\s*=\s*"`+key+`"\s+value\s*=\s*"(?P<s1>[^"]+)"`, quoted)
	dotnet.need = "value"
	return []pattern{
		newPattern(before+key+op+`(?:`+dq+`|`+sq+`|`+bq+`|`+bare+`)`, either),
		xml, flag, dotnet,
	}
}

// assignmentWindow accepts a keyword hit only where the name around it is a
// whole key matching key and is followed by what assignmentPatterns expect:
// an operator (`=`, `:`, `?=`), the end of an XML start tag, a CLI flag's
// value, or .NET's `value=`. Most prose mentions of "key" or "token" fail
// here, so the expressions rarely run. The window runs from just before the
// key (room for .NET's `key="`) to the end of its line (quoted values never
// span lines), or to the closing tag of an XML element, at most maxValue
// bytes on.
func assignmentWindow(key string) func(e *edges, start, end int) (int, int, bool) {
	re := regexp.MustCompile(`(?i)^` + key + `$`)
	const dotnetKey, maxValue = 16, 600
	return func(e *edges, start, end int) (int, int, bool) {
		s := e.s
		a, _ := e.identRun(start)
		_, b := e.identRun(end)
		if !e.wordIs(a, b, re.MatchString) {
			return 0, 0, false
		}
		limit := min(b+maxValue, len(s))
		if a > 0 && s[a-1] == '<' {
			if i := strings.Index(s[b:limit], "</"); i >= 0 {
				limit = b + i + 2
			}
			return e.wordStart(a - 1), e.toSpace(limit), true
		}
		if i := strings.IndexAny(s[b:limit], "\r\n"); i >= 0 {
			limit = b + i
		}
		win := [2]int{e.wordStart(a - dotnetKey), e.toSpace(limit)}
		if s[a] == '-' {
			return win[0], win[1], true
		}
		i := b
		for n := 0; n < 2 && i < len(s) && strings.IndexByte("\\\"'`", s[i]) >= 0; n++ {
			i++
		}
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i == len(s) {
			return 0, 0, false
		}
		ok := strings.IndexByte("=:?>", s[i]) >= 0 || strings.HasPrefix(asciiLower(s[i:min(i+5, len(s))]), "value")
		return win[0], win[1], ok
	}
}

// keepUnquoted keeps an unquoted assigned value unless it is a placeholder or
// code: followed by "(", "[" or ".x" (a call, index or member access), a
// dotted name (settings.SECRET_KEY), or an UPPER_SNAKE constant. After a
// colon (YAML, but also prose and type annotations) the value must also look
// like a secret, so "Password: must be..." survives.
func keepUnquoted(s string, start, end int) bool {
	v := s[start:end]
	if isPlaceholder(v) || isCodeRef(v) {
		return false
	}
	if end < len(s) && (s[end] == '(' || s[end] == '[') {
		return false
	}
	i := start
	for i > 0 && (s[i-1] == ' ' || s[i-1] == '\t') {
		i--
	}
	if i > 0 && s[i-1] == ':' {
		return looksSecret(v)
	}
	return true
}

// keepGeneric keeps a high-entropy value, or base64 of "user:password" as in
// Docker's config.json "auth" (which may lack digits).
func keepGeneric(s string, start, end int) bool {
	return keepEntropy(s, start, end) || len(s[start:end]) >= 8 && keepBasic(s, start, end)
}

// keepEntropy keeps a value that looks randomly generated and is not a hash,
// UUID or version string, which scanner text is full of.
func keepEntropy(s string, start, end int) bool {
	v := s[start:end]
	if len(v) < 16 || len(v) > 256 || isPlaceholder(v) || !hasDigit(v) || !hasLetter(v) {
		return false
	}
	if strings.Contains(asciiLower(s[max(0, start-40):start]), "public") {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !isWord(c) && strings.IndexByte("+/=-.~", c) < 0 {
			return false
		}
	}
	if isHex(v) || isUUID(v) || strings.Count(v, ".") >= 2 {
		return false
	}
	return entropy(v) >= 3.5
}

// entropy is the Shannon entropy of v in bits per byte.
func entropy(v string) float64 {
	var counts [256]int
	for i := 0; i < len(v); i++ {
		counts[v[i]]++
	}
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / float64(len(v))
			h -= p * math.Log2(p)
		}
	}
	return h
}

func isHex(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func isUUID(v string) bool {
	return len(v) == 36 && v[8] == '-' && v[13] == '-' && v[18] == '-' && v[23] == '-' &&
		isHex(v[:8]+v[9:13]+v[14:18]+v[19:23]+v[24:])
}
