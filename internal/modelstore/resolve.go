package modelstore

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// NotFoundError says where a model name was looked for.
type NotFoundError struct {
	Name  string
	Tried []string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("model %q not found (looked in %s)", e.Name, strings.Join(e.Tried, ", "))
}

// Hint says how to get one.
func (e *NotFoundError) Hint() string {
	return "run `vulntune setup` for the default base model, or pass a model directory"
}

// Resolve finds a model: name as a directory path when it looks like one
// (a separator or a leading dot), else name in the base models dir, then in
// the fine-tuned models dir. A model directory is one with a config.json.
func Resolve(name, baseModelsDir, fineTunedModelsDir string) (string, error) {
	var tried []string
	if strings.ContainsRune(name, filepath.Separator) || strings.HasPrefix(name, ".") {
		tried = append(tried, name)
		if isModelDir(name) {
			return filepath.Abs(name)
		}
	} else {
		for _, root := range []string{baseModelsDir, fineTunedModelsDir} {
			dir := filepath.Join(root, name)
			tried = append(tried, dir)
			if isModelDir(dir) {
				return dir, nil
			}
		}
	}
	return "", &NotFoundError{Name: name, Tried: tried}
}

func isModelDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "config.json"))
	return err == nil
}

// BaseModels lists the base models in dir by name and says whether the
// default one is among them: what doctor and setup report.
func BaseModels(dir, defaultName string) (names []string, hasDefault bool, err error) {
	models, err := List(Root{Dir: dir, Kind: "base"})
	if err != nil {
		return nil, false, err
	}
	names = []string{}
	for _, m := range models {
		names = append(names, m.Name)
		hasDefault = hasDefault || filepath.Base(m.Dir) == defaultName
	}
	return names, hasDefault, nil
}
