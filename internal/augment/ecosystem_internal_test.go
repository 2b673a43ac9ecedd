package augment

import (
	"reflect"
	"testing"
)

func TestShapeVersions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		target string
		vs     []string
		pkg    []string
		want   map[string]string // nil: the copy cannot move there
	}{
		{"npm", []string{"31.1-jre", "32.0.1-jre"}, []string{"31.1-jre", "32.0.1-jre"}, map[string]string{"31.1-jre": "31.1.0", "32.0.1-jre": "32.0.1"}},
		{"npm", []string{"5.3.18.RELEASE", "1:2.4.1-r2"}, nil, map[string]string{"5.3.18.RELEASE": "5.3.18", "1:2.4.1-r2": "2.4.1"}},
		{"pypi", []string{"1.2.3.4", "2023.01.05"}, nil, map[string]string{"1.2.3.4": "1.2.3.4", "2023.01.05": "2023.1.5"}},
		{"cargo", []string{"1.2.3.4", "1.2.3.5"}, nil, nil}, // truncating merges them
		{"npm", []string{"2.0.0", "2.0.0-beta1"}, nil, nil}, // dropping the qualifier merges them
		{"go", []string{"1.3.5", "1.5.13", "1.5.12"}, []string{"1.3.5", "1.5.13"}, map[string]string{"1.3.5": "v1.3.5", "1.5.13": "v1.5.13", "1.5.12": "1.5.12"}},
		{"go", []string{"1.9.0", "2.0.1"}, []string{"1.9.0", "2.0.1"}, nil}, // another major is another module
		{"go", []string{"1.9.0", "2.0.1"}, []string{"1.9.0"}, map[string]string{"1.9.0": "v1.9.0", "2.0.1": "2.0.1"}},
		{"maven", []string{"v0.17.0"}, []string{"v0.17.0"}, map[string]string{"v0.17.0": "0.17.0"}},
	}
	for _, tc := range cases {
		pkg := map[string]bool{}
		for _, v := range tc.pkg {
			pkg[v] = true
		}
		got, ok := shapeVersions(tc.target, tc.vs, pkg)
		if !ok {
			got = nil
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("shapeVersions(%s, %q) = %v, want %v", tc.target, tc.vs, got, tc.want)
		}
	}
}

func TestGoModulePath(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, version, want string }{
		{"github.com/acme/orbit", "v1.4.0", "github.com/acme/orbit"},
		{"github.com/acme/orbit", "v0.4.0", "github.com/acme/orbit"},
		{"github.com/acme/orbit", "v7.1.2", "github.com/acme/orbit/v7"},
		{"github.com/sample/harbor/v2", "v1.0.3", "github.com/sample/harbor"},
		{"github.com/sample/harbor/v2", "v3.0.3", "github.com/sample/harbor/v3"},
	}
	for _, tc := range cases {
		if got := goModulePath(tc.name, tc.version); got != tc.want {
			t.Errorf("goModulePath(%q, %q) = %q, want %q", tc.name, tc.version, got, tc.want)
		}
	}
}
