package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/vulntune/vulntune/internal/atomicfile"
	"github.com/vulntune/vulntune/internal/lockfile"
)

// Daemon-wide steps, each with its own retry state.
const (
	stepDataset  = "dataset"
	stepFinetune = "finetune"
	stepPublish  = "publish"
)

// phases builds the dataset when runs brought new findings, fine-tunes
// when the dataset has grown enough and publishes what is new. A poll
// with nothing new does none of it and writes nothing.
func (d *Daemon) phases(ctx context.Context, sum *Summary) error {
	if err := d.datasetStep(ctx, sum); err != nil {
		return err
	}
	if err := d.finetuneStep(ctx, sum); err != nil {
		return err
	}
	return d.publishStep(ctx, sum)
}

// stepDue reports whether a step may run now (no failure waiting out its
// backoff).
func (d *Daemon) stepDue(name string) (StepRow, bool, error) {
	st, err := d.store.step(name)
	if err != nil {
		return st, false, err
	}
	return st, !d.o.Clock.Now().Before(st.NextAttempt), nil
}

// stepFailed records a failed step; a cancelled one is not a failure.
func (d *Daemon) stepFailed(ctx context.Context, st StepRow, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// Unlike a run, a step is never given up: new findings need it.
	now := d.o.Clock.Now()
	next := now.Add(backoff(d.o.Backoff, d.o.MaxBackoff, st.Attempts))
	d.o.Log.Warn(st.Name+" failed", "attempt", st.Attempts+1, "err", err.Error(), "next_attempt", fmtTime(next))
	return d.store.stepFailed(st.Name, err.Error(), next, now)
}

func (d *Daemon) datasetStep(ctx context.Context, sum *Summary) error {
	n, err := d.store.countState(StateParsed)
	if err != nil || n == 0 {
		return err
	}
	st, ok, err := d.stepDue(stepDataset)
	if err != nil || !ok {
		return err
	}
	findings := d.statePath(FindingsFile)
	count := 0
	if err := atomicfile.Write(findings, 0o600, func(w io.Writer) error {
		count, err = d.store.exportFindings(w)
		return err
	}); err != nil {
		return err
	}
	start := d.o.Clock.Now()
	info, err := d.o.Pipeline.BuildDataset(ctx, findings, d.statePath(DatasetDir))
	if err != nil {
		return d.stepFailed(ctx, st, fmt.Errorf("build dataset: %w", err))
	}
	ds, err := d.store.saveDataset(d.statePath(DatasetDir), count, info.Examples, d.o.Clock.Now())
	if err != nil {
		return err
	}
	if err := d.store.stepOK(stepDataset); err != nil {
		return err
	}
	d.hook("dataset")
	sum.Dataset = &info.Examples
	d.o.Log.Info("dataset built", "dataset", ds.ID, "runs", n, "findings", count, "examples", info.Examples,
		"duration_ms", d.o.Clock.Now().Sub(start).Milliseconds())
	return nil
}

