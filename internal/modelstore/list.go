package modelstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Root is a directory of model dirs and the kind assumed for models in it
// that carry no metadata.json (put there by hand or pulled from the Hub).
type Root struct {
	Dir  string
	Kind string
}

// List describes every model dir directly under the roots, sorted by kind
// then name. Hidden entries (staging dirs of an import in progress) and
// dirs without config.json are not models and are skipped; a missing root
// lists nothing. A model dir that cannot be read is listed with Problem set.
func List(roots ...Root) ([]Model, error) {
	models := []Model{}
	for _, root := range roots {
		entries, err := os.ReadDir(root.Dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list models in %s: %w", root.Dir, err)
		}
		for _, e := range entries {
			if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			dir := filepath.Join(root.Dir, e.Name())
			if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
				continue
			}
			m, err := Describe(dir, root.Kind)
			if err != nil {
				m = &Model{Name: e.Name(), Dir: dir, Kind: root.Kind, Problem: err.Error()}
			}
			models = append(models, *m)
		}
	}
	sort.SliceStable(models, func(i, j int) bool {
		if models[i].Kind != models[j].Kind {
			return models[i].Kind < models[j].Kind
		}
		return models[i].Name < models[j].Name
	})
	return models, nil
}

// hfModelConfig holds the config.json fields Describe reads.
type hfModelConfig struct {
	ModelType    string          `json:"model_type"`
	TorchDType   string          `json:"torch_dtype"`
	DType        string          `json:"dtype"`
	NameOrPath   string          `json:"_name_or_path"`
	Quantization *mlxQuant       `json:"quantization"`
	QuantConfig  json.RawMessage `json:"quantization_config"`
}

type mlxQuant struct {
	Bits      int `json:"bits"`
	GroupSize int `json:"group_size"`
}

// Describe reads a model dir: metadata.json when present, else what
// config.json and the safetensors headers tell. kind is used when
// metadata.json does not say.
func Describe(dir, kind string) (*Model, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("describe model: %w", err)
	}
	var cfg hfModelConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, "config.json"), err)
	}
	m := &Model{Name: filepath.Base(dir), Dir: dir, Kind: kind, Architecture: cfg.ModelType, Source: cfg.NameOrPath}
	m.DType = cfg.TorchDType
	if m.DType == "" {
		m.DType = cfg.DType
	}
	switch {
	case cfg.Quantization != nil && cfg.Quantization.Bits > 0:
		m.Quantization = fmt.Sprintf("mlx %d-bit (group %d)", cfg.Quantization.Bits, cfg.Quantization.GroupSize)
	case len(cfg.QuantConfig) > 0 && string(cfg.QuantConfig) != "null":
		var q struct {
			Method string `json:"quant_method"`
		}
		_ = json.Unmarshal(cfg.QuantConfig, &q)
		m.Quantization = q.Method
	}
	if err := m.fromWeights(dir); err != nil {
		return nil, err
	}
	if meta, err := ReadMetadata(dir); err == nil {
		m.applyMetadata(meta)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	} else if st, err := os.Stat(filepath.Join(dir, "config.json")); err == nil {
		m.Created = st.ModTime().UTC()
	}
	if m.SizeBytes, err = dirSize(dir); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Model) applyMetadata(meta *Metadata) {
	if meta.Name != "" {
		m.Name = meta.Name
	}
	if meta.Kind != "" {
		m.Kind = meta.Kind
	}
	if meta.Architecture != "" {
		m.Architecture = meta.Architecture
	}
	if meta.Parameters > 0 {
		m.Parameters = meta.Parameters
	}
	if meta.DType != "" {
		m.DType = meta.DType
	}
	if meta.Quantization != "" {
		m.Quantization = meta.Quantization
	}
	if meta.Source != "" {
		m.Source = meta.Source
	}
	m.Created = meta.Created
}

// fromWeights counts parameters from the top-level safetensors headers,
// and takes the dtype holding the most elements when config.json has none.
func (m *Model) fromWeights(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	if err != nil {
		return err
	}
	byDType := map[string]int64{}
	for _, f := range files {
		h, err := ReadSafetensorsHeader(f)
		if err != nil {
			return err
		}
		for _, t := range h.Tensors {
			m.Parameters += t.Elements()
			byDType[t.DType] += t.Elements()
		}
	}
	if m.DType == "" {
		best := ""
		for dt, n := range byDType {
			if best == "" || n > byDType[best] || n == byDType[best] && dt < best {
				best = dt
			}
		}
		m.DType = map[string]string{"F32": DTypeFloat32, "F16": DTypeFloat16, "BF16": DTypeBFloat16}[best]
		if m.DType == "" {
			m.DType = best
		}
	}
	return nil
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", dir, err)
	}
	return n, nil
}
