package explain

import (
	"github.com/vulntune/vulntune/internal/modelstore"
)

// NewestFineTuned returns the directory of the most recently created
// fine-tuned model in dir (its metadata's creation time), or "" when dir
// holds none that can be read: explain answers with what was trained last
// unless told otherwise.
func NewestFineTuned(dir string) (string, error) {
	models, err := modelstore.List(modelstore.Root{Dir: dir, Kind: "fine-tuned"})
	if err != nil {
		return "", err
	}
	var best *modelstore.Model
	for i := range models {
		m := &models[i]
		if m.Problem != "" {
			continue
		}
		if best == nil || m.Created.After(best.Created) || (m.Created.Equal(best.Created) && m.Name > best.Name) {
			best = m
		}
	}
	if best == nil {
		return "", nil
	}
	return best.Dir, nil
}
