package hub_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/hub"
	"github.com/vulntune/vulntune/internal/hub/hubtest"
	"github.com/vulntune/vulntune/internal/validate"
)

// BenchmarkPublishModel publishes a model of the demo's size (SmolLM2-135M
// fp32 weights in the fine-tuned layout) to the Hub stand-in through the
// engine and reports the seconds of each part and the bytes sent:
// gate-s (plan, hashes, validation with the functional answer, privacy
// scan), publish-s (whoami, create, compare, upload, commit, tag),
// republish-s (the same content again: no commit), sent-MB and MB/s.
// Run it with bench/publish.sh; -benchtime 1x, since one publish is the
// unit.
func BenchmarkPublishModel(b *testing.B) {
	dataDir := os.Getenv("VULNTUNE_DATA_DIR")
	e, err := engine.Open(dataDir)
	if dataDir == "" || err != nil {
		b.Skip("no engine: run `make setup` and export VULNTUNE_DATA_DIR")
	}
	smol := filepath.Join(dataDir, "models", "base", "SmolLM2-135M-Instruct")
	if _, err := os.Stat(filepath.Join(smol, "model.safetensors")); err != nil {
		b.Skipf("no SmolLM2-135M-Instruct in %s", smol)
	}
	b.Setenv("HF_HUB_DISABLE_XET", "1")
	b.Setenv("HF_HOME", b.TempDir())
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		s := hubtest.New(b, hubtest.Options{})
		dir := filepath.Join(b.TempDir(), "demo-model")
		hubtest.WriteModel(b, dir, hubtest.ModelOptions{Weights: smol})
		tok, err := hub.ResolveToken(hubtest.DefaultWriteToken, os.Getenv, b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		var gate time.Duration
		o := hub.Options{PlanOptions: hub.PlanOptions{Kind: hub.KindModel, Dir: dir, Private: true},
			GateOptions: hub.GateOptions{Identity: hub.LocalIdentity(), ValidateModel: func(ctx context.Context, dir string) (*validate.Report, error) {
				t0 := time.Now()
				defer func() { gate += time.Since(t0) }()
				return validate.Run(ctx, validate.Options{ModelDir: dir, Engine: e, RequireEval: true})
			}},
			Token: tok, Endpoint: s.URL, Engine: e}
		t0 := time.Now()
		res, err := hub.Publish(ctx, o)
		if err != nil {
			b.Fatal(err)
		}
		total := time.Since(t0)
		gateFirst := gate
		t1 := time.Now()
		again, err := hub.Publish(ctx, o)
		if err != nil || again.Published.Committed {
			b.Fatalf("republish: %v", err)
		}
		republish := time.Since(t1) - (gate - gateFirst)
		pub := res.Published
		b.ReportMetric(gateFirst.Seconds(), "gate-s")
		b.ReportMetric((total - gateFirst).Seconds(), "publish-s")
		b.ReportMetric(republish.Seconds(), "republish-s")
		b.ReportMetric(float64(res.Plan.Bytes)/1e6, "plan-MB")
		b.ReportMetric(float64(pub.BytesUploaded)/1e6, "sent-MB")
		b.ReportMetric(float64(pub.BytesUploaded)/1e6/pub.Seconds, "MB/s")
	}
}
