package validate

import (
	"strings"
	"testing"
)

// TestJudgeAnswer: the functional answer fails only when it says nothing
// a coherent answer says, and warns, naming why, when it invents an
// identifier or moves to the vulnerable version (the demo model's
// "upgrade from 2.14.0 to 2.14.1" passed before).
func TestJudgeAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		want       Status
		why        string
	}{
		{"the fix", "Upgrade log4j-core from 2.14.1 to 2.17.1, which fixes CVE-2021-44228.", Pass, ""},
		{"empty", "  \n", Fail, "empty"},
		{"off topic", "The weather is nice today.", Fail, "none of the words"},
		{"the demo model's", "Upgrade log4j-core from 2.14.0 to 2.14.1.", Warn, "names 2.14.0, not in the question; moves to the installed version 2.14.1"},
		{"to version", "Update to version 2.14.1 now.", Warn, "moves to the installed version 2.14.1"},
		{"the installed version named as such", "You run 2.14.1, which is vulnerable: upgrade to 2.17.1.", Pass, ""},
		{"an invented id", "Patch CVE-2021-45046 by upgrading to 2.17.1.", Warn, "names CVE-2021-45046, not in the question"},
		{"an invented link", "Upgrade to 2.17.1; see https://logging.apache.org/log4j/2.x/security.html", Warn, "https://logging.apache.org/log4j/2.x/security.html"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, why := judgeAnswer(tt.text)
			if got != tt.want || !strings.Contains(why, tt.why) || (tt.why == "") != (why == "") {
				t.Errorf("judgeAnswer(%q) = %s %q, want %s with %q", tt.text, got, why, tt.want, tt.why)
			}
		})
	}
}
