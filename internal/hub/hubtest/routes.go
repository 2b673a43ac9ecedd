package hubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// call is one request being served, with the route's captured groups.
type call struct {
	r    *http.Request
	body []byte
	m    []string
	// after runs once the request is recorded.
	after func()
}

// route is one served route. Paths are matched escaped, so a revision such
// as refs%2Fpr%2F1 stays one segment.
type route struct {
	name   string
	method string // "GET|HEAD" allows several
	re     *regexp.Regexp
	writes bool
	serve  func(s *Server, w http.ResponseWriter, c *call)
}

const (
	seg    = `([A-Za-z0-9][A-Za-z0-9._-]*)`
	repoRE = seg + `/` + seg
	revRE  = `([^/]+)`
	typeRE = `(models|datasets|spaces)`
)

// routes is every route the stand-in serves; see DESIGN.md §6 and the
// contract test for the client calls behind each.
var routes = []route{
	{name: "whoami", method: "GET", re: regexp.MustCompile(`^/api/whoami-v2$`), serve: (*Server).whoami},
	{name: "create-repo", method: "POST", re: regexp.MustCompile(`^/api/repos/create$`), writes: true, serve: (*Server).createRepo},
	{name: "validate-yaml", method: "POST", re: regexp.MustCompile(`^/api/validate-yaml$`), serve: (*Server).validateYAML},
	{name: "repo-info", method: "GET", re: regexp.MustCompile(`^/api/` + typeRE + `/` + repoRE + `(?:/revision/` + revRE + `)?$`), serve: (*Server).repoInfo},
	{name: "preupload", method: "POST", re: regexp.MustCompile(`^/api/` + typeRE + `/` + repoRE + `/preupload/` + revRE + `$`), serve: (*Server).preupload},
	{name: "lfs-batch", method: "POST", re: regexp.MustCompile(`^/(datasets/)?` + repoRE + `\.git/info/lfs/objects/batch$`), serve: (*Server).lfsBatch},
	{name: "lfs-upload", method: "PUT", re: regexp.MustCompile(`^/lfs-upload/([0-9a-f]+)$`), writes: true, serve: (*Server).lfsUpload},
	{name: "commit", method: "POST", re: regexp.MustCompile(`^/api/` + typeRE + `/` + repoRE + `/commit/` + revRE + `$`), writes: true, serve: (*Server).commit},
	{name: "tree", method: "GET", re: regexp.MustCompile(`^/api/` + typeRE + `/` + repoRE + `/tree/` + revRE + `(?:/(.*))?$`), serve: (*Server).tree},
	{name: "resolve", method: "GET|HEAD", re: regexp.MustCompile(`^/(datasets/)?` + repoRE + `/resolve/` + revRE + `/(.+)$`), serve: (*Server).resolve},
	{name: "refs", method: "GET", re: regexp.MustCompile(`^/api/` + typeRE + `/` + repoRE + `/refs$`), serve: (*Server).refs},
	{name: "tag", method: "POST", re: regexp.MustCompile(`^/api/` + typeRE + `/` + repoRE + `/tag/` + revRE + `$`), writes: true, serve: (*Server).tag},
	{name: "branch", method: "POST", re: regexp.MustCompile(`^/api/` + typeRE + `/` + repoRE + `/branch/` + revRE + `$`), writes: true, serve: (*Server).branch},
	{name: "xet-token", method: "GET|POST", re: regexp.MustCompile(`^/api/` + typeRE + `/` + repoRE + `/xet-(read|write)-token(?:/.*)?$`), serve: (*Server).xetToken},
}

func match(method, path string) (*route, []string) {
	for i := range routes {
		rt := &routes[i]
		if !methodAllowed(rt.method, method) {
			continue
		}
		if m := rt.re.FindStringSubmatch(path); m != nil {
			return rt, m
		}
	}
	return nil, nil
}

