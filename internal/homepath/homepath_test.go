package homepath

import (
	"strings"
	"testing"
)

func TestRel(t *testing.T) {
	tests := []struct {
		name  string
		roots Roots
		in    string
		want  string
		how   How
	}{
		{"relative", Roots{}, "src/a.js", "src/a.js", Relative},
		{"dot relative", Roots{}, "./src/../src/a.js", "src/a.js", Relative},
		{"eslint laptop uri, repo name", Roots{Repos: []string{"shop"}}, "file:///Users/alice/git/shop/src/a.js", "src/a.js", Repo},
		{"eslint laptop uri, no evidence", Roots{}, "file:///Users/alice/git/shop/src/a.js", "git/shop/src/a.js", Home},
		{"osv laptop path", Roots{}, "/home/bob/shop/go.mod", "shop/go.mod", Home},
		{"root home", Roots{}, "/root/shop/go.mod", "shop/go.mod", Home},
		{"windows back slashes", Roots{}, `C:\Users\carol\src\shop\app.py`, "src/shop/app.py", Home},
		{"windows drive lower case", Roots{Repos: []string{"shop"}}, `c:\Users\carol\src\shop\app.py`, "app.py", Repo},
		{"windows file uri", Roots{}, "file:///C:/Users/carol/shop/app.py", "shop/app.py", Home},
		{"percent-encoded", Roots{}, "file:///Users/alice/My%20Code/shop/a%2Bb.js", "My Code/shop/a+b.js", Home},
		{"checkout dir", Roots{Dirs: []string{"/Users/alice/git/shop/"}}, "file:///Users/alice/git/shop/src/a.js", "src/a.js", Root},
		{"longest dir wins", Roots{Dirs: []string{"/Users/alice/", "/Users/alice/git/shop/"}}, "/Users/alice/git/shop/src/a.js", "src/a.js", Root},
		{"windows dir case-insensitive", Roots{Dirs: []string{"C:/Users/carol/shop/"}}, `C:\users\carol\shop\a.cs`, "a.cs", Root},
		{"github runner", Roots{}, "/home/runner/work/shop/shop/go.mod", "go.mod", CI},
		{"github container", Roots{}, "/github/workspace/src/a.js", "src/a.js", CI},
		{"gitlab", Roots{}, "/builds/acme/shop/src/a.js", "src/a.js", CI},
		{"windows runner", Roots{}, `D:\a\shop\shop\src\a.cs`, "src/a.cs", CI},
		{"other absolute", Roots{}, "/opt/build/a.js", "/opt/build/a.js", Absolute},
		{"https kept", Roots{}, "https://example.com/home/x/a", "https://example.com/home/x/a", Relative},
		{"file host", Roots{}, "file://laptop/home/dan/shop/a.js", "shop/a.js", Home},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, how := tt.roots.Rel(tt.in)
			if got != tt.want || how != tt.how {
				t.Errorf("Rel(%q) = %q, %d; want %q, %d", tt.in, got, how, tt.want, tt.how)
			}
		})
	}
}

func TestCIRootRepo(t *testing.T) {
	tests := []struct{ in, root, repo string }{
		{"/home/runner/work/shop/shop/go.mod", "/home/runner/work/shop/shop/", "shop"},
		{"/__w/shop/shop/a", "/__w/shop/shop/", "shop"},
		{"/builds/acme/shop/a", "/builds/acme/shop/", "shop"},
		{"/github/workspace/a", "/github/workspace/", ""},
		{"/home/alice/a", "", ""},
	}
	for _, tt := range tests {
		root, repo := CIRoot(tt.in)
		if root != tt.root || repo != tt.repo {
			t.Errorf("CIRoot(%q) = %q, %q; want %q, %q", tt.in, root, repo, tt.root, tt.repo)
		}
	}
}

