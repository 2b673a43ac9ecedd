package hubtest

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strings"
)

// repo is one model or dataset repository: branches and tags pointing at
// commits, and the LFS objects uploaded to it.
type repo struct {
	typ, id  string
	private  bool
	created  string
	branches map[string]string // name -> commit id
	tags     map[string]string
	commits  map[string]*commit
	lfs      map[string][]byte // sha256 hex -> content
}

// commit is a full snapshot of the repo's files.
type commit struct {
	id, parent, summary, at string
	files                   map[string]file
}

// file is one file of a commit. LFS files keep only their oid; their
// content is in the repo's LFS store.
type file struct {
	data []byte // regular files
	lfs  bool
	oid  string // sha256 of an LFS file
	size int64
}

// gitattributes is what the Hub commits into every new repo.
const gitattributes = "*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.bin filter=lfs diff=lfs merge=lfs -text\n*.gguf filter=lfs diff=lfs merge=lfs -text\n*.png filter=lfs diff=lfs merge=lfs -text\n"

func repoKey(typ, id string) string { return typ + ":" + id }

func urlPrefix(typ string) string {
	if typ == "dataset" {
		return "datasets/"
	}
	return ""
}

// newRepo creates a repo with the Hub's initial commit. Called with s.mu held.
func (s *Server) newRepo(typ, id string, private bool) *repo {
	rp := &repo{typ: typ, id: id, private: private, created: now(), branches: map[string]string{},
		tags: map[string]string{}, commits: map[string]*commit{}, lfs: map[string][]byte{}}
	init := &commit{summary: "initial commit", at: now(), files: map[string]file{
		".gitattributes": {data: []byte(gitattributes), size: int64(len(gitattributes))},
	}}
	s.addCommit(rp, "main", init)
	return rp
}

// addCommit gives c an id and moves branch to it. Called with s.mu held.
func (s *Server) addCommit(rp *repo, branch string, c *commit) {
	s.nextID++
	h := sha1.New()
	fmt.Fprintf(h, "%s\x00%d\x00%s\x00%s\x00", rp.id, s.nextID, c.parent, c.summary)
	for _, p := range c.paths() {
		f := c.files[p]
		fmt.Fprintf(h, "%s\x00%s\x00", p, f.blobID())
	}
	c.id = hex.EncodeToString(h.Sum(nil))
	rp.commits[c.id] = c
	rp.branches[branch] = c.id
}

