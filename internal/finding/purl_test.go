package finding

import "testing"

func TestPURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ eco, name, version, want string }{
		{"maven", "com.fasterxml.jackson.core:jackson-core", "2.14.0-rc2", "pkg:maven/com.fasterxml.jackson.core/jackson-core@2.14.0-rc2"},
		{"maven", "no-group", "1.0", ""},
		{"npm", "@babel/traverse", "7.22.5", "pkg:npm/%40babel/traverse@7.22.5"},
		{"npm", "lodash", "4.17.20", "pkg:npm/lodash@4.17.20"},
		{"pypi", "Django_REST.framework", "3.0", "pkg:pypi/django-rest-framework@3.0"},
		{"go", "golang.org/x/net", "v0.17.0", "pkg:golang/golang.org/x/net@v0.17.0"},
		{"cargo", "smallvec", "1.6.0", "pkg:cargo/smallvec@1.6.0"},
		{"composer", "symfony/http-kernel", "5.4.0", "pkg:composer/symfony/http-kernel@5.4.0"},
		{"debian", "libc6", "2.36", ""},
		{"npm", "", "1.0", ""},
	}
	for _, tt := range tests {
		if got := PURL(tt.eco, tt.name, tt.version); got != tt.want {
			t.Errorf("PURL(%q, %q, %q) = %q, want %q", tt.eco, tt.name, tt.version, got, tt.want)
		}
	}
}
