package redact

import "strings"

// placeholderWords are assigned values that stand for a secret rather than
// being one: template words, null-ish values, type names from annotations
// (`password: str`) and fetch's credentials modes. "changeme" and its kin are
// here too: they are well-known defaults, masking them hides nothing, and
// keeping them lets the model see what the finding is about.
var placeholderWords = map[string]bool{
	"": true, "none": true, "null": true, "nil": true, "undefined": true, "true": true, "false": true,
	"yes": true, "no": true, "on": true, "off": true, "empty": true, "default": true, "required": true,
	"optional": true, "string": true, "str": true, "bytes": true, "char": true, "int": true, "any": true,
	"object": true, "secretstr": true, "secretstring": true, "securestring": true, "secret": true,
	"secrets": true, "password": true, "passwd": true, "token": true, "changeme": true, "changeit": true,
	"hidden": true, "masked": true, "redacted": true, "include": true, "omit": true, "same-origin": true,
	"n/a": true, "na": true, "tbd": true, "todo": true, "fixme": true, "unknown": true, "value": true,
	"deleted": true, "example": true, "dummy": true, "placeholder": true, "xxx": true,
}

// placeholderParts are substrings that mark a value as a placeholder.
var placeholderParts = []string{"example", "placeholder", "changeme", "change_me", "change-me", "redacted", "dummy", "process.env", "os.environ", "getenv"}

// isPlaceholder reports whether an assigned value stands for a secret instead
// of being one: ${VAR}, $VAR, %VAR%, {{ tmpl }}, {0}, <password>, ****,
// xxxx, "your_password", "changeme" and the words in placeholderWords.
func isPlaceholder(v string) bool {
	v = strings.TrimSpace(v)
	lower := strings.ToLower(v)
	if placeholderWords[lower] {
		return true
	}
	switch v[0] {
	case '$', '%', '{', '<', '[':
		return true
	}
	if strings.HasPrefix(lower, "your") || strings.HasPrefix(lower, "#{") || strings.HasPrefix(lower, "@{") {
		return true
	}
	if strings.Trim(v, "*xX•.#-_?") == "" {
		return true
	}
	for _, p := range placeholderParts {
		if strings.Contains(lower, p) {
			return true
		}
	}
	return false
}

// isCodeRef reports whether an unquoted value is a reference in code rather
// than a literal: a dotted name (settings.SECRET_KEY, self.token) or an
// UPPER_SNAKE constant (API_KEY).
func isCodeRef(v string) bool {
	upperSnake := strings.IndexByte(v, '_') >= 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			upperSnake = false
			break
		}
	}
	if upperSnake {
		return true
	}
	parts := strings.Split(v, ".")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if p == "" || !(p[0] == '_' || p[0] >= 'a' && p[0] <= 'z' || p[0] >= 'A' && p[0] <= 'Z') {
			return false
		}
		for i := 0; i < len(p); i++ {
			if !isWord(p[i]) {
				return false
			}
		}
	}
	return true
}

// looksSecret is the bar for a value whose context alone is weak evidence
// (after "key:" in text that may be prose): at least six characters with a
// digit or symbol, or sixteen or more characters.
func looksSecret(v string) bool {
	if len(v) >= 16 {
		return true
	}
	if len(v) < 6 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !(v[i] >= 'a' && v[i] <= 'z' || v[i] >= 'A' && v[i] <= 'Z') {
			return true
		}
	}
	return false
}

func hasDigit(v string) bool { return strings.ContainsAny(v, "0123456789") }

func hasLetter(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] >= 'a' && v[i] <= 'z' || v[i] >= 'A' && v[i] <= 'Z' {
			return true
		}
	}
	return false
}
