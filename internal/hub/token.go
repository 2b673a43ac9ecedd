package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vulntune/vulntune/internal/engine"
)

// Token is a Hugging Face token and where it came from. It prints as its
// source, never its value.
type Token struct {
	value  string
	Source string // "HF_TOKEN", "login token file", ...
}

// String names the source only.
func (t Token) String() string { return "token from " + t.Source }

// Value is the token, for the engine call that passes it as HF_TOKEN.
func (t Token) Value() string { return t.value }

// ErrNoToken is returned when no token is configured anywhere.
var ErrNoToken = errors.New("no Hugging Face token")

// NoTokenError lists where ResolveToken looked.
type NoTokenError struct{ Looked []string }

func (e *NoTokenError) Error() string {
	return fmt.Sprintf("no Hugging Face token (looked in %s)", strings.Join(e.Looked, ", "))
}

// Is makes errors.Is(err, ErrNoToken) true.
func (e *NoTokenError) Is(target error) bool { return target == ErrNoToken }

// Hint names the ways to provide one.
func (e *NoTokenError) Hint() string {
	return "export HF_TOKEN with a write token (https://huggingface.co/settings/tokens), or log in with `hf auth login` (`huggingface-cli login` with older clients)"
}

// ResolveToken returns the token to publish with: the configured one
// (HF_TOKEN or HUGGING_FACE_HUB_TOKEN, through config.HFToken), else the
// file the official client writes on login: $HF_TOKEN_PATH, else
// $HF_HOME/token, else $XDG_CACHE_HOME/huggingface/token, else
// ~/.cache/huggingface/token (huggingface_hub's constants.HF_TOKEN_PATH).
func ResolveToken(configured string, getenv func(string) string, home string) (Token, error) {
	if configured != "" {
		return Token{value: configured, Source: "HF_TOKEN"}, nil
	}
	p := TokenFile(getenv, home)
	b, err := os.ReadFile(p)
	if err == nil {
		if v := strings.TrimSpace(string(b)); v != "" {
			return Token{value: v, Source: "login token file"}, nil
		}
	}
	return Token{}, &NoTokenError{Looked: []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "the login token file"}}
}

// TokenFile is where huggingface_hub keeps the token of `hf auth login`.
func TokenFile(getenv func(string) string, home string) string {
	if p := getenv("HF_TOKEN_PATH"); p != "" {
		return expandHome(p, home)
	}
	hfHome := getenv("HF_HOME")
	if hfHome == "" {
		cache := getenv("XDG_CACHE_HOME")
		if cache == "" {
			cache = filepath.Join(home, ".cache")
		}
		hfHome = filepath.Join(cache, "huggingface")
	}
	return filepath.Join(expandHome(hfHome, home), "token")
}

func expandHome(p, home string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		return filepath.Join(home, p[1:])
	}
	return p
}

// Whoami is the part of the engine the token check needs.
type Whoami interface {
	HubWhoami(ctx context.Context, auth engine.HubAuth) (*engine.HubAccount, error)
}

// AccessError is a token that may not write where a publish would.
type AccessError struct {
	Account, Namespace, Reason string
}

func (e *AccessError) Error() string {
	return fmt.Sprintf("the Hugging Face token of %s cannot write to %s: %s", e.Account, e.Namespace, e.Reason)
}

// Hint says what token is needed.
func (e *AccessError) Hint() string {
	return "use a token with the write role (or a fine-grained token with repo.write on " + e.Namespace + "), or publish under another --repo / default_repo_prefix"
}

// CheckAccess asks the Hub whose token tok is and refuses unless it may
// create and write repos in namespace ("" = the token's own account). It
// returns the account, so a run can check its token before it trains.
func CheckAccess(ctx context.Context, w Whoami, tok Token, endpoint, namespace string) (*engine.HubAccount, error) {
	if tok.Value() == "" {
		return nil, &NoTokenError{Looked: []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "the login token file"}}
	}
	acct, err := w.HubWhoami(ctx, engine.HubAuth{Token: tok.Value(), Endpoint: endpoint})
	if err != nil {
		var ee *engine.EngineError
		if errors.As(err, &ee) && ee.Kind == "HubUnauthorized" {
			return nil, &AccessError{Account: "(unknown)", Namespace: namespaceOr(namespace, "your account"), Reason: "the Hub does not accept the " + tok.String()}
		}
		return nil, fmt.Errorf("check the Hugging Face token: %w", err)
	}
	ns := namespaceOr(namespace, acct.Name)
	if reason := writeDenied(acct, ns); reason != "" {
		return acct, &AccessError{Account: acct.Name, Namespace: ns, Reason: reason}
	}
	return acct, nil
}

func namespaceOr(ns, def string) string {
	if ns == "" {
		return def
	}
	return ns
}

// writeDenied says why acct's token may not write in ns ("" when it may).
func writeDenied(acct *engine.HubAccount, ns string) string {
	switch acct.TokenRole {
	case "write":
		if ns == acct.Name {
			return ""
		}
		for _, o := range acct.Orgs {
			if o.Name == ns {
				if o.Role == "admin" || o.Role == "write" || o.Role == "contributor" {
					return ""
				}
				return fmt.Sprintf("the account's role in %s is %q", ns, o.Role)
			}
		}
		return "the account is not a member of " + ns
	case "fineGrained":
		for _, s := range acct.Scoped {
			if s.Name != ns {
				continue
			}
			for _, p := range s.Permissions {
				if p == "repo.write" {
					return ""
				}
			}
		}
		return "the fine-grained token has no repo.write permission on " + ns
	case "read":
		return "the token is read-only"
	}
	return fmt.Sprintf("unknown token role %q", acct.TokenRole)
}
