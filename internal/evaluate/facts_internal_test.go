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

// TestWhereAgrees: the location lines of an answer's "Where" section must
// name the finding's location, and a line only one the prompt gives; an
// answer without the section is judged by its other lines alone.
func TestWhereAgrees(t *testing.T) {
	t.Parallel()
	prompt := "Location: webauthn-server/gradle.lockfile\nCode at app/db.py:12 and http://localhost:8080"
	for _, tt := range []struct {
		name, answer, loc string
		want              bool
	}{
		{"file", "**Where**\n- Package a:b, installed version 1.3.5 (maven)\n- File webauthn-server/gradle.lockfile\n\n**Fix**", "webauthn-server/gradle.lockfile", true},
		{"file name only", "**Where**\n- File gradle.lockfile", "webauthn-server/gradle.lockfile", true},
		{"invented file", "**Where**\n- File ch.qos.logback, line 15-16\n\n**Fix**\nFile webauthn-server/gradle.lockfile", "webauthn-server/gradle.lockfile", false},
		{"invented line", "**Where**\n- File webauthn-server/gradle.lockfile, line 18-19", "webauthn-server/gradle.lockfile", false},
		{"prompt's line", "**Where**\n- File app/db.py, line 12-14", "app/db.py", true},
		{"another line", "**Where**\n- File app/db.py, line 13", "app/db.py", false},
		{"endpoint with method", "**Where**\n- Endpoint GET http://localhost:8080 (parameter \"q\")\n- Seen on 4 distinct requests", "http://localhost:8080", true},
		{"other endpoint", "**Where**\n- Endpoint GET http://localhost:9090/", "http://localhost:8080", false},
		{"outside the section", "**Fix**\n- File other.txt, line 3", "app/db.py", true},
		{"no section", "Upgrade it.", "app/db.py", true},
		{"path with spaces", "**Where**\n- File not a valid URI, line 12", "not a valid URI", true},
		{"path with spaces, other line", "**Where**\n- File not a valid URI, line 2", "not a valid URI", false},
	} {
		if got := whereAgrees(tt.answer, prompt, tt.loc); got != tt.want {
			t.Errorf("%s: whereAgrees = %v, want %v", tt.name, got, tt.want)
		}
	}
}
