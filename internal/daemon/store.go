package daemon

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite: no cgo, one static binary

	"github.com/vulntune/vulntune/internal/finding"
)

// Run states. A run moves forward only; failed keeps the state to resume
// from.
const (
	StatePending    = "pending"    // listed, nothing read yet
	StateDownloaded = "downloaded" // artifacts listed, fetched and checked
	StateParsed     = "parsed"     // findings stored; new ones await the dataset
	StateDataset    = "dataset"    // in a built dataset
	StateTrained    = "trained"    // in a fine-tuned model's dataset
	StatePublished  = "published"  // in a published dataset (and model)
	StateSkipped    = "skipped"    // ignored, with the reason (fork, no new findings, ...)
	StateFailed     = "failed"     // last attempt failed; retried at next_attempt
)

// timeFormat is fixed-width UTC, so stored times sort as text.
const timeFormat = "2006-01-02T15:04:05.000Z"

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(timeFormat, s)
	return t
}

// schema is version 1 of the state store. Each statement is idempotent.
const schema = `
CREATE TABLE IF NOT EXISTS targets (
	repo TEXT NOT NULL, workflow TEXT NOT NULL, branch TEXT NOT NULL,
	etag TEXT NOT NULL DEFAULT '', cursor TEXT NOT NULL DEFAULT '', last_change TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (repo, workflow, branch));
CREATE TABLE IF NOT EXISTS runs (
	id INTEGER PRIMARY KEY, repo TEXT NOT NULL, workflow TEXT NOT NULL, run_number INTEGER NOT NULL,
	event TEXT NOT NULL, branch TEXT NOT NULL, head_sha TEXT NOT NULL, created_at TEXT NOT NULL, html_url TEXT NOT NULL,
	state TEXT NOT NULL, resume TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '',
	attempts INTEGER NOT NULL DEFAULT 0, next_attempt TEXT NOT NULL DEFAULT '',
	findings INTEGER NOT NULL DEFAULT 0, new_findings INTEGER NOT NULL DEFAULT 0,
	dataset_id INTEGER NOT NULL DEFAULT 0, discovered_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS runs_state ON runs (state, created_at, id);
CREATE TABLE IF NOT EXISTS artifacts (
	id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, name TEXT NOT NULL, size INTEGER NOT NULL,
	state TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', findings INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS findings (
	id TEXT PRIMARY KEY, run_id INTEGER NOT NULL, added_at TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS datasets (
	id INTEGER PRIMARY KEY AUTOINCREMENT, built_at TEXT NOT NULL, dir TEXT NOT NULL,
	findings INTEGER NOT NULL, examples INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS models (
	name TEXT PRIMARY KEY, dataset_id INTEGER NOT NULL, examples INTEGER NOT NULL, state TEXT NOT NULL,
	dir TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '', started_at TEXT NOT NULL, finished_at TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS publications (
	id INTEGER PRIMARY KEY AUTOINCREMENT, dataset_id INTEGER NOT NULL, model TEXT NOT NULL, published_at TEXT NOT NULL,
	dataset_url TEXT NOT NULL, model_url TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS steps (
	name TEXT PRIMARY KEY, attempts INTEGER NOT NULL, last_error TEXT NOT NULL, next_attempt TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS transitions (
	run_id INTEGER NOT NULL, from_state TEXT NOT NULL, to_state TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS heartbeat (
	id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, started_at TEXT NOT NULL,
	last_poll TEXT NOT NULL, next_poll TEXT NOT NULL, polls INTEGER NOT NULL);
`

// Store is the daemon's state in one SQLite file. Every method that
// changes state does so in one transaction.
type Store struct {
	db *sql.DB
}