func TestRepoName(t *testing.T) {
	tests := map[string]string{
		"https://github.com/acme/shop":     "shop",
		"https://github.com/acme/shop.git": "shop",
		"git@github.com:acme/shop.git":     "shop",
		"https://github.com/acme/shop/":    "shop",
		"shop":                             "",
		"":                                 "",
	}
	for in, want := range tests {
		if got := RepoName(in); got != want {
			t.Errorf("RepoName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCommonDir(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"/home/a/shop/src/x.js", "/home/a/shop/lib/y.js"}, "/home/a/shop/"},
		{[]string{"/home/a/shop/x.js"}, ""},
		{[]string{"/home/a/shop/x.js", "/home/a/shop/x.js"}, ""},
		{[]string{"/x/a", "/y/b"}, ""},
	}
	for _, tt := range tests {
		if got := CommonDir(tt.in); got != tt.want {
			t.Errorf("CommonDir(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFindHome(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"error in /home/alice/shop/a.js", true},
		{`"uri":"file:///Users/alice/a.js"`, true},
		{`C:\Users\carol\shop`, true},
		{`"C:\\Users\\carol\\shop"`, true},
		{"C:/Users/carol/shop", true},
		{"see https://example.com/home/x/y", false},
		{"/opt/home/x/y", false},
		{"runs as root in /root/", false},
		{"/homework/x", false},
	}
	for _, tt := range tests {
		if got := FindHome(tt.in) != nil; got != tt.want {
			t.Errorf("FindHome(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestHits(t *testing.T) {
	id := Identity{User: "alicew", Home: "/home/alicew"}
	tests := []struct {
		id   Identity
		line string
		want string
	}{
		{id, "path /home/alicew/x", "local home directory,local user name"},
		{id, "by alicew today", "local user name"},
		{id, "alicewonder", ""},
		{id, "/Users/bob/x", "home directory path"},
		{Identity{User: "root", Home: "/root"}, "runs as root", ""},
		{Identity{User: "bob"}, "bob was here", ""},
		{Identity{User: "root", Home: "/root"}, "chmod /root/.ssh", ""},
		{Identity{User: "runner", Home: "/home/runner"}, "CI at /home/runner/work", "home directory path"},
	}
	for _, tt := range tests {
		if got := strings.Join(tt.id.Hits(tt.line), ","); got != tt.want {
			t.Errorf("Hits(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

func TestText(t *testing.T) {
	r := Roots{Repos: []string{"shop"}}
	tests := []struct{ in, want string }{
		{"cannot parse /home/alice/shop/a.js: bad", "cannot parse a.js: bad"},
		{"at file:///Users/alice/x/y.js line 3", "at x/y.js line 3"},
		{`open C:\Users\carol\notes.txt`, "open notes.txt"},
		{"cd /home/alice && make", "cd ~ && make"},
		{"nothing here", "nothing here"},
	}
	for _, tt := range tests {
		if got, _ := r.Text(tt.in); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzRel(f *testing.F) {
	for _, s := range []string{"file:///Users/alice/git/shop/src/a.js", `C:\Users\c\a`, "/home/runner/work/a/a/x",
		"%2Fhome%2Fx", "/root/a", "file://h", "./../a", "file:///C:", "/home/a b/c%ZZ"} {
		f.Add(s, "shop")
	}
	f.Fuzz(func(t *testing.T, p, repo string) {
		r := Roots{Repos: []string{repo}, Dirs: []string{"/home/x/shop/"}}
		got, how := r.Rel(p)
		if how != Absolute && how != Relative && strings.HasPrefix(got, "/") {
			t.Fatalf("Rel(%q) = %q (%d): absolute result", p, got, how)
		}
		if how == Home && HomeDir(Normalize(p)) == "" {
			t.Fatalf("Rel(%q) = %q: home dropped from a path without one", p, got)
		}
		if out, _ := r.Text(p); FindHome(out) != nil {
			t.Fatalf("Text(%q) = %q: a home directory is left", p, out)
		}
	})
}
