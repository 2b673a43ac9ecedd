package augment

import "testing"

// TestBumpPart: the version a moved fix takes, on another release line.
func TestBumpPart(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		part int
		want string
	}{
		{"1.3.15", 0, "2.3.15"},
		{"1.3.15", 1, "1.4.15"},
		{"0.5.3", 0, "0.6.3"}, // below 1.0 the minor is the line
		{"v1.2.3", 0, "v2.2.3"},
		{"4.1.1-jre", 1, "4.2.1-jre"},
		{"7", 1, ""},
		{"x", 0, ""},
	} {
		if got := bumpPart(tt.in, tt.part); got != tt.want {
			t.Errorf("bumpPart(%q, %d) = %q, want %q", tt.in, tt.part, got, tt.want)
		}
	}
}
