package validate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vulntune/vulntune/internal/modelstore"
)

// requiredFiles every model dir has (DESIGN.md §3). The weights are checked
// separately: one model.safetensors or an index with shards.
var requiredFiles = []string{
	"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
	"special_tokens_map.json", modelstore.MetadataFile,
}

// fineTunedFiles are required in addition when metadata.json says the model
// is fine-tuned.
var fineTunedFiles = []string{"adapters/adapter_config.json", "adapters/adapters.safetensors", "README.md"}

// checkArtifacts runs every check that reads files only, and returns the
// parsed metadata.json (nil when unreadable).
func checkArtifacts(r *Report, dir string) map[string]any {
	files, odd, err := listFiles(dir)
	if err != nil {
		r.add(GroupArtifact, "list files", Fail, "%v", err)
		return nil
	}
	checkFiles(r, dir, files, odd)
	have := map[string]bool{}
	for _, f := range append(append([]string{}, files...), odd...) {
		have[f] = true // a link is reported as such, not as missing
	}
	meta, metaErr := readJSONObject(filepath.Join(dir, modelstore.MetadataFile))
	want := requiredFiles
	if metaErr == nil && meta["kind"] == modelstore.KindFineTuned || have["adapters/adapter_config.json"] {
		want = append(append([]string{}, requiredFiles...), fineTunedFiles...)
	}
	var missing []string
	for _, f := range want {
		if !have[f] {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		r.add(GroupArtifact, "required files", Fail, "missing %s", strings.Join(missing, ", "))
	} else {
		r.add(GroupArtifact, "required files", Pass, "%d present", len(want))
	}

	cfg, err := readJSONObject(filepath.Join(dir, "config.json"))
	if err != nil {
		r.add(GroupArtifact, "config.json", Fail, "config.json: %v", err)
	} else {
		r.add(GroupArtifact, "config.json", Pass, "model_type %v", cfg["model_type"])
	}
	if gc, err := readJSONObject(filepath.Join(dir, "generation_config.json")); err != nil {
		r.add(GroupArtifact, "generation_config.json", Fail, "generation_config.json: %v", err)
	} else if len(gc) == 0 {
		r.add(GroupArtifact, "generation_config.json", Fail, "generation_config.json is an empty object")
	} else {
		r.add(GroupArtifact, "generation_config.json", Pass, "%d keys", len(gc))
	}

	checkWeights(r, dir, cfg)
	checkMetadata(r, dir, meta, metaErr, files)
	return meta
}

// shard is one safetensors file and its parsed header.
type shard struct {
	name   string
	header *modelstore.SafetensorsHeader
}

// checkWeights parses every safetensors header (single file or index and
// shards), then checks tensors against config.json and samples values.
func checkWeights(r *Report, dir string, cfg map[string]any) {
	shards, err := readShards(dir)
	if err != nil {
		r.add(GroupArtifact, "safetensors headers", Fail, "%v", err)
		return
	}
	names := make([]string, len(shards))
	for i, s := range shards {
		names[i] = s.name
	}
	r.add(GroupArtifact, "safetensors headers", Pass, "%s parse and tile their data", strings.Join(names, ", "))

	var total int64
	var emptyT []string
	dtypes := map[string]int{}
	for _, s := range shards {
		for name, t := range s.header.Tensors {
			if t.Elements() == 0 {
				emptyT = append(emptyT, s.name+":"+name)
			}
			if strings.HasSuffix(name, "rotary_emb.inv_freq") {
				continue // a buffer some exporters save, not a parameter
			}
			total += t.Elements()
			dtypes[t.DType]++
		}
	}
	sort.Strings(emptyT)
	if len(emptyT) > 0 {
		r.add(GroupArtifact, "tensors non-empty", Fail, "tensors with no elements: %s", strings.Join(emptyT, ", "))
	} else {
		r.add(GroupArtifact, "tensors non-empty", Pass, "%d parameters", total)
	}
	if cfg != nil {
		checkDTypes(r, cfg, dtypes)
		checkParams(r, cfg, shards, total)
	}
	checkValues(r, dir, shards)
}

// readShards returns model.safetensors, or the shards named by
// model.safetensors.index.json after checking that every tensor the index
// maps is in the shard it names.
func readShards(dir string) ([]shard, error) {
	single := filepath.Join(dir, "model.safetensors")
	index := filepath.Join(dir, "model.safetensors.index.json")
	if _, err := os.Stat(index); err != nil {
		if _, err := os.Stat(single); err != nil {
			return nil, fmt.Errorf("no model.safetensors and no model.safetensors.index.json")
		}
		h, err := modelstore.ReadSafetensorsHeader(single)
		if err != nil {
			return nil, fmt.Errorf("model.safetensors: %w", err)
		}
		return []shard{{name: "model.safetensors", header: h}}, nil
	}
	b, err := os.ReadFile(index)
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil || len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("model.safetensors.index.json: no weight_map (%v)", err)
	}
	byShard := map[string][]string{}
	for tensor, file := range idx.WeightMap {
		if file != filepath.Base(file) || !strings.HasSuffix(file, ".safetensors") {
			return nil, fmt.Errorf("model.safetensors.index.json: tensor %q maps to %q, want a .safetensors file in the model dir", tensor, file)
		}
		byShard[file] = append(byShard[file], tensor)
	}
	files := make([]string, 0, len(byShard))
	for f := range byShard {
		files = append(files, f)
	}
	sort.Strings(files)
	var out []shard
	for _, f := range files {
		h, err := modelstore.ReadSafetensorsHeader(filepath.Join(dir, f))
		if err != nil {
			return nil, fmt.Errorf("shard %s: %w", f, err)
		}
		for _, t := range byShard[f] {
			if _, ok := h.Tensors[t]; !ok {
				return nil, fmt.Errorf("model.safetensors.index.json maps %q to %s, which lacks it", t, f)
			}
		}
		if len(h.Tensors) != len(byShard[f]) {
			return nil, fmt.Errorf("shard %s holds %d tensors, the index maps %d to it", f, len(h.Tensors), len(byShard[f]))
		}
		out = append(out, shard{name: f, header: h})
	}
	return out, nil
}

// torchDTypes maps config.json torch_dtype to safetensors dtypes.
var torchDTypes = map[string]string{"float32": "F32", "float16": "F16", "bfloat16": "BF16"}

// checkDTypes wants every floating-point tensor in config.json's
// torch_dtype. Quantized models (config "quantization") pack weights in
// integer tensors beside float scales, so only their floats are checked.
func checkDTypes(r *Report, cfg map[string]any, dtypes map[string]int) {
	td, _ := cfg["torch_dtype"].(string)
	if td == "" {
		td, _ = cfg["dtype"].(string)
	}
	want, ok := torchDTypes[td]
	if !ok {
		r.add(GroupArtifact, "dtypes", Warn, "config.json torch_dtype %q not checked; tensors: %v", td, dtypes)
		return
	}
	var other []string
	for dt, n := range dtypes {
		if dt != want && (dt == "F32" || dt == "F16" || dt == "BF16" || dt == "F64") {
			other = append(other, fmt.Sprintf("%d %s", n, dt))
		}
	}
	sort.Strings(other)
	if len(other) > 0 {
		r.add(GroupArtifact, "dtypes", Fail, "config.json says %s (%s) but found %s tensors", td, want, strings.Join(other, ", "))
		return
	}
	r.add(GroupArtifact, "dtypes", Pass, "all floating-point tensors %s", want)
}
