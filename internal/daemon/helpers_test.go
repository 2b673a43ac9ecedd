package daemon_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/atomicfile"
	"github.com/vulntune/vulntune/internal/daemon"
	"github.com/vulntune/vulntune/internal/ghactions"
	"github.com/vulntune/vulntune/internal/ghactions/ghtest"
)

const testToken = "ghs_daemonTestToken0123456789"

// fakePipeline stands in for the dataset, fine-tune and publish phases; it
// records every call. Its dataset has one example per finding, written
// the way dataset.Write writes one: staged, then renamed into place.
type fakePipeline struct {
	mu        sync.Mutex
	datasets  []int // examples of each build
	finetunes []string
	published []string
	// blockFineTune makes FineTune wait for its context.
	blockFineTune chan struct{}
	reject        bool
	noPublish     bool
}

func (f *fakePipeline) BuildDataset(_ context.Context, findingsPath, outDir string) (daemon.DatasetInfo, error) {
	b, err := os.ReadFile(findingsPath)
	if err != nil {
		return daemon.DatasetInfo{}, err
	}
	n := bytes.Count(b, []byte("\n"))
	staging, err := os.MkdirTemp(filepath.Dir(outDir), "."+filepath.Base(outDir)+".staging-*")
	if err != nil {
		return daemon.DatasetInfo{}, err
	}
	if err := atomicfile.WriteFile(filepath.Join(staging, "train.jsonl"), b, 0o644); err != nil {
		return daemon.DatasetInfo{}, err
	}
	if err := atomicfile.ReplaceDir(staging, outDir); err != nil {
		return daemon.DatasetInfo{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.datasets = append(f.datasets, n)
	return daemon.DatasetInfo{Findings: n, Examples: n}, nil
}

func (f *fakePipeline) FineTune(ctx context.Context, datasetDir, name string) (daemon.ModelInfo, error) {
	f.mu.Lock()
	f.finetunes = append(f.finetunes, name)
	block, reject := f.blockFineTune, f.reject
	f.mu.Unlock()
	if block != nil {
		close(block)
		<-ctx.Done()
		return daemon.ModelInfo{}, ctx.Err()
	}
	info := daemon.ModelInfo{Name: name, Dir: filepath.Join(filepath.Dir(datasetDir), "models", name)}
	if reject {
		return info, fmt.Errorf("%w: tuned loss not lower", daemon.ErrRejected)
	}
	return info, nil
}

func (f *fakePipeline) Publish(_ context.Context, datasetDir string, model *daemon.ModelInfo) (daemon.Publication, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.noPublish {
		return daemon.Publication{}, fmt.Errorf("publishing %w", daemon.ErrUnavailable)
	}
	name := ""
	if model != nil {
		name = model.Name
	}
	f.published = append(f.published, name)
	return daemon.Publication{DatasetURL: "https://hub.example/datasets/acme/ds", ModelURL: "https://hub.example/acme/" + name}, nil
}

func (f *fakePipeline) counts() (int, int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.datasets), len(f.finetunes), len(f.published)
}

// logRecords collects the daemon's log records.
type logRecords struct {
	mu   sync.Mutex
	recs []map[string]any
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	m := map[string]any{"msg": r.Message}
	r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.Any(); return true })
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, m)
	return nil
}
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecords) WithGroup(string) slog.Handler      { return l }

