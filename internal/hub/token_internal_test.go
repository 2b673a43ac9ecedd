package hub

import (
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/engine"
)

func TestWriteDenied(t *testing.T) {
	acct := func(role string) *engine.HubAccount {
		return &engine.HubAccount{Name: "alice", TokenRole: role,
			Orgs: []engine.HubOrg{{Name: "acme", Role: "write"}, {Name: "readers", Role: "read"}},
			Scoped: []engine.HubScope{{Type: "org", Name: "acme", Permissions: []string{"repo.content.read", "repo.write"}},
				{Type: "user", Name: "alice", Permissions: []string{"repo.content.read"}}}}
	}
	tests := []struct {
		role, ns, want string // want: "" allowed, else part of the reason
	}{
		{"write", "alice", ""},
		{"write", "acme", ""},
		{"write", "readers", `role in readers is "read"`},
		{"write", "strangers", "not a member of strangers"},
		{"read", "alice", "read-only"},
		{"fineGrained", "acme", ""},
		{"fineGrained", "alice", "no repo.write permission on alice"},
		{"", "alice", "unknown token role"},
	}
	for _, tt := range tests {
		got := writeDenied(acct(tt.role), tt.ns)
		if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("%s token on %s: %q, want %q", tt.role, tt.ns, got, tt.want)
		}
	}
}