// OpenStore opens (creating if needed) the state store at path. With WAL
// and synchronous=FULL a committed transaction survives a kill or a crash.
func OpenStore(path string) (*Store, error) {
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		db.Close()
		return nil, err
	}
	if v > 1 {
		db.Close()
		return nil, fmt.Errorf("state %s was written by a newer vulntune (schema %d)", path, v)
	}
	if _, err := db.Exec("PRAGMA user_version = 1"); err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db}, nil
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// tx runs fn in one transaction. State changes are committed even when
// the daemon's context is cancelled: a commit is atomic, never half done.
func (s *Store) tx(fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(context.Background(), nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// target is one listing's bookmark.
type target struct {
	etag, cursor string
}

func (s *Store) target(t Target) (target, error) {
	var out target
	err := s.db.QueryRow(`SELECT etag, cursor FROM targets WHERE repo=? AND workflow=? AND branch=?`, t.Repo, t.Workflow, t.Branch).Scan(&out.etag, &out.cursor)
	if errors.Is(err, sql.ErrNoRows) {
		return target{}, nil
	}
	return out, err
}

// RunRow is one run as the store holds it.
type RunRow struct {
	ID          int64     `json:"id"`
	Repo        string    `json:"repo"`
	Workflow    string    `json:"workflow"`
	RunNumber   int       `json:"run_number"`
	Event       string    `json:"event"`
	Branch      string    `json:"branch"`
	HeadSHA     string    `json:"head_sha"`
	CreatedAt   time.Time `json:"created_at"`
	HTMLURL     string    `json:"html_url"`
	State       string    `json:"state"`
	Resume      string    `json:"resume,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	Findings    int       `json:"findings"`
	NewFindings int       `json:"new_findings"`
}

const runCols = `id, repo, workflow, run_number, event, branch, head_sha, created_at, html_url, state, resume, reason, attempts, next_attempt, findings, new_findings`

func scanRuns(rows *sql.Rows) ([]RunRow, error) {
	defer rows.Close()
	var out []RunRow
	for rows.Next() {
		var r RunRow
		var created, next string
		if err := rows.Scan(&r.ID, &r.Repo, &r.Workflow, &r.RunNumber, &r.Event, &r.Branch, &r.HeadSHA, &created, &r.HTMLURL,
			&r.State, &r.Resume, &r.Reason, &r.Attempts, &next, &r.Findings, &r.NewFindings); err != nil {
			return nil, err
		}
		r.CreatedAt, r.NextAttempt = parseTime(created), parseTime(next)
		out = append(out, r)
	}
	return out, rows.Err()
}

// recordListing stores the runs a listing found that the store does not
// know yet (as pending, or skipped with their reason) and the target's new
// ETag and cursor, in one transaction. It returns how many runs were new.
func (s *Store) recordListing(t Target, tg target, runs []RunRow, now time.Time) (int, error) {
	added := 0
	err := s.tx(func(tx *sql.Tx) error {
		for _, r := range runs {
			res, err := tx.Exec(`INSERT OR IGNORE INTO runs (`+runCols+`, discovered_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,0,'',0,0,?,?)`,
				r.ID, r.Repo, r.Workflow, r.RunNumber, r.Event, r.Branch, r.HeadSHA, fmtTime(r.CreatedAt), r.HTMLURL, r.State, "", r.Reason,
				fmtTime(now), fmtTime(now))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				added++
				if err := transition(tx, r.ID, "", r.State, now); err != nil {
					return err
				}
			}
		}
		_, err := tx.Exec(`INSERT INTO targets (repo, workflow, branch, etag, cursor, last_change) VALUES (?,?,?,?,?,?)
			ON CONFLICT (repo, workflow, branch) DO UPDATE SET etag=excluded.etag, cursor=excluded.cursor, last_change=excluded.last_change`,
			t.Repo, t.Workflow, t.Branch, tg.etag, tg.cursor, fmtTime(now))
		return err
	})
	return added, err
}

func transition(tx *sql.Tx, run int64, from, to string, now time.Time) error {
	_, err := tx.Exec(`INSERT INTO transitions (run_id, from_state, to_state, at) VALUES (?,?,?,?)`, run, from, to, fmtTime(now))
	return err
}

// setState moves a run from one state to another inside tx; it fails when
// the run is not in from (another step got there first: a bug).
func setState(tx *sql.Tx, run int64, from, to, reason string, now time.Time) error {
	res, err := tx.Exec(`UPDATE runs SET state=?, resume='', reason=?, next_attempt='', updated_at=? WHERE id=? AND state=?`,
		to, reason, fmtTime(now), run, from)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("run %d is not %s", run, from)
	}
	return transition(tx, run, from, to, now)
}

// due lists the runs to work on now, oldest first: pending and
// downloaded ones, and failed ones whose next attempt has come.
func (s *Store) due(now time.Time) ([]RunRow, error) {
	rows, err := s.db.Query(`SELECT `+runCols+` FROM runs
		WHERE state IN (?, ?) OR (state = ? AND next_attempt != '' AND next_attempt <= ?)
		ORDER BY created_at, id`, StatePending, StateDownloaded, StateFailed, fmtTime(now))
	if err != nil {
		return nil, err
	}
	return scanRuns(rows)
}

// ArtifactRow is what became of one artifact.
type ArtifactRow struct {
	ID       int64  `json:"id"`
	RunID    int64  `json:"run_id"`
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	State    string `json:"state"` // read, expired, refused, filtered, no-reports
	Reason   string `json:"reason,omitempty"`
	Findings int    `json:"findings"`
}

func putArtifacts(tx *sql.Tx, arts []ArtifactRow) error {
	for _, a := range arts {
		if _, err := tx.Exec(`INSERT INTO artifacts (id, run_id, name, size, state, reason, findings) VALUES (?,?,?,?,?,?,?)
			ON CONFLICT (id) DO UPDATE SET state=excluded.state, reason=excluded.reason, findings=excluded.findings`,
			a.ID, a.RunID, a.Name, a.Size, a.State, a.Reason, a.Findings); err != nil {
			return err
		}
	}
	return nil
}

// markDownloaded records a run's artifacts and moves it to downloaded.
func (s *Store) markDownloaded(r RunRow, arts []ArtifactRow, now time.Time) error {
	return s.tx(func(tx *sql.Tx) error {
		if err := putArtifacts(tx, arts); err != nil {
			return err
		}
		return setState(tx, r.ID, r.State, StateDownloaded, "", now)
	})
}

// saveParsed stores a run's findings, those whose id the store has not
// seen yet, and moves the run to parsed, or to skipped when none was new.
// It returns how many findings were new.
func (s *Store) saveParsed(r RunRow, arts []ArtifactRow, fs []finding.Finding, now time.Time) (int, error) {
	added := 0
	err := s.tx(func(tx *sql.Tx) error {
		added = 0
		for i := range fs {
			b, err := json.Marshal(&fs[i])
			if err != nil {
				return err
			}
			res, err := tx.Exec(`INSERT OR IGNORE INTO findings (id, run_id, added_at, body) VALUES (?,?,?,?)`, fs[i].ID, r.ID, fmtTime(now), string(b))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				added++
			}
		}
		if err := putArtifacts(tx, arts); err != nil {
			return err
		}
		to, reason := StateParsed, ""
		if added == 0 {
			to, reason = StateSkipped, "no new findings"
		}
		if _, err := tx.Exec(`UPDATE runs SET findings=?, new_findings=? WHERE id=?`, len(fs), added, r.ID); err != nil {
			return err
		}
		return setState(tx, r.ID, r.State, to, reason, now)
	})
	return added, err
}

// skip ends a run with a reason.
func (s *Store) skip(r RunRow, reason string, arts []ArtifactRow, now time.Time) error {
	return s.tx(func(tx *sql.Tx) error {
		if err := putArtifacts(tx, arts); err != nil {
			return err
		}
		return setState(tx, r.ID, r.State, StateSkipped, reason, now)
	})
}

// fail records a failed attempt: the run keeps the state to resume from
// and waits until next ("" gives up: the run stays failed).
func (s *Store) fail(r RunRow, cause string, next time.Time, now time.Time) error {
	resume := r.State
	if r.State == StateFailed {
		resume = r.Resume
	}
	return s.tx(func(tx *sql.Tx) error {
		if _, err := tx.Exec(`UPDATE runs SET state=?, resume=?, reason=?, attempts=attempts+1, next_attempt=?, updated_at=? WHERE id=?`,
			StateFailed, resume, cause, fmtTime(next), fmtTime(now), r.ID); err != nil {
			return err
		}
		if r.State == StateFailed {
			return nil
		}
		return transition(tx, r.ID, r.State, StateFailed, now)
	})
}

// countState counts the runs in a state.
func (s *Store) countState(state string) (int, error) {
	var n int
	err := s.db.QueryRow(`SELECT count(*) FROM runs WHERE state=?`, state).Scan(&n)
	return n, err
}

// exportFindings writes every stored finding as JSON lines, by id.
func (s *Store) exportFindings(w io.Writer) (int, error) {
	rows, err := s.db.Query(`SELECT body FROM findings ORDER BY id`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return n, err
		}
		if _, err := io.WriteString(w, body+"\n"); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// DatasetRow is one dataset the daemon built.
type DatasetRow struct {
	ID       int64     `json:"id"`
	BuiltAt  time.Time `json:"built_at"`
	Dir      string    `json:"dir"`
	Findings int       `json:"findings"`
	Examples int       `json:"examples"`
}

// saveDataset records a built dataset and moves every parsed run into it.
func (s *Store) saveDataset(dir string, findings, examples int, now time.Time) (DatasetRow, error) {
	d := DatasetRow{BuiltAt: now, Dir: dir, Findings: findings, Examples: examples}
	err := s.tx(func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO datasets (built_at, dir, findings, examples) VALUES (?,?,?,?)`, fmtTime(now), dir, findings, examples)
		if err != nil {
			return err
		}
		if d.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		return moveAll(tx, StateParsed, StateDataset, "", now, func(id int64) error {
			_, err := tx.Exec(`UPDATE runs SET dataset_id=? WHERE id=?`, d.ID, id)
			return err
		})
	})
	return d, err
}

