package hubtest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"time"
	"unicode/utf8"
)

// lfsThreshold is the size from which the Hub stores a file through LFS
// even when .gitattributes does not say so.
const lfsThreshold = 10 << 20

// pendingUpload is an upload URL handed out by the LFS batch route: a
// capability for one object of one repo, like the Hub's presigned URLs
// (the client sends no Authorization with the PUT).
type pendingUpload struct {
	repo string // repoKey
	oid  string
	size int64
}

// preupload tells the client, per file, whether it goes through LFS or in
// the commit body, and the oid of the file already at that path (sha256
// for LFS files, the git blob id for regular ones), from which the client
// drops unchanged files from its commit.
func (s *Server) preupload(w http.ResponseWriter, c *call) {
	typ, id, rev := repoType(c.m[1]), c.m[2]+"/"+c.m[3], unescape(c.m[4])
	var req struct {
		Files []struct {
			Path   string `json:"path"`
			Sample string `json:"sample"`
			Size   int64  `json:"size"`
		} `json:"files"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "", "preupload: "+err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, cm, ok := s.writable(w, c.r, typ, id, rev)
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, f := range req.Files {
		sample, err := base64.StdEncoding.DecodeString(f.Sample)
		if err != nil {
			writeError(w, http.StatusBadRequest, "", "preupload: sample of "+f.Path+" is not base64")
			return
		}
		mode := "regular"
		if f.Size >= lfsThreshold || lfsPattern(f.Path) || !utf8.Valid(sample) || bytes.IndexByte(sample, 0) >= 0 {
			mode = "lfs"
		}
		e := map[string]any{"path": f.Path, "uploadMode": mode, "shouldIgnore": false}
		if old, ok := cm.files[f.Path]; ok {
			if old.lfs {
				e["oid"] = old.oid
			} else {
				e["oid"] = gitBlobID(old.data)
			}
		}
		out = append(out, e)
	}
	writeJSON(w, http.StatusOK, map[string]any{"files": out, "commitOid": cm.id})
}

// lfsPattern says whether the stand-in's .gitattributes sends path to LFS.
func lfsPattern(p string) bool {
	switch path.Ext(p) {
	case ".safetensors", ".bin", ".gguf", ".png":
		return true
	}
	return false
}

// lfsBatch answers the git-lfs batch API (basic transfer): an upload
// action for each object the repo lacks, none for objects it has.
func (s *Server) lfsBatch(w http.ResponseWriter, c *call) {
	typ, id := repoType(c.m[1]), c.m[2]+"/"+c.m[3]
	var req struct {
		Operation string   `json:"operation"`
		Transfers []string `json:"transfers"`
		Objects   []struct {
			OID  string `json:"oid"`
			Size int64  `json:"size"`
		} `json:"objects"`
		HashAlgo string `json:"hash_algo"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil || req.Operation != "upload" {
		writeError(w, http.StatusBadRequest, "", "lfs batch: want an upload operation")
		return
	}
	basic := false
	for _, t := range req.Transfers {
		basic = basic || t == "basic"
	}
	if !basic {
		writeError(w, http.StatusBadRequest, "", fmt.Sprintf("lfs batch: the stand-in offers the basic transfer only, client asked for %v", req.Transfers))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, _, ok := s.writable(w, c.r, typ, id, "")
	if !ok {
		return
	}
	objs := []map[string]any{}
	for _, o := range req.Objects {
		e := map[string]any{"oid": o.OID, "size": o.Size, "authenticated": true}
		if _, have := rp.lfs[o.OID]; !have {
			key := randomKey()
			s.uploads[key] = pendingUpload{repo: repoKey(typ, id), oid: o.OID, size: o.Size}
			e["actions"] = map[string]any{"upload": map[string]any{
				"href": s.URL + "/lfs-upload/" + key, "header": map[string]string{}, "expires_in": 3600}}
		}
		objs = append(objs, e)
	}
	w.Header().Set("Content-Type", "application/vnd.git-lfs+json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(map[string]any{"transfer": "basic", "objects": objs, "hash_algo": "sha256"})
}

func randomKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// lfsUpload stores one object sent by PUT to an upload URL, after checking
// its size and SHA-256. A held object (HoldUpload) waits for Release or
// for the client to go away, in which case nothing is stored.
func (s *Server) lfsUpload(w http.ResponseWriter, c *call) {
	s.mu.Lock()
	up, ok := s.uploads[c.m[1]]
	h := s.holds[up.oid]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusForbidden, "", "unknown or used upload URL")
		return
	}
	if h != nil {
		h.seen.Do(func() { close(h.reached) })
		select {
		case <-h.released:
		case <-c.r.Context().Done():
			c.after = func() { h.gone.Do(func() { close(h.abandoned) }) }
			return
		case <-time.After(2 * time.Minute):
			writeError(w, http.StatusGatewayTimeout, "", "held upload never released")
			return
		}
	}
	sum := sha256.Sum256(c.body)
	if int64(len(c.body)) != up.size || hex.EncodeToString(sum[:]) != up.oid {
		writeError(w, http.StatusBadRequest, "", fmt.Sprintf("upload of %s: got %d bytes with sha256 %x", up.oid, len(c.body), sum))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rp := s.repos[up.repo]; rp != nil {
		rp.lfs[up.oid] = c.body
	}
	delete(s.uploads, c.m[1])
	w.WriteHeader(http.StatusOK)
}

// resolve serves a file of a revision (HEAD for metadata, GET for content,
// ranges included) with the headers hf_hub_download reads: X-Repo-Commit,
// ETag (the git blob id, or for LFS files the sha256, also in
// X-Linked-Etag) and X-Linked-Size for LFS files.
func (s *Server) resolve(w http.ResponseWriter, c *call) {
	typ, id, rev, p := repoType(c.m[1]), c.m[2]+"/"+c.m[3], unescape(c.m[4]), unescape(c.m[5])
	s.mu.Lock()
	rp, cm, ok := s.readable(w, c.r, typ, id, rev)
	if !ok {
		s.mu.Unlock()
		return
	}
	f, have := cm.files[p]
	data := f.data
	if f.lfs {
		data = rp.lfs[f.oid]
	}
	s.mu.Unlock()
	if !have {
		writeError(w, http.StatusNotFound, "EntryNotFound", "Entry not found: "+p)
		return
	}
	h := w.Header()
	h.Set("X-Repo-Commit", cm.id)
	h.Set("Accept-Ranges", "bytes")
	if f.lfs {
		h.Set("ETag", `"`+f.oid+`"`)
		h.Set("X-Linked-Etag", `"`+f.oid+`"`)
		h.Set("X-Linked-Size", strconv.FormatInt(f.size, 10))
	} else {
		h.Set("ETag", `"`+gitBlobID(data)+`"`)
	}
	h.Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, c.r, "", time.Time{}, bytes.NewReader(data))
}
