package narrate

import (
	"strings"
	"testing"
)

func TestSummary(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("word ", 70) // 350 characters, no sentence end
	tests := []struct {
		name, in, want string
		cut            bool
	}{
		{"short stays whole", "One sentence. Two.", "One sentence. Two.", false},
		{"headings and list numbers skipped",
			"Summary. The `HttpPostRequestDecoder` can be tricked to accumulate data. I have spotted currently two attack vectors Details. 1. While the decoder can store items on the disk if configured so, there are no limits to the number of fields the form can have, an attacher can send a chunked post.",
			"The `HttpPostRequestDecoder` can be tricked to accumulate data. I have spotted currently two attack vectors Details.", true},
		{"a dotted name does not end a sentence",
			"A temp directory creation vulnerability exists in all versions of Guava, allowing an attacker with access to the machine to potentially access data in a temporary directory created by the Guava API com.google.common.io.Files.createTempDir(). By default, on unix-like systems, the created directory is world-readable.",
			"A temp directory creation vulnerability exists in all versions of Guava, allowing an attacker with access to the machine to potentially access data in a temporary directory created by the Guava API com.google.common.io.Files.createTempDir().", true},
		{"versions and e.g. do not end a sentence",
			"Versions 1.2.3 to 1.4 are affected, e.g. the parser when it reads untrusted input from a client over the network. " + strings.Repeat("More detail here. ", 8),
			"Versions 1.2.3 to 1.4 are affected, e.g. the parser when it reads untrusted input from a client over the network. More detail here. More detail here. More detail here. More detail here.", true},
		{"one sentence over the prompt's bound is cut at a word", long, strings.TrimSpace(wordClip(strings.TrimSpace(long), maxSummary)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, cut := summary(tt.in)
			if got != tt.want || cut != tt.cut {
				t.Errorf("summary(%q)\n = %q, %v\nwant %q, %v", tt.in, got, cut, tt.want, tt.cut)
			}
			if tt.cut && len(got) > maxDescription {
				t.Errorf("summary is %d characters, over the prompt's bound %d", len(got), maxDescription)
			}
		})
	}
}
