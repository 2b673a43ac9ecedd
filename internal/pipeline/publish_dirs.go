package pipeline

import (
	"context"
	"fmt"

	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/hub"
)

// Published says where PublishDirs sent a dataset and a model.
type Published struct {
	Dataset, Model *engine.Published
}

// PublishDirs publishes a dataset and then, when modelDir is not "", a
// model, outside a run: the daemon's publishing after its dataset grew or
// a model passed its gate. The same gate, token check and naming as a
// run's publish phases; unchanged content makes no commit. A model is not
// published when its dataset could not be.
func PublishDirs(ctx context.Context, o PublishOptions, datasetDir, modelDir string) (Published, error) {
	var out Published
	p := newPublisher(o)
	if datasetDir != "" && o.SkipDataset == "" {
		if err := p.check(ctx, o.DatasetRepo); err != nil {
			return out, err
		}
		res, _, err := p.publish(ctx, hub.KindDataset, datasetDir)
		if err != nil {
			return out, fmt.Errorf("publish dataset: %w", err)
		}
		out.Dataset = res.Published
	}
	if modelDir != "" && o.SkipModel == "" {
		if err := p.check(ctx, o.ModelRepo); err != nil {
			return out, err
		}
		res, _, err := p.publish(ctx, hub.KindModel, modelDir)
		if err != nil {
			return out, fmt.Errorf("publish model: %w", err)
		}
		out.Model = res.Published
	}
	return out, nil
}