// moveAll moves every run in from to to, calling each for its id.
func moveAll(tx *sql.Tx, from, to, extra string, now time.Time, each func(id int64) error) error {
	rows, err := tx.Query(`SELECT id FROM runs WHERE state=?`+extra+` ORDER BY id`, from)
	if err != nil {
		return err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		if err := setState(tx, id, from, to, "", now); err != nil {
			return err
		}
		if each != nil {
			if err := each(id); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) latestDataset() (*DatasetRow, error) {
	var d DatasetRow
	var built string
	err := s.db.QueryRow(`SELECT id, built_at, dir, findings, examples FROM datasets ORDER BY id DESC LIMIT 1`).Scan(&d.ID, &built, &d.Dir, &d.Findings, &d.Examples)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	d.BuiltAt = parseTime(built)
	return &d, err
}

// ModelRow is one fine-tune the daemon started.
type ModelRow struct {
	Name       string    `json:"name"`
	DatasetID  int64     `json:"dataset_id"`
	Examples   int       `json:"examples"`
	State      string    `json:"state"` // training, done, rejected, failed
	Dir        string    `json:"dir,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// Model states.
const (
	ModelTraining = "training"
	ModelDone     = "done"
	ModelRejected = "rejected" // trained but failed its quality gate
)

func (s *Store) models(where string, args ...any) ([]ModelRow, error) {
	rows, err := s.db.Query(`SELECT name, dataset_id, examples, state, dir, reason, started_at, finished_at FROM models `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ModelRow
	for rows.Next() {
		var m ModelRow
		var started, finished string
		if err := rows.Scan(&m.Name, &m.DatasetID, &m.Examples, &m.State, &m.Dir, &m.Reason, &started, &finished); err != nil {
			return nil, err
		}
		m.StartedAt, m.FinishedAt = parseTime(started), parseTime(finished)
		out = append(out, m)
	}
	return out, rows.Err()
}

func (s *Store) startModel(name string, d DatasetRow, now time.Time) error {
	_, err := s.db.Exec(`INSERT INTO models (name, dataset_id, examples, state, started_at) VALUES (?,?,?,?,?)`,
		name, d.ID, d.Examples, ModelTraining, fmtTime(now))
	return err
}

// dropModel forgets a fine-tune that never started.
func (s *Store) dropModel(name string) error {
	_, err := s.db.Exec(`DELETE FROM models WHERE name=? AND state=?`, name, ModelTraining)
	return err
}

// finishModel records a fine-tune's outcome; a model that passed moves
// the runs of its dataset (and earlier ones) to trained.
func (s *Store) finishModel(m ModelRow, state, dir, reason string, now time.Time) error {
	return s.tx(func(tx *sql.Tx) error {
		if _, err := tx.Exec(`UPDATE models SET state=?, dir=?, reason=?, finished_at=?, dataset_id=?, examples=? WHERE name=?`,
			state, dir, reason, fmtTime(now), m.DatasetID, m.Examples, m.Name); err != nil {
			return err
		}
		if state != ModelDone {
			return nil
		}
		return moveAll(tx, StateDataset, StateTrained, fmt.Sprintf(" AND dataset_id <= %d", m.DatasetID), now, nil)
	})
}

// PublicationRow is one publication.
type PublicationRow struct {
	DatasetID   int64     `json:"dataset_id"`
	Model       string    `json:"model,omitempty"`
	PublishedAt time.Time `json:"published_at"`
	DatasetURL  string    `json:"dataset_url,omitempty"`
	ModelURL    string    `json:"model_url,omitempty"`
}

func (s *Store) savePublication(p PublicationRow, from string, now time.Time) error {
	return s.tx(func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO publications (dataset_id, model, published_at, dataset_url, model_url) VALUES (?,?,?,?,?)`,
			p.DatasetID, p.Model, fmtTime(now), p.DatasetURL, p.ModelURL); err != nil {
			return err
		}
		return moveAll(tx, from, StatePublished, fmt.Sprintf(" AND dataset_id <= %d", p.DatasetID), now, nil)
	})
}

