package config

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/vulntune/vulntune/internal/augment"
	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/remedy/cwe"
)

// Value checks used by the settings table. Each returns a message that
// completes "<where>: <key>: ...".

func positiveInt(v any) error {
	if n := toInt(v); n <= 0 {
		return fmt.Errorf("must be greater than 0, got %d", n)
	}
	return nil
}

func nonNegativeInt(v any) error {
	if n := toInt(v); n < 0 {
		return fmt.Errorf("must be 0 or more, got %d", n)
	}
	return nil
}

func toInt(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	}
	return 0
}

func positiveFloat(v any) error {
	if f := v.(float64); f <= 0 {
		return fmt.Errorf("must be greater than 0, got %g", f)
	}
	return nil
}

func nonNegativeFloat(v any) error {
	if f := v.(float64); f < 0 {
		return fmt.Errorf("must be 0 or more, got %g", f)
	}
	return nil
}

// fraction accepts 0..1 inclusive.
func fraction(v any) error {
	if f := v.(float64); f < 0 || f > 1 {
		return fmt.Errorf("must be between 0 and 1, got %g", f)
	}
	return nil
}

// dropout accepts 0 <= p < 1: a dropout of 1 zeroes every adapter input.
func dropout(v any) error {
	if f := v.(float64); f < 0 || f >= 1 {
		return fmt.Errorf("must be at least 0 and below 1, got %g", f)
	}
	return nil
}

func oneOf(allowed ...string) func(any) error {
	return func(v any) error {
		if !slices.Contains(allowed, v.(string)) {
			return fmt.Errorf("must be one of %s, got %q", strings.Join(allowed, ", "), v)
		}
		return nil
	}
}

func nonEmpty(v any) error {
	if strings.TrimSpace(v.(string)) == "" {
		return fmt.Errorf("must not be empty")
	}
	return nil
}

// dirName accepts a single path element, because the value names a folder
// inside another configured folder.
func dirName(v any) error {
	s := v.(string)
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, `/\`) {
		return fmt.Errorf("must be a single folder name without slashes, got %q", s)
	}
	return nil
}

// baseModelName is a folder under base_models_dir, or a Hub repo id
// (owner/name) that `vulntune models pull` stores under its name.
func baseModelName(v any) error {
	s := v.(string)
	parts := strings.Split(s, "/")
	if s == "" || len(parts) > 2 || slices.ContainsFunc(parts, func(p string) bool { return p == "" || p == "." || p == ".." }) {
		return fmt.Errorf("must be a model folder name or a Hub id owner/name, got %q", s)
	}
	return nil
}

func nonEmptyList(v any) error {
	if len(v.([]string)) == 0 {
		return fmt.Errorf("must list at least one module")
	}
	return nil
}

// hubNamespace is the Hub's rule for user and organisation names; empty
// means the namespace of the account HF_TOKEN belongs to.
var hubNamespace = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$`)

func repoPrefix(v any) error {
	s := v.(string)
	if s != "" && !hubNamespace.MatchString(s) {
		return fmt.Errorf("must be a Hub user or organisation name (letters, digits, '-', '_', '.'), got %q", s)
	}
	return nil
}

// httpURL accepts "" (use the engine's own server) or an http(s) URL.
func httpURL(v any) error {
	s := v.(string)
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err == nil && u.User != nil {
		// Checked first so that the message never repeats a password.
		return fmt.Errorf("must not carry credentials in the URL")
	}
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		if strings.Contains(s, "@") { // may hold a password the parser could not split off
			return fmt.Errorf("must be an http:// or https:// URL without credentials")
		}
		return fmt.Errorf("must be an http:// or https:// URL, got %q", s)
	}
	return nil
}

// nonEmptyNames requires a list of names (a replacement pool) without
// empty entries and with at least two, so a replacement can differ from
// the name it replaces.
func nonEmptyNames(v any) error {
	l := v.([]string)
	if len(l) < 2 {
		return fmt.Errorf("must list at least two names, got %d", len(l))
	}
	return nil
}

// cweList accepts CWE ids of weaknesses the shipped catalogue has and
// MITRE has not deprecated: a copy tagged with a category ("CWE-16
// Configuration") or a deprecated entry would teach what MITRE tells
// people not to map to.
func cweList(v any) error {
	for _, id := range v.([]string) {
		e, ok := cwe.Lookup(id)
		switch {
		case !ok:
			return fmt.Errorf("%q is not a CWE id of the shipped catalogue", id)
		case e.Type != "weakness":
			return fmt.Errorf("%q is a %s of the shipped catalogue (%s), not a weakness", id, e.Type, e.Name)
		case e.Status == "Deprecated":
			return fmt.Errorf("%q is deprecated by MITRE (%s)", id, e.Name)
		}
	}
	return nil
}

// ecosystemList accepts the ecosystems augment can move a copy to, in
// any spelling the ingesters understand ("PyPI", "crates.io").
func ecosystemList(v any) error {
	known := augment.Ecosystems()
	for _, e := range v.([]string) {
		if !slices.Contains(known, finding.CanonicalEcosystem(e)) {
			return fmt.Errorf("%q is not one of %s", e, strings.Join(known, ", "))
		}
	}
	return nil
}

// crossCheck validates combinations of settings; it names every key involved.
func crossCheck(c *Config, bad map[string]bool) []string {
	var msgs []string
	if a := c.Dataset.Augment; !bad["dataset.augment.copies"] && !bad["dataset.augment.max_copies"] && a.MaxCopies != 0 && a.MaxCopies < a.Copies {
		msgs = append(msgs, fmt.Sprintf("dataset.augment.max_copies (%d) must be 0 or at least dataset.augment.copies (%d)", a.MaxCopies, a.Copies))
	}
	if d := c.Dataset; !bad["dataset.valid_fraction"] && !bad["dataset.test_fraction"] && d.ValidFraction+d.TestFraction >= 1 {
		msgs = append(msgs, fmt.Sprintf(
			"dataset.valid_fraction (%g) + dataset.test_fraction (%g) must be below 1, or nothing is left to train on",
			d.ValidFraction, d.TestFraction))
	}
	return msgs
}

// requiredHTTPURL is httpURL without the empty value.
func requiredHTTPURL(v any) error {
	if v.(string) == "" {
		return fmt.Errorf("must be an http:// or https:// URL")
	}
	return httpURL(v)
}

// ghName is GitHub's rule for owner and repository names.
var ghName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)

func repoList(v any) error {
	for _, r := range v.([]string) {
		owner, name, ok := strings.Cut(r, "/")
		if !ok || !ghName.MatchString(owner) || !ghName.MatchString(name) || name == "." || name == ".." {
			return fmt.Errorf("must list repositories as OWNER/NAME, got %q", r)
		}
	}
	return nil
}

func globList(v any) error {
	for _, g := range v.([]string) {
		if _, err := path.Match(g, ""); err != nil {
			return fmt.Errorf("%q is not a valid glob: %v", g, err)
		}
	}
	return nil
}

// duration accepts a positive Go duration such as 5m or 1h30m.
func duration(v any) error {
	d, err := time.ParseDuration(v.(string))
	if err != nil || d <= 0 {
		return fmt.Errorf("must be a duration such as 30s, 5m or 2h, got %q", v)
	}
	return nil
}
