package engine_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/filehash"
	"github.com/vulntune/vulntune/internal/hub/hubtest"
)

// hubEngine is an engine whose children reach the stand-in s (HF_ENDPOINT
// and no Xet, through the environment the launcher passes on) and keep
// the client's caches and token file in a temp dir.
func hubEngine(t *testing.T, s *hubtest.Server) *engine.Engine {
	e := newEngine(t)
	for _, kv := range append(s.Env(), "HF_HOME="+t.TempDir()) {
		k, v, _ := cutEnv(kv)
		t.Setenv(k, v)
	}
	return e
}

func cutEnv(kv string) (string, string, bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}

// publishFiles lists every file under dir as a publish file set.
func publishFiles(t *testing.T, dir string) []engine.PublishFile {
	t.Helper()
	var out []engine.PublishFile
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		sum, size, err := filehash.File(p)
		rel, _ := filepath.Rel(dir, p)
		out = append(out, engine.PublishFile{Path: filepath.ToSlash(rel), Local: p, Size: size, SHA256: sum})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPublish drives the publish op against the stand-in: a first publish
// commits and tags; the same content again makes no commit and sends
// nothing; a changed and a removed file make one commit that updates one
// and deletes the other; 429 and 503 answers are retried; the token never
// leaves the Authorization header.
func TestPublish(t *testing.T) {
	s := hubtest.New(t, hubtest.Options{})
	e := hubEngine(t, s)
	ctx := context.Background()
	dir := t.TempDir()
	weights := randomBytes(t, 3<<20)
	write(t, filepath.Join(dir, "model.safetensors"), weights)
	write(t, filepath.Join(dir, "config.json"), []byte(`{"model_type": "llama"}`))
	write(t, filepath.Join(dir, "training", "metrics.jsonl"), []byte(`{"step": 1}`+"\n"))
	write(t, filepath.Join(dir, "README.md"), []byte("---\nlicense: apache-2.0\n---\n# card\n"))
	repo := hubtest.DefaultUser + "/tiny"
	auth := engine.HubAuth{Token: hubtest.DefaultWriteToken}
	req := engine.PublishRequest{Repo: repo, RepoType: "model", Private: true, Files: publishFiles(t, dir),
		Message: "publish tiny", Tag: "v1", BackoffSeconds: 0.05, Auth: auth}

	var events []engine.Event
	first, err := e.Publish(ctx, req, func(ev engine.Event) { events = append(events, ev) })
	if err != nil {
		t.Fatal(err)
	}
	if !first.Committed || !first.TagNew || !first.Private || first.BytesUploaded != int64(len(weights)) {
		t.Errorf("first publish: %+v", first)
	}
	if tags := s.Tags("model", repo); tags["v1"] != first.Commit {
		t.Errorf("tags %v, want v1 at %s", tags, first.Commit)
	}
	var last struct {
		Bytes, Total int64
		Rate         float64
	}
	for _, ev := range events {
		if ev.Event == "progress" {
			_ = json.Unmarshal(ev.Raw, &last)
		}
	}
	if last.Bytes != int64(len(weights)) || last.Rate <= 0 {
		t.Errorf("last progress event %+v, want %d bytes at a rate", last, len(weights))
	}

	s.ResetLog()
	again, err := e.Publish(ctx, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Committed || again.Commit != first.Commit || again.TagNew || again.BytesUploaded != 0 {
		t.Errorf("unchanged publish: %+v", again)
	}
	if w := s.Writes(); len(w) != 1 || w[0].Route != "create-repo" || w[0].Status != 409 {
		t.Errorf("unchanged publish wrote: %+v", w)
	}

	write(t, filepath.Join(dir, "config.json"), []byte(`{"model_type": "llama", "v": 2}`))
	if err := os.Remove(filepath.Join(dir, "training", "metrics.jsonl")); err != nil {
		t.Fatal(err)
	}
	s.Inject(hubtest.Fault{Route: "commit", Status: 503})
	s.Inject(hubtest.Fault{Route: "preupload", Status: 429, RetryAfter: "0"})
	req.Files, req.Tag = publishFiles(t, dir), "v2"
	second, err := e.Publish(ctx, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(second.Changed)
	if !second.Committed || second.Parent != first.Commit || len(second.Changed) != 1 || second.Changed[0] != "config.json" ||
		len(second.Deleted) != 1 || second.Deleted[0] != "training/metrics.jsonl" || second.BytesUploaded != 0 {
		t.Errorf("second publish: %+v", second)
	}
	h := s.History("model", repo, "main")
	if len(h) != 3 || string(h[0].Files["config.json"]) != `{"model_type": "llama", "v": 2}` || h[0].Files["training/metrics.jsonl"] != nil {
		t.Errorf("history after the second publish: %d commits, files %v", len(h), keys(h[0].Files))
	}
	for _, r := range s.Leaks() {
		t.Errorf("token outside Authorization: %s %s (%s)", r.Method, r.Path, r.TokenElsewhere)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestPublishResumes kills a publish while its second LFS object is being
// uploaded; the rerun sends only that object, then commits once.
func TestPublishResumes(t *testing.T) {
	s := hubtest.New(t, hubtest.Options{})
	e := hubEngine(t, s)
	dir := t.TempDir()
	small, big := randomBytes(t, 1<<20), randomBytes(t, 4<<20)
	write(t, filepath.Join(dir, "adapters", "adapters.safetensors"), small)
	write(t, filepath.Join(dir, "model.safetensors"), big)
	files := publishFiles(t, dir)
	bigOID := ""
	for _, f := range files {
		if f.Path == "model.safetensors" {
			bigOID = f.SHA256
		}
	}
	hold := s.HoldUpload(bigOID)
	repo := hubtest.DefaultUser + "/resume"
	req := engine.PublishRequest{Repo: repo, RepoType: "model", Files: files, Message: "publish", BackoffSeconds: 0.05,
		Auth: engine.HubAuth{Token: hubtest.DefaultWriteToken}}

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-hold.Reached():
			// Wait for the small object to be stored too, then kill.
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && len(s.LFSObjects("model", repo)) == 0; {
				time.Sleep(20 * time.Millisecond)
			}
		case <-time.After(2 * time.Minute):
		}
		cancel()
	}()
	_, err := e.Publish(ctx, req, nil)
	var ee *engine.EngineError
	if !errors.As(err, &ee) || ctx.Err() == nil {
		t.Fatalf("killed publish: %v", err)
	}
	select {
	case <-hold.Abandoned():
	case <-time.After(time.Minute):
		t.Fatal("the held upload never saw its client go away")
	}
	if h := s.History("model", repo, "main"); len(h) != 1 {
		t.Fatalf("the killed publish committed (%d commits)", len(h))
	}
	if objs := s.LFSObjects("model", repo); len(objs) != 1 {
		t.Fatalf("LFS objects stored before the kill: %v, want the small one", objs)
	}
	hold.Release()

	s.ResetLog()
	got, err := e.Publish(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Committed || got.BytesUploaded != int64(len(big)) {
		t.Errorf("resumed publish: %+v, want a commit sending %d bytes", got, len(big))
	}
	var puts []int64
	for _, r := range s.Requests() {
		if r.Route == "lfs-upload" {
			puts = append(puts, r.BodySize)
		}
	}
	if len(puts) != 1 || puts[0] != int64(len(big)) {
		t.Errorf("the rerun uploaded %v bytes, want only the %d of the object the kill interrupted", puts, len(big))
	}
}

// TestHubWhoami reads the token's role, and names a bad token's HTTP 401.
func TestHubWhoami(t *testing.T) {
	s := hubtest.New(t, hubtest.Options{Orgs: []string{"acme"}})
	e := hubEngine(t, s)
	acct, err := e.HubWhoami(context.Background(), engine.HubAuth{Token: hubtest.DefaultReadToken})
	if err != nil {
		t.Fatal(err)
	}
	if acct.Name != hubtest.DefaultUser || acct.TokenRole != "read" || len(acct.Orgs) != 1 || acct.Orgs[0].Name != "acme" || acct.Endpoint != s.URL {
		t.Errorf("whoami: %+v", acct)
	}
	_, err = e.HubWhoami(context.Background(), engine.HubAuth{Token: "not-a-token"})
	var ee *engine.EngineError
	if !errors.As(err, &ee) || ee.Kind != "HubUnauthorized" {
		t.Errorf("bad token: %v", err)
	}
}
