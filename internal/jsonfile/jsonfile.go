// Package jsonfile reads a JSON file into a Go value: the one reader behind
// the packages that load the JSON files other phases (or Hugging Face
// model directories) left behind.
package jsonfile

import (
	"encoding/json"
	"fmt"
	"os"
)

// Read decodes the JSON file at path into v. A file that cannot be read
// is os.ReadFile's error, which names the path (and is fs.ErrNotExist when
// the file is missing); one that does not decode is named by path.
func Read(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
