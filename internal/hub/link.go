package hub

import (
	"context"
	"errors"
	"fmt"

	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/modelstore"
)

// ModelLinker is the engine's op that lists models on a dataset card.
type ModelLinker interface {
	HubLinkModels(ctx context.Context, req engine.LinkModelsRequest) (*engine.LinkedModels, error)
}

// LinkModels adds models (repo ids) to the card of the dataset repo
// datasetRepo at revision, under "Models trained on this dataset": the
// list lives in the card on the Hub, so every model published from the
// dataset stays listed, and a model already listed makes no commit.
func LinkModels(ctx context.Context, e Engine, tok Token, endpoint, datasetRepo, revision string, models ...string) (*engine.LinkedModels, error) {
	l, ok := e.(ModelLinker)
	if !ok {
		return nil, errors.New("link models on the dataset card: this engine cannot")
	}
	if !modelstore.IsHubID(datasetRepo) {
		return nil, fmt.Errorf("link models on the dataset card: %q is not a Hub repo id", datasetRepo)
	}
	for _, m := range models {
		if !modelstore.IsHubID(m) {
			return nil, fmt.Errorf("link models on the dataset card: %q is not a Hub repo id", m)
		}
	}
	return l.HubLinkModels(ctx, engine.LinkModelsRequest{
		Repo: datasetRepo, Revision: revision, Models: models,
		Message: "List the models trained on this dataset (vulntune)",
		Auth:    engine.HubAuth{Token: tok.Value(), Endpoint: endpoint},
	})
}