func methodAllowed(list, method string) bool {
	for _, m := range strings.Split(list, "|") {
		if m == method {
			return true
		}
	}
	return false
}

// repoType turns the URL's "models"/"datasets" (or "datasets/" prefix)
// into the client's repo type.
func repoType(plural string) string {
	if strings.HasPrefix(plural, "dataset") {
		return "dataset"
	}
	if strings.HasPrefix(plural, "space") {
		return "space"
	}
	return "model"
}

func unescape(s string) string {
	u, err := url.PathUnescape(s)
	if err != nil {
		return s
	}
	return u
}

// whoamiV2 is the part of /api/whoami-v2 clients read.
type whoamiV2 struct {
	Type string `json:"type"`
	Name string `json:"name"`
	Orgs []struct {
		Name      string `json:"name"`
		RoleInOrg string `json:"roleInOrg"`
	} `json:"orgs"`
	Auth struct {
		Type        string `json:"type"`
		AccessToken struct {
			DisplayName string `json:"displayName"`
			Role        string `json:"role"`
		} `json:"accessToken"`
	} `json:"auth"`
}

func (s *Server) whoami(w http.ResponseWriter, c *call) {
	p, ok := s.principal(c.r)
	if !ok || p == nil {
		writeError(w, http.StatusUnauthorized, "", "Invalid credentials in Authorization header")
		return
	}
	var out whoamiV2
	out.Type, out.Name = "user", p.user
	out.Orgs = make([]struct {
		Name      string `json:"name"`
		RoleInOrg string `json:"roleInOrg"`
	}, len(s.opts.Orgs))
	for i, o := range s.opts.Orgs {
		out.Orgs[i].Name, out.Orgs[i].RoleInOrg = o, "write"
	}
	out.Auth.Type = "access_token"
	out.Auth.AccessToken.DisplayName = "stand-in"
	out.Auth.AccessToken.Role = "read"
	if p.write {
		out.Auth.AccessToken.Role = "write"
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createRepo(w http.ResponseWriter, c *call) {
	var req struct {
		Name         string `json:"name"`
		Organization string `json:"organization"`
		Type         string `json:"type"`
		Visibility   string `json:"visibility"`
		Private      *bool  `json:"private"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil || req.Name == "" {
		writeError(w, http.StatusBadRequest, "", "create repo: want a JSON body with a name")
		return
	}
	p, ok := s.principal(c.r)
	if !ok || p == nil {
		writeError(w, http.StatusUnauthorized, "", "Invalid credentials in Authorization header")
		return
	}
	ns := req.Organization
	if ns == "" {
		ns = p.user
	}
	if !s.canWrite(p, ns) {
		writeError(w, http.StatusForbidden, "", fmt.Sprintf("You don't have the rights to create a repo under the namespace %q", ns))
		return
	}
	typ := req.Type
	if typ == "" {
		typ = "model"
	}
	if typ != "model" && typ != "dataset" {
		writeError(w, http.StatusBadRequest, "", fmt.Sprintf("the stand-in serves model and dataset repos, not %q", typ))
		return
	}
	private := req.Visibility == "private" || (req.Private != nil && *req.Private)
	id := ns + "/" + req.Name
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.repos[repoKey(typ, id)]; exists {
		// The Hub names the existing repo, which create_repo(exist_ok=True)
		// returns.
		w.Header().Set("X-Error-Message", "You already created this "+typ+" repo")
		writeJSON(w, http.StatusConflict, map[string]string{"error": "You already created this " + typ + " repo", "url": s.URL + "/" + urlPrefix(typ) + id})
		return
	}
	s.repos[repoKey(typ, id)] = s.newRepo(typ, id, private)
	writeJSON(w, http.StatusOK, map[string]string{"url": s.URL + "/" + urlPrefix(typ) + id, "name": id})
}

func (s *Server) repoInfo(w http.ResponseWriter, c *call) {
	typ, id, rev := repoType(c.m[1]), c.m[2]+"/"+c.m[3], "main"
	if c.m[4] != "" {
		rev = unescape(c.m[4])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, cm, ok := s.readable(w, c.r, typ, id, rev)
	if !ok {
		return
	}
	siblings := []map[string]any{}
	for _, p := range cm.paths() {
		f := cm.files[p]
		sib := map[string]any{"rfilename": p}
		if c.r.URL.Query().Get("blobs") != "" {
			sib["size"], sib["blobId"] = f.size, f.blobID()
			if f.lfs {
				sib["lfs"] = map[string]any{"sha256": f.oid, "size": f.size, "pointerSize": len(f.pointer())}
			}
		}
		siblings = append(siblings, sib)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": id, "_id": id, "sha": cm.id, "private": rp.private, "gated": false, "disabled": false,
		"lastModified": cm.at, "createdAt": rp.created, "tags": []string{}, "siblings": siblings,
	})
}

func (s *Server) refs(w http.ResponseWriter, c *call) {
	typ, id := repoType(c.m[1]), c.m[2]+"/"+c.m[3]
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, _, ok := s.readable(w, c.r, typ, id, "")
	if !ok {
		return
	}
	list := func(m map[string]string, kind string) []map[string]string {
		out := []map[string]string{}
		names := make([]string, 0, len(m))
		for n := range m {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			out = append(out, map[string]string{"name": n, "ref": "refs/" + kind + "/" + n, "targetCommit": m[n]})
		}
		return out
	}
	writeJSON(w, http.StatusOK, map[string]any{"branches": list(rp.branches, "heads"), "tags": list(rp.tags, "tags"), "converts": []any{}})
}

func (s *Server) tag(w http.ResponseWriter, c *call) {
	typ, id, rev := repoType(c.m[1]), c.m[2]+"/"+c.m[3], unescape(c.m[4])
	var req struct {
		Tag     string `json:"tag"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil || req.Tag == "" {
		writeError(w, http.StatusBadRequest, "", "tag: want a JSON body with a tag")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, cm, ok := s.writable(w, c.r, typ, id, rev)
	if !ok {
		return
	}
	if _, exists := rp.tags[req.Tag]; exists {
		writeError(w, http.StatusConflict, "", "Tag "+req.Tag+" already exists")
		return
	}
	rp.tags[req.Tag] = cm.id
	writeJSON(w, http.StatusOK, map[string]any{})
}

func (s *Server) branch(w http.ResponseWriter, c *call) {
	typ, id, name := repoType(c.m[1]), c.m[2]+"/"+c.m[3], unescape(c.m[4])
	var req struct {
		StartingPoint string `json:"startingPoint"`
	}
	_ = json.Unmarshal(c.body, &req)
	if req.StartingPoint == "" {
		req.StartingPoint = "main"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, cm, ok := s.writable(w, c.r, typ, id, req.StartingPoint)
	if !ok {
		return
	}
	if _, exists := rp.branches[name]; exists {
		writeError(w, http.StatusConflict, "", "Branch "+name+" already exists")
		return
	}
	rp.branches[name] = cm.id
	writeJSON(w, http.StatusOK, map[string]any{})
}

// xetToken refuses Xet: the stand-in stores files through LFS only. A
// client that asks for a Xet token was not started with HF_HUB_DISABLE_XET=1
// (huggingface_hub 2.x uploads through Xet whenever hf_xet is installed,
// without asking the server), so the test fails with that fix in the message.
func (s *Server) xetToken(w http.ResponseWriter, c *call) {
	msg := "hub stand-in: the client asked for a Xet token (" + c.r.URL.Path + "); the stand-in speaks LFS only: run the client with HF_HUB_DISABLE_XET=1 (Server.Env)"
	s.t.Errorf("%s", msg)
	writeError(w, http.StatusNotImplemented, "", msg)
}
