package hubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// hubID is a repo id as the Hub's card validation wants it in base_model
// and datasets: namespace/name.
var hubID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$`)

// validateYAML checks a README's front matter the way the Hub's
// /api/validate-yaml does for the keys vulntune writes: a YAML mapping;
// string or list-of-string fields where the Hub's card schema has them;
// base_model and datasets as Hub ids, not folder names; model-index with
// name, task, dataset and metrics; dataset configs with data_files.
// Errors answer 400 {"errors": [{"message"}]}, which the client raises as
// "Invalid metadata in README.md".
func (s *Server) validateYAML(w http.ResponseWriter, c *call) {
	var req struct {
		Content  string `json:"content"`
		RepoType string `json:"repoType"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "", "validate-yaml: "+err.Error())
		return
	}
	if p, ok := s.principal(c.r); !ok || p == nil {
		writeError(w, http.StatusUnauthorized, "", "Invalid credentials in Authorization header")
		return
	}
	problems := CardProblems(req.Content, req.RepoType)
	if len(problems) > 0 {
		errs := make([]map[string]string, len(problems))
		for i, p := range problems {
			errs[i] = map[string]string{"message": p}
		}
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": errs, "warnings": []any{}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"errors": []any{}, "warnings": []any{}})
}

// CardProblems returns what the stand-in's card validation rejects in a
// README's front matter, for a repo of repoType ("model" or "dataset").
func CardProblems(readme, repoType string) []string {
	front, ok := frontMatter(readme)
	if !ok {
		return nil // no metadata: the Hub warns, it does not refuse
	}
	var meta map[string]any
	if err := yaml.Unmarshal([]byte(front), &meta); err != nil {
		return []string{"YAML front matter is not valid YAML: " + err.Error()}
	}
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, k := range []string{"license", "library_name", "pipeline_tag", "license_name"} {
		if v, ok := meta[k]; ok {
			if _, isStr := v.(string); !isStr {
				bad("%q must be a string", k)
			}
		}
	}
	for _, k := range []string{"tags", "language", "task_categories", "size_categories", "datasets", "base_model"} {
		if v, ok := meta[k]; ok && stringList(v) == nil {
			bad("%q must be a string or a list of strings", k)
		}
	}
	for _, k := range []string{"base_model", "datasets"} {
		for _, id := range stringList(meta[k]) {
			if !hubID.MatchString(id) {
				bad("%q: %q is not a Hub repo id (namespace/name)", k, id)
			}
		}
	}
	if mi, ok := meta["model-index"]; ok {
		out = append(out, modelIndexProblems(mi)...)
	}
	if repoType == "dataset" {
		if cfgs, ok := meta["configs"]; ok {
			out = append(out, configsProblems(cfgs)...)
		}
	}
	return out
}

func frontMatter(readme string) (string, bool) {
	s := strings.ReplaceAll(readme, "\r\n", "\n")
	if !strings.HasPrefix(s, "---\n") {
		return "", false
	}
	end := strings.Index(s[4:], "\n---")
	if end < 0 {
		return "", false
	}
	return s[4 : 4+end], true
}

// stringList returns v as a list of strings, or nil when it is neither a
// string nor a list of strings.
func stringList(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			s, ok := x.(string)
			if !ok {
				return nil
			}
			out = append(out, s)
		}
		return out
	}
	return nil
}

func modelIndexProblems(v any) []string {
	list, ok := v.([]any)
	if !ok {
		return []string{`"model-index" must be a list`}
	}
	var out []string
	for i, e := range list {
		m, _ := e.(map[string]any)
		if m == nil || m["name"] == nil {
			out = append(out, fmt.Sprintf("model-index[%d]: needs a name", i))
			continue
		}
		results, _ := m["results"].([]any)
		if results == nil {
			out = append(out, fmt.Sprintf("model-index[%d]: needs a list of results", i))
		}
		for j, r := range results {
			rm, _ := r.(map[string]any)
			task, _ := rm["task"].(map[string]any)
			ds, _ := rm["dataset"].(map[string]any)
			metrics, _ := rm["metrics"].([]any)
			if task == nil || task["type"] == nil {
				out = append(out, fmt.Sprintf("model-index[%d].results[%d]: task.type is required", i, j))
			}
			if ds == nil || ds["name"] == nil || ds["type"] == nil {
				out = append(out, fmt.Sprintf("model-index[%d].results[%d]: dataset.name and dataset.type are required", i, j))
			}
			if len(metrics) == 0 {
				out = append(out, fmt.Sprintf("model-index[%d].results[%d]: metrics are required", i, j))
			}
			for k, mt := range metrics {
				mm, _ := mt.(map[string]any)
				if mm == nil || mm["type"] == nil || mm["value"] == nil {
					out = append(out, fmt.Sprintf("model-index[%d].results[%d].metrics[%d]: type and value are required", i, j, k))
				}
			}
		}
	}
	return out
}

func configsProblems(v any) []string {
	list, ok := v.([]any)
	if !ok {
		return []string{`"configs" must be a list`}
	}
	var out []string
	for i, e := range list {
		m, _ := e.(map[string]any)
		if m == nil || m["config_name"] == nil {
			out = append(out, fmt.Sprintf("configs[%d]: config_name is required", i))
			continue
		}
		switch df := m["data_files"].(type) {
		case string:
		case []any:
			for j, f := range df {
				fm, _ := f.(map[string]any)
				if _, isStr := f.(string); !isStr && (fm == nil || fm["split"] == nil || fm["path"] == nil) {
					out = append(out, fmt.Sprintf("configs[%d].data_files[%d]: want a path or {split, path}", i, j))
				}
			}
		default:
			out = append(out, fmt.Sprintf("configs[%d]: data_files is required", i))
		}
	}
	return out
}