func (d *Daemon) finetuneStep(ctx context.Context, sum *Summary) error {
	if d.o.SkipFineTuning {
		d.noteOnce(sum, "skip-ft", "fine-tuning skipped (fine_tuning.skip_in_daemon)")
		return nil
	}
	ds, err := d.store.latestDataset()
	if err != nil || ds == nil {
		return err
	}
	var m *ModelRow
	training, err := d.store.models(`WHERE state=? ORDER BY started_at DESC LIMIT 1`, ModelTraining)
	if err != nil {
		return err
	}
	if len(training) > 0 {
		m = &training[0] // a fine-tune cut short: resume it under its name
		m.DatasetID, m.Examples = ds.ID, ds.Examples
	} else {
		last, err := d.store.models(`WHERE state IN (?, ?) ORDER BY started_at DESC LIMIT 1`, ModelDone, ModelRejected)
		if err != nil {
			return err
		}
		base := 0
		if len(last) > 0 {
			if last[0].DatasetID >= ds.ID {
				return nil
			}
			base = last[0].Examples
		}
		if grown := ds.Examples - base; grown < d.o.FinetuneAfter {
			if grown > 0 {
				sum.Notes = append(sum.Notes, fmt.Sprintf("dataset grew by %d of the %d examples that start a fine-tune", grown, d.o.FinetuneAfter))
			}
			return nil
		}
	}
	st, ok, err := d.stepDue(stepFinetune)
	if err != nil || !ok {
		return err
	}
	if d.o.FinetuneLock != "" {
		l, err := lockfile.Acquire(d.o.FinetuneLock)
		var le *lockfile.HeldError
		if errors.As(err, &le) {
			d.noteOnce(sum, "ft-lock", "another fine-tune is running ("+le.Error()+"); trying again next poll")
			return nil
		}
		if err != nil {
			return err
		}
		defer l.Release()
	}
	now := d.o.Clock.Now()
	if m == nil {
		m = &ModelRow{Name: fmt.Sprintf("%s-%s", d.o.ModelPrefix, now.UTC().Format("20060102-150405")), DatasetID: ds.ID, Examples: ds.Examples, StartedAt: now}
		if err := d.store.startModel(m.Name, *ds, now); err != nil {
			return err
		}
		d.hook("model-started")
	}
	d.o.Log.Info("fine-tuning", "model", m.Name, "dataset", ds.ID, "examples", ds.Examples)
	info, err := d.o.Pipeline.FineTune(ctx, ds.Dir, m.Name)
	switch {
	case ctx.Err() != nil:
		return ctx.Err() // the model stays "training" and resumes on the next start
	case errors.Is(err, ErrUnavailable):
		d.noteOnce(sum, "ft-unavailable", "fine-tuning not done: "+err.Error())
		return d.store.dropModel(m.Name)
	case errors.Is(err, ErrRejected):
		if err := d.store.finishModel(*m, ModelRejected, info.Dir, err.Error(), d.o.Clock.Now()); err != nil {
			return err
		}
		d.hook("rejected")
		d.o.Log.Warn("model rejected", "model", m.Name, "reason", err.Error())
		return d.store.stepOK(stepFinetune)
	case err != nil:
		return d.stepFailed(ctx, st, fmt.Errorf("fine-tune %s: %w", m.Name, err))
	}
	if err := d.store.finishModel(*m, ModelDone, info.Dir, "", d.o.Clock.Now()); err != nil {
		return err
	}
	d.hook("trained")
	sum.Model = m.Name
	d.o.Log.Info("model trained", "model", m.Name, "dir", info.Dir)
	return d.store.stepOK(stepFinetune)
}

func (d *Daemon) publishStep(ctx context.Context, sum *Summary) error {
	if d.o.SkipPublishing {
		d.noteOnce(sum, "skip-pub", "publishing skipped (fine_tuning.huggingface.skip_in_daemon)")
		return nil
	}
	ds, err := d.store.latestDataset()
	if err != nil || ds == nil {
		return err
	}
	var model *ModelInfo
	modelName := ""
	done, err := d.store.models(`WHERE state=? ORDER BY started_at DESC LIMIT 1`, ModelDone)
	if err != nil {
		return err
	}
	if len(done) > 0 {
		model, modelName = &ModelInfo{Name: done[0].Name, Dir: done[0].Dir}, done[0].Name
	}
	last, err := d.store.lastPublication()
	if err != nil {
		return err
	}
	if last != nil && last.DatasetID >= ds.ID && last.Model == modelName {
		return nil
	}
	st, ok, err := d.stepDue(stepPublish)
	if err != nil || !ok {
		return err
	}
	pub, err := d.o.Pipeline.Publish(ctx, ds.Dir, model)
	switch {
	case errors.Is(err, ErrUnavailable):
		d.noteOnce(sum, "pub-unavailable", "publishing not done: "+err.Error())
		return nil
	case err != nil:
		return d.stepFailed(ctx, st, fmt.Errorf("publish: %w", err))
	}
	from := StateDataset
	if model != nil {
		from = StateTrained
	}
	if err := d.store.savePublication(PublicationRow{DatasetID: ds.ID, Model: modelName, DatasetURL: pub.DatasetURL, ModelURL: pub.ModelURL}, from, d.o.Clock.Now()); err != nil {
		return err
	}
	d.hook("published")
	sum.Published = true
	d.o.Log.Info("published", "dataset", pub.DatasetURL, "model", pub.ModelURL)
	return d.store.stepOK(stepPublish)
}
