package hubtest

// Commit is a commit as a test sees it.
type Commit struct {
	ID, Parent, Summary string
	Files               map[string][]byte
}

// Repo reports whether a repo exists and whether it is private.
func (s *Server) Repo(repoType, id string) (exists, private bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[repoKey(repoType, id)]
	if rp == nil {
		return false, false
	}
	return true, rp.private
}

// History returns the commits of a branch, newest first (nil when the repo
// or branch does not exist).
func (s *Server) History(repoType, id, branch string) []Commit {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[repoKey(repoType, id)]
	if rp == nil {
		return nil
	}
	var out []Commit
	for cid := rp.branches[branch]; cid != ""; {
		c := rp.commits[cid]
		out = append(out, Commit{ID: c.id, Parent: c.parent, Summary: c.summary, Files: s.contents(rp, c)})
		cid = c.parent
	}
	return out
}

// Tags returns a repo's tags and the commits they point at.
func (s *Server) Tags(repoType, id string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	if rp := s.repos[repoKey(repoType, id)]; rp != nil {
		for k, v := range rp.tags {
			out[k] = v
		}
	}
	return out
}

// LFSObjects returns the SHA-256s of the LFS objects a repo holds.
func (s *Server) LFSObjects(repoType, id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	if rp := s.repos[repoKey(repoType, id)]; rp != nil {
		for oid := range rp.lfs {
			out = append(out, oid)
		}
	}
	return out
}

// contents returns every file of c with its bytes. Called with s.mu held.
func (s *Server) contents(rp *repo, c *commit) map[string][]byte {
	out := make(map[string][]byte, len(c.files))
	for p, f := range c.files {
		if f.lfs {
			out[p] = rp.lfs[f.oid]
		} else {
			out[p] = f.data
		}
	}
	return out
}
