package daemon

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/vulntune/vulntune/internal/lockfile"
)

// Status is what `vulntune daemon status` shows, read from the state
// directory without taking the daemon's lock.
type Status struct {
	StateDir string `json:"state_dir"`
	// Initialized is false when no daemon ever ran with this state dir.
	Initialized bool            `json:"initialized"`
	Running     bool            `json:"running"`
	PID         int             `json:"pid,omitempty"`
	StartedAt   time.Time       `json:"started_at,omitzero"`
	LastPoll    time.Time       `json:"last_poll,omitzero"`
	NextPoll    time.Time       `json:"next_poll,omitzero"`
	Polls       int             `json:"polls"`
	Targets     []TargetStatus  `json:"targets"`
	Runs        map[string]int  `json:"runs"` // count per state
	Queue       []RunRow        `json:"queue"`
	Failures    []RunRow        `json:"failures"`
	Steps       []StepRow       `json:"step_failures"`
	Findings    int             `json:"findings"`
	Dataset     *DatasetRow     `json:"dataset"`
	Model       *ModelRow       `json:"model"`
	Publication *PublicationRow `json:"publication"`
}

// TargetStatus is one listing's cursor.
type TargetStatus struct {
	Target
	// Cursor is the creation time of the newest run seen (or the
	// backfill anchor).
	Cursor     time.Time `json:"cursor,omitzero"`
	LastChange time.Time `json:"last_change,omitzero"`
}

// ReadStatus reads the state directory's store read-only.
func ReadStatus(stateDir string) (*Status, error) {
	st := &Status{StateDir: stateDir, Runs: map[string]int{}, Targets: []TargetStatus{}, Queue: []RunRow{},
		Failures: []RunRow{}, Steps: []StepRow{}}
	if lockfile.Held(filepath.Join(stateDir, LockFile)) {
		st.Running = true
		if b, err := os.ReadFile(filepath.Join(stateDir, LockFile)); err == nil {
			_, _ = fmt.Sscan(string(b), &st.PID)
		}
	}
	path := filepath.Join(stateDir, StateFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	s := &Store{db: db}
	st.Initialized = true
	var started, last, next string
	var pid int
	err = db.QueryRow(`SELECT pid, started_at, last_poll, next_poll, polls FROM heartbeat WHERE id=1`).Scan(&pid, &started, &last, &next, &st.Polls)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read state %s: %w", path, err)
	}
	st.StartedAt, st.LastPoll, st.NextPoll = parseTime(started), parseTime(last), parseTime(next)
	if st.PID == 0 {
		st.PID = pid
	}
	rows, err := db.Query(`SELECT repo, workflow, branch, cursor, last_change FROM targets ORDER BY repo, workflow, branch`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var t TargetStatus
		var cur, change string
		if err := rows.Scan(&t.Repo, &t.Workflow, &t.Branch, &cur, &change); err != nil {
			rows.Close()
			return nil, err
		}
		t.Cursor, t.LastChange = parseTime(cur), parseTime(change)
		st.Targets = append(st.Targets, t)
	}
	rows.Close()
	counts, err := db.Query(`SELECT state, count(*) FROM runs GROUP BY state`)
	if err != nil {
		return nil, err
	}
	for counts.Next() {
		var k string
		var n int
		if err := counts.Scan(&k, &n); err != nil {
			counts.Close()
			return nil, err
		}
		st.Runs[k] = n
	}
	counts.Close()
	q, err := db.Query(`SELECT `+runCols+` FROM runs WHERE state IN (?,?,?) ORDER BY created_at, id`, StatePending, StateDownloaded, StateParsed)
	if err != nil {
		return nil, err
	}
	if st.Queue, err = scanRuns(q); err != nil {
		return nil, err
	}
	f, err := db.Query(`SELECT `+runCols+` FROM runs WHERE state=? ORDER BY next_attempt, id`, StateFailed)
	if err != nil {
		return nil, err
	}
	if st.Failures, err = scanRuns(f); err != nil {
		return nil, err
	}
	for _, name := range []string{stepDataset, stepFinetune, stepPublish} {
		sr, err := s.step(name)
		if err != nil {
			return nil, err
		}
		if sr.Attempts > 0 {
			st.Steps = append(st.Steps, sr)
		}
	}
	if err := db.QueryRow(`SELECT count(*) FROM findings`).Scan(&st.Findings); err != nil {
		return nil, err
	}
	if st.Dataset, err = s.latestDataset(); err != nil {
		return nil, err
	}
	ms, err := s.models(`ORDER BY started_at DESC LIMIT 1`)
	if err != nil {
		return nil, err
	}
	if len(ms) > 0 {
		st.Model = &ms[0]
	}
	if st.Publication, err = s.lastPublication(); err != nil {
		return nil, err
	}
	if st.Queue == nil {
		st.Queue = []RunRow{}
	}
	if st.Failures == nil {
		st.Failures = []RunRow{}
	}
	return st, nil
}