func (s *Store) lastPublication() (*PublicationRow, error) {
	var p PublicationRow
	var at string
	err := s.db.QueryRow(`SELECT dataset_id, model, published_at, dataset_url, model_url FROM publications ORDER BY id DESC LIMIT 1`).
		Scan(&p.DatasetID, &p.Model, &at, &p.DatasetURL, &p.ModelURL)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	p.PublishedAt = parseTime(at)
	return &p, err
}

// StepRow is the retry state of a daemon-wide step (dataset, finetune,
// publish).
type StepRow struct {
	Name        string    `json:"name"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"last_error"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
}

func (s *Store) step(name string) (StepRow, error) {
	st := StepRow{Name: name}
	var next string
	err := s.db.QueryRow(`SELECT attempts, last_error, next_attempt FROM steps WHERE name=?`, name).Scan(&st.Attempts, &st.LastError, &next)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	st.NextAttempt = parseTime(next)
	return st, err
}

func (s *Store) stepFailed(name, cause string, next, now time.Time) error {
	_, err := s.db.Exec(`INSERT INTO steps (name, attempts, last_error, next_attempt) VALUES (?,1,?,?)
		ON CONFLICT (name) DO UPDATE SET attempts=attempts+1, last_error=excluded.last_error, next_attempt=excluded.next_attempt`,
		name, cause, fmtTime(next))
	return err
}

func (s *Store) stepOK(name string) error {
	_, err := s.db.Exec(`DELETE FROM steps WHERE name=?`, name)
	return err
}

// heartbeat records the poll times `daemon status` shows. It is the one
// write an idle poll makes.
func (s *Store) heartbeat(pid int, started, last, next time.Time) error {
	_, err := s.db.Exec(`INSERT INTO heartbeat (id, pid, started_at, last_poll, next_poll, polls) VALUES (1,?,?,?,?,1)
		ON CONFLICT (id) DO UPDATE SET pid=excluded.pid, started_at=excluded.started_at, last_poll=excluded.last_poll,
		next_poll=excluded.next_poll, polls=polls+1`, pid, fmtTime(started), fmtTime(last), fmtTime(next))
	return err
}
