package evaluate

import "testing"

func TestCompleteText(t *testing.T) {
	t.Parallel()
	tests := []struct{ text, reason, want string }{
		{"names CWE-770 and CWE-7", "length", "names CWE-770 and"},
		{"names CWE-770 and CWE-7", "stop", "names CWE-770 and CWE-7"},
		{"single", "length", ""},
	}
	for _, tt := range tests {
		if got := completeText(tt.text, tt.reason); got != tt.want {
			t.Errorf("completeText(%q, %q) = %q, want %q", tt.text, tt.reason, got, tt.want)
		}
	}
}
