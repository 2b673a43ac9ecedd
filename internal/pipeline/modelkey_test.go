package pipeline_test

import (
	"testing"

	"github.com/vulntune/vulntune/internal/pipeline"
	"github.com/vulntune/vulntune/internal/train"
)

// TestModelKeySeed: a run with another training seed trains another model
// (its key differs), while the default seed, given or not, keeps the key
// runs made before `run --train-seed` existed have.
func TestModelKeySeed(t *testing.T) {
	t.Parallel()
	key := func(seed int64) map[string]any {
		return pipeline.ModelHooks(pipeline.ModelOptions{Seed: seed}).Key.(map[string]any)
	}
	for _, tc := range []struct {
		seed int64
		want any
	}{{0, nil}, {train.DefaultSeed, nil}, {7, int64(7)}} {
		if got := key(tc.seed)["seed"]; got != tc.want {
			t.Errorf("seed %d: key's seed %v, want %v", tc.seed, got, tc.want)
		}
	}
}