func (c *commit) paths() []string {
	out := make([]string, 0, len(c.files))
	for p := range c.files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// pointer is the git-lfs pointer file git stores for an LFS file.
func (f file) pointer() []byte {
	return []byte(fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", f.oid, f.size))
}

// blobID is the git blob id: of the content, or of the pointer for LFS.
func (f file) blobID() string {
	b := f.data
	if f.lfs {
		b = f.pointer()
	}
	return gitBlobID(b)
}

func gitBlobID(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// resolveRev finds the commit a branch, tag or commit id names.
func (rp *repo) resolveRev(rev string) *commit {
	if id, ok := rp.branches[rev]; ok {
		return rp.commits[id]
	}
	if id, ok := rp.tags[rev]; ok {
		return rp.commits[id]
	}
	return rp.commits[rev]
}

// readable finds repo and revision for a read: 401 for a bad token, 404
// (RepoNotFound) for a missing or private repo the caller cannot see, 404
// (RevisionNotFound) for an unknown revision. rev "" skips the revision.
// Called with s.mu held.
func (s *Server) readable(w http.ResponseWriter, r *http.Request, typ, id, rev string) (*repo, *commit, bool) {
	p, ok := s.principal(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, "", "Invalid credentials in Authorization header")
		return nil, nil, false
	}
	rp := s.repos[repoKey(typ, id)]
	if rp == nil || rp.private && (p == nil || p.user != strings.Split(id, "/")[0] && !s.canWrite(p, strings.Split(id, "/")[0])) {
		writeError(w, http.StatusNotFound, "RepoNotFound", "Repository not found")
		return nil, nil, false
	}
	if rev == "" {
		return rp, nil, true
	}
	cm := rp.resolveRev(rev)
	if cm == nil {
		writeError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return nil, nil, false
	}
	return rp, cm, true
}

// writable is readable plus write access to the namespace: 401 without a
// token, 403 with a read-only one. Called with s.mu held.
func (s *Server) writable(w http.ResponseWriter, r *http.Request, typ, id, rev string) (*repo, *commit, bool) {
	p, ok := s.principal(r)
	if !ok || p == nil {
		writeError(w, http.StatusUnauthorized, "", "Invalid credentials in Authorization header")
		return nil, nil, false
	}
	if !s.canWrite(p, strings.Split(id, "/")[0]) {
		writeError(w, http.StatusForbidden, "", "You don't have write access to "+id)
		return nil, nil, false
	}
	return s.readable(w, r, typ, id, rev)
}

// commit applies an NDJSON commit (header, file, lfsFile, deletedFile,
// deletedFolder lines) on a branch.
func (s *Server) commit(w http.ResponseWriter, c *call) {
	typ, id, branch := repoType(c.m[1]), c.m[2]+"/"+c.m[3], unescape(c.m[4])
	if ct := c.r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-ndjson") {
		writeError(w, http.StatusBadRequest, "", "commit: want Content-Type application/x-ndjson, got "+ct)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, head, ok := s.writable(w, c.r, typ, id, branch)
	if !ok {
		return
	}
	if _, isBranch := rp.branches[branch]; !isBranch {
		writeError(w, http.StatusBadRequest, "", "commit: "+branch+" is not a branch")
		return
	}
	next := &commit{parent: head.id, at: now(), files: map[string]file{}}
	for p, f := range head.files {
		next.files[p] = f
	}
	sc := bufio.NewScanner(bytes.NewReader(c.body))
	sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
	sawHeader := false
	for line := 1; sc.Scan(); line++ {
		var op struct {
			Key   string `json:"key"`
			Value struct {
				Summary      string `json:"summary"`
				ParentCommit string `json:"parentCommit"`
				Path         string `json:"path"`
				Content      string `json:"content"`
				Encoding     string `json:"encoding"`
				Algo         string `json:"algo"`
				OID          string `json:"oid"`
				Size         int64  `json:"size"`
			} `json:"value"`
		}
		if err := json.Unmarshal(sc.Bytes(), &op); err != nil {
			writeError(w, http.StatusBadRequest, "", fmt.Sprintf("commit line %d: %v", line, err))
			return
		}
		v := op.Value
		switch op.Key {
		case "header":
			sawHeader = true
			next.summary = v.Summary
			if v.ParentCommit != "" && v.ParentCommit != head.id {
				writeError(w, http.StatusPreconditionFailed, "", "A commit has happened since. Please refresh and try again.")
				return
			}
		case "file":
			if v.Encoding != "base64" {
				writeError(w, http.StatusBadRequest, "", fmt.Sprintf("commit line %d: encoding %q", line, v.Encoding))
				return
			}
			data, err := base64.StdEncoding.DecodeString(v.Content)
			if err != nil {
				writeError(w, http.StatusBadRequest, "", fmt.Sprintf("commit line %d: %v", line, err))
				return
			}
			next.files[v.Path] = file{data: data, size: int64(len(data))}
		case "lfsFile":
			obj, have := rp.lfs[v.OID]
			if v.Algo != "sha256" || !have {
				writeError(w, http.StatusUnprocessableEntity, "", fmt.Sprintf("commit line %d: LFS object %s of %s was never uploaded", line, v.OID, v.Path))
				return
			}
			next.files[v.Path] = file{lfs: true, oid: v.OID, size: int64(len(obj))}
		case "deletedFile":
			if _, ok := next.files[v.Path]; !ok {
				writeError(w, http.StatusNotFound, "EntryNotFound", "A file with this name doesn't exist: "+v.Path)
				return
			}
			delete(next.files, v.Path)
		case "deletedFolder":
			for p := range next.files {
				if strings.HasPrefix(p, strings.TrimSuffix(v.Path, "/")+"/") {
					delete(next.files, p)
				}
			}
		default:
			writeError(w, http.StatusBadRequest, "", fmt.Sprintf("commit line %d: unknown key %q", line, op.Key))
			return
		}
	}
	if !sawHeader || next.summary == "" {
		writeError(w, http.StatusBadRequest, "", "commit: no header line with a summary")
		return
	}
	s.addCommit(rp, branch, next)
	writeJSON(w, http.StatusOK, map[string]any{
		"success": true, "commitOid": next.id, "pullRequestUrl": nil,
		"commitUrl": s.URL + "/" + urlPrefix(typ) + id + "/commit/" + next.id,
	})
}

// tree lists a revision's files (and folders), optionally under a path and
// recursively, as /api/{type}s/{repo}/tree/{rev} does.
func (s *Server) tree(w http.ResponseWriter, c *call) {
	typ, id, rev := repoType(c.m[1]), c.m[2]+"/"+c.m[3], unescape(c.m[4])
	under := strings.Trim(unescape(c.m[5]), "/")
	recursive := c.r.URL.Query().Get("recursive") == "true" || c.r.URL.Query().Get("recursive") == "True"
	s.mu.Lock()
	defer s.mu.Unlock()
	_, cm, ok := s.readable(w, c.r, typ, id, rev)
	if !ok {
		return
	}
	entries := []map[string]any{}
	dirs := map[string]bool{}
	for _, p := range cm.paths() {
		rel := p
		if under != "" {
			if !strings.HasPrefix(p, under+"/") {
				continue
			}
			rel = strings.TrimPrefix(p, under+"/")
		}
		// Folders on the way to the file, at the depth asked for.
		parts := strings.Split(rel, "/")
		for i := 1; i < len(parts); i++ {
			d := path.Join(append([]string{under}, parts[:i]...)...)
			if !dirs[d] && (recursive || i == 1) {
				dirs[d] = true
				entries = append(entries, map[string]any{"type": "directory", "path": d, "oid": gitBlobID([]byte(d)), "size": 0})
			}
		}
		if !recursive && len(parts) > 1 {
			continue
		}
		f := cm.files[p]
		e := map[string]any{"type": "file", "path": p, "oid": f.blobID(), "size": f.size}
		if f.lfs {
			e["lfs"] = map[string]any{"oid": f.oid, "size": f.size, "pointerSize": len(f.pointer())}
		}
		entries = append(entries, e)
	}
	if under != "" && len(entries) == 0 {
		writeError(w, http.StatusNotFound, "EntryNotFound", under+" does not exist on "+rev)
		return
	}
	writeJSON(w, http.StatusOK, entries)
}
