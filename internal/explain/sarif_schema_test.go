package explain_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/vulntune/vulntune/internal/explain"
)

// sarifSchemaURL is the $id of the vendored schema (testdata/README.md says
// where it comes from and how it was trimmed).
const sarifSchemaURL = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"

var sarifSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	f, err := os.Open(filepath.Join("testdata", "sarif-schema-2.1.0.json"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, err
	}
	// The published schema has region's anyOf (one of startLine,
	// charOffset, byteOffset required) inside region's "properties", where
	// it declares a property named anyOf and is no schema at all (a
	// draft 2020-12 metaschema error). It is moved where it was meant to
	// be; the vendored file keeps it where upstream has it.
	region := doc.(map[string]any)["definitions"].(map[string]any)["region"].(map[string]any)
	props := region["properties"].(map[string]any)
	region["anyOf"] = props["anyOf"]
	delete(props, "anyOf")
	c := jsonschema.NewCompiler()
	if err := c.AddResource(sarifSchemaURL, doc); err != nil {
		return nil, err
	}
	return c.Compile(sarifSchemaURL)
})

// validateSARIF checks b against the SARIF 2.1.0 schema.
func validateSARIF(t *testing.T, b []byte) error {
	t.Helper()
	sch, err := sarifSchema()
	if err != nil {
		t.Fatalf("compile testdata/sarif-schema-2.1.0.json: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

// TestSARIFOutputValidates: explain's SARIF, its own log and the input logs
// it enriches, is valid against the official SARIF 2.1.0 schema. The
// validator is shown to catch what explain wrote before: a fix with a
// description and no artifactChanges.
func TestSARIFOutputValidates(t *testing.T) {
	t.Parallel()
	arts := filepath.Join("..", "..", "examples", "artifacts")
	sarifIn, _ := filepath.Glob(filepath.Join(arts, "*", "*.sarif"))
	tests := []struct {
		name   string
		inputs []string
		sarif  bool
	}{
		{"vulntune's own log", []string{writeFindings(t, findings())}, false},
		{"the bundled reports in one log of vulntune's", []string{arts}, false},
		{"the bundled SARIF logs enriched", sarifIn, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if len(tt.inputs) == 0 {
				t.Skip("no examples/artifacts")
			}
			if _, err := os.Stat(tt.inputs[0]); err != nil {
				t.Skip("no examples/artifacts")
			}
			asked := 0
			// Every answer to a finding with a CWE invents a CVE: flagged
			// answers are written too.
			eng := fakeEngine{answers: map[string]string{"CWE-": "Fix it; see CVE-2099-0001.", "lodash": answers["lodash"]}, asked: &asked}
			r := run(t, explain.Options{Inputs: tt.inputs, ModelDir: modelDir(t), Engine: eng, SARIF: tt.sarif, TempDir: t.TempDir()})
			if r.Summary.Answered == 0 {
				t.Fatal("nothing explained")
			}
			var b bytes.Buffer
			if err := explain.WriteSARIF(&b, r); err != nil {
				t.Fatal(err)
			}
			if err := validateSARIF(t, b.Bytes()); err != nil {
				t.Errorf("explain's SARIF (%d findings) is not valid SARIF 2.1.0: %v", r.Summary.Answered, err)
			}
			if !strings.Contains(b.String(), `"vulntune": {`) {
				t.Error("no result carries properties.vulntune")
			}
		})
	}

	t.Run("a fix without artifactChanges is refused", func(t *testing.T) {
		t.Parallel()
		log := map[string]any{"version": "2.1.0", "runs": []any{map[string]any{
			"tool": map[string]any{"driver": map[string]any{"name": "vulntune"}},
			"results": []any{map[string]any{
				"message": map[string]any{"text": "SQL injection"},
				"fixes":   []any{map[string]any{"description": map[string]any{"text": "Use parameters."}}},
			}},
		}}}
		b, _ := json.Marshal(log)
		err := validateSARIF(t, b)
		if err == nil || !strings.Contains(err.Error(), "artifactChanges") {
			t.Errorf("a fix with no artifactChanges validated (err %v)", err)
		}
	})
}