func (l *logRecords) with(msg string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, r := range l.recs {
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// env is one daemon under test against a stand-in.
type env struct {
	t     *testing.T
	gh    *ghtest.Server
	pipe  *fakePipeline
	logs  *logRecords
	opts  daemon.Options
	clock *ghtest.Clock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clock := ghtest.NewClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	s := ghtest.New(t, ghtest.Options{Token: testToken, Clock: clock})
	e := &env{t: t, gh: s, pipe: &fakePipeline{}, logs: &logRecords{}, clock: clock}
	e.opts = daemon.Options{StateDir: t.TempDir(), Repos: []string{"acme/app"}, Workflows: []string{"security.yml"},
		Branches: []string{"main"}, FinetuneAfter: 1, Clock: clock, Pipeline: e.pipe, Log: slog.New(e.logs),
		MaxArtifactBytes: 1 << 20, Once: true}
	return e
}

func (e *env) client() *ghactions.Client {
	c, err := ghactions.New(ghactions.Options{APIURL: e.gh.URL(), Token: testToken, Clock: e.clock,
		HTTPClient: &http.Client{Timeout: 20 * time.Second}})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// open opens a daemon; the test closes it (or abandons it, for restarts).
func (e *env) open() *daemon.Daemon {
	e.t.Helper()
	o := e.opts
	o.GitHub = e.client()
	d, err := daemon.Open(o)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// poll opens the daemon, polls once and closes it.
func (e *env) poll() *daemon.Summary {
	e.t.Helper()
	d := e.open()
	defer d.Close()
	sum, err := d.Poll(context.Background())
	if err != nil {
		e.t.Fatalf("poll: %v", err)
	}
	return sum
}

// addRun adds a run 10 minutes after the clock, with one artifact per
// zip given.
func (e *env) addRun(spec ghtest.RunSpec, zips ...[]byte) int64 {
	if spec.Repo == "" {
		spec.Repo = "acme/app"
	}
	if spec.Created.IsZero() {
		e.clock.Advance(10 * time.Minute)
		spec.Created = e.clock.Now()
	}
	id := e.gh.AddRun(spec)
	for i, z := range zips {
		e.gh.AddArtifact(id, ghtest.ArtifactSpec{Name: fmt.Sprintf("scan-%d", i), Zip: z})
	}
	return id
}

func (e *env) status() *daemon.Status {
	e.t.Helper()
	st, err := daemon.ReadStatus(e.opts.StateDir)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// runStates maps run id to state.
func (e *env) runStates() map[int64]string {
	e.t.Helper()
	out := map[int64]string{}
	e.query(`SELECT id, state FROM runs`, func(rows *sql.Rows) error {
		var id int64
		var st string
		if err := rows.Scan(&id, &st); err != nil {
			return err
		}
		out[id] = st
		return nil
	})
	return out
}

func (e *env) query(q string, each func(*sql.Rows) error) {
	e.t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(e.opts.StateDir, daemon.StateFile)+"?mode=ro")
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(q)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			e.t.Fatal(err)
		}
	}
}

// sarif is a Semgrep-like SARIF report with one result per line given,
// all of rule rule in app/<rule>.py: distinct (rule, line) pairs are
// distinct findings.
func sarif(rule string, lines ...int) []byte {
	var results []any
	for _, l := range lines {
		results = append(results, map[string]any{"ruleId": rule, "level": "error", "message": map[string]any{"text": "possible SQL injection"},
			"locations": []any{map[string]any{"physicalLocation": map[string]any{"artifactLocation": map[string]any{"uri": "app/" + rule + ".py"},
				"region": map[string]any{"startLine": l}}}}})
	}
	doc := map[string]any{"version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"runs": []any{map[string]any{"tool": map[string]any{"driver": map[string]any{"name": "Semgrep OSS", "version": "1.50.0",
			"rules": []any{map[string]any{"id": rule, "shortDescription": map[string]any{"text": "SQL injection"},
				"properties": map[string]any{"tags": []any{"CWE-89: SQL Injection"}}}}}}, "results": results}}}
	b, _ := json.Marshal(doc)
	return b
}

type entry struct {
	name    string
	data    []byte
	symlink bool
	store   bool
}

func zipOf(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.store {
			h.Method = zip.Store
		}
		if e.symlink {
			h.SetMode(os.ModeSymlink | 0o777)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func report(t *testing.T, rule string, lines ...int) []byte {
	return zipOf(t, entry{name: "semgrep/results.sarif", data: sarif(rule, lines...)})
}

// readLines counts the JSON lines of a file.
func readLines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var v map[string]any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s line %d: %v", path, n+1, err)
		}
		n++
	}
	return n
}

func mustClient(t *testing.T, url, token string, clock *ghtest.Clock) *ghactions.Client {
	t.Helper()
	c, err := ghactions.New(ghactions.Options{APIURL: url, Token: token, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
