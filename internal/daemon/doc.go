// Package daemon is vulntune's unattended mode: it polls GitHub Actions for
// new completed, successful runs of the configured repositories and
// workflows, reads their scanner artifacts in memory, accumulates the
// findings in a state store and rebuilds the dataset, fine-tunes and
// publishes when there is something new (DESIGN.md §8 "Daemon").
//
// Every run is processed exactly once across restarts: the state store
// (SQLite, one file under the state directory) records each run's progress
// (pending → downloaded → parsed → dataset → trained → published, or
// skipped or failed with its next attempt), and each step commits its
// results together with the run's new state in one transaction, so a kill
// at any moment leaves the previous state and the step is done again, never
// twice. A lock file keeps a second daemon out of the same state directory.
//
// The phases after ingest (dataset, fine-tuning, publishing) are reached
// through the Pipeline interface, so the daemon's bookkeeping is tested
// without the engine and the caller decides how each phase runs.
package daemon
