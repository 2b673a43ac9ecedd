package train_test

import (
	"bytes"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/narrate"
	"github.com/vulntune/vulntune/internal/train"
)

func TestSteps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                       string
		epochs, n, batch, maxSteps int
		wantSteps, wantExamples    int
		wantErr                    string
	}{
		{name: "exact", epochs: 3, n: 148, batch: 4, wantSteps: 111, wantExamples: 444},
		{name: "rounds up", epochs: 1, n: 10, batch: 4, wantSteps: 3, wantExamples: 10},
		{name: "epochs times rows", epochs: 3, n: 10, batch: 4, wantSteps: 8, wantExamples: 30},
		{name: "max steps overrides", epochs: 3, n: 148, batch: 4, maxSteps: 6, wantSteps: 6, wantExamples: 24},
		{name: "batch above rows", epochs: 1, n: 3, batch: 4, wantErr: "exceeds"},
		{name: "no epochs", n: 10, batch: 2, wantErr: "epochs"},
		{name: "zero batch", epochs: 1, n: 10, wantErr: "batch size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, ex, err := train.Steps(tt.epochs, tt.n, tt.batch, tt.maxSteps)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || s != tt.wantSteps || ex != tt.wantExamples {
				t.Fatalf("got %d steps %d examples (%v), want %d %d", s, ex, err, tt.wantSteps, tt.wantExamples)
			}
		})
	}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPrepareDatasetConvertsInstructionFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var b strings.Builder
	for i := 0; i < 10; i++ {
		b.WriteString(`{"instruction":"fix finding ` + string(rune('a'+i)) + `","response":"upgrade it"}` + "\n")
	}
	src := filepath.Join(dir, "plan.jsonl")
	writeFile(t, src, b.String())
	info, err := train.PrepareDataset(src, filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Train != 8 || info.Valid != 2 || !info.Converted || len(info.SHA256) != 64 {
		t.Fatalf("info %+v, want 8/2 converted", info)
	}
	out, _ := os.ReadFile(filepath.Join(dir, "out", "train.jsonl"))
	if !strings.Contains(string(out), `"role":"system","content":"`+narrate.SystemPrompt[:40]) {
		t.Errorf("converted rows lack the system prompt: %.200s", out)
	}
	// The same rows in another order split the same way.
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	for i, j := 0, len(lines)-1; i < j; i, j = i+1, j-1 {
		lines[i], lines[j] = lines[j], lines[i]
	}
	writeFile(t, src, strings.Join(lines, "\n")+"\n")
	if _, err := train.PrepareDataset(src, filepath.Join(dir, "out2")); err != nil {
		t.Fatal(err)
	}
	v1, _ := os.ReadFile(filepath.Join(dir, "out", "valid.jsonl"))
	v2, _ := os.ReadFile(filepath.Join(dir, "out2", "valid.jsonl"))
	if len(bytes.Split(v1, []byte("\n"))) != 3 || !sameLines(v1, v2) {
		t.Errorf("split depends on order:\n%s\nvs\n%s", v1, v2)
	}
}

func sameLines(a, b []byte) bool {
	la, lb := strings.Fields(string(a)), strings.Fields(string(b))
	if len(la) != len(lb) {
		return false
	}
	seen := map[string]int{}
	for _, l := range la {
		seen[l]++
	}
	for _, l := range lb {
		seen[l]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestPrepareDatasetNamesEveryBadRow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}`
	writeFile(t, filepath.Join(dir, "train.jsonl"), strings.Join([]string{
		good,
		`{"messages":[{"role":"user","content":"q"}]}`,
		`{"messages":[{"role":"robot","content":"q"},{"role":"assistant","content":"a"}]}`,
		`{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"  "}]}`,
		`not json`,
		`{"messages":[]}`,
		`{"text":"x"}`,
	}, "\n")+"\n")
	writeFile(t, filepath.Join(dir, "valid.jsonl"), good+"\n"+`{"messages":[{"role":"user","content":"q"},{"role":"system","content":"s"},{"role":"assistant","content":"a"}]}`+"\n")
	_, err := train.PrepareDataset(dir, filepath.Join(dir, "out"))
	var re *train.RowError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want *RowError", err)
	}
	want := []string{
		"train.jsonl:2: no assistant turn", "train.jsonl:3: message 0: role \"robot\"",
		"train.jsonl:4: message 1 (assistant): empty content", "train.jsonl:5: not a JSON object",
		"train.jsonl:6: \"messages\" is empty", "train.jsonl:7: no \"messages\"",
		"valid.jsonl:2: message 1: a system message may only come first",
	}
	if len(re.Problems) != len(want) {
		t.Fatalf("problems:\n%s", strings.Join(re.Problems, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(re.Problems[i], w) {
			t.Errorf("problem %d = %q, want prefix %q", i, re.Problems[i], w)
		}
	}
}

func TestMetricsRoundTripAndPlot(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m := &train.Metrics{}
	m.Add(train.Record{Kind: "eval", Step: 0, ValLoss: 2.3})
	for s := 1; s <= 6; s++ {
		m.Add(train.Record{Kind: "train", Step: s, Total: 6, Loss: 3 - float64(s)*0.3, Tokens: 100})
		if s%3 == 0 {
			m.Add(train.Record{Kind: "eval", Step: s, Total: 6, ValLoss: 2.3 - float64(s)*0.1})
		}
	}
	path := filepath.Join(dir, "metrics.jsonl")
	if err := m.Write(path); err != nil {
		t.Fatal(err)
	}
	got, err := train.ReadMetrics(path)
	if err != nil || len(got.Records) != len(m.Records) {
		t.Fatalf("read back %d records (%v), want %d", len(got.Records), err, len(m.Records))
	}
	got.TruncateAfter(3)
	if steps, _ := got.Series("train"); len(steps) != 3 {
		t.Errorf("after truncation train steps %v", steps)
	}
	if steps, _ := got.Series("eval"); len(steps) != 2 {
		t.Errorf("after truncation eval steps %v", steps)
	}
	png1 := filepath.Join(dir, "loss.png")
	if err := train.PlotLoss(m, "test", png1); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(png1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() < 400 {
		t.Fatalf("loss.png: %v %v", err, img)
	}
}

func TestWriteCard(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	v0, v1 := 2.29, 1.99
	err := train.WriteCard(dir, train.CardInfo{
		Name: "vulntune-security-20261124-153000", BaseModel: "SmolLM2-135M-Instruct", BaseHubID: "HuggingFaceTB/SmolLM2-135M-Instruct",
		BaseQuantization: "Q4_1", Datasets: []string{"ds", "acme/findings"},
		Steps: 111, Epochs: 3, BatchSize: 4, LearningRate: 2e-4, Rank: 8, Alpha: 16, Dropout: 0.05,
		TargetModules: []string{"q_proj"}, MaxSeqLength: 1024, DType: "float32", Backend: "cpu",
		InitialValLoss: &v0, ValLoss: &v1, TruncatedTrain: 3, TruncatedValid: 1, Longest: 1518,
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "README.md"))
	card := string(b)
	for _, want := range []string{"---\n", "license: apache-2.0", "base_model: HuggingFaceTB/SmolLM2-135M-Instruct",
		"library_name: transformers", "  - mlx", "language:\n  - en", "pipeline_tag: text-generation", "model-index:", "value: 1.99",
		"datasets:\n  - acme/findings\n", "2.2900 → 1.9900", "dequantized from a GGUF Q4_1 quantization",
		"| examples longer than that, cut (train / valid) | 3 / 1 (longest 1518 tokens) |"} {
		if !strings.Contains(card, want) {
			t.Errorf("card lacks %q:\n%s", want, card)
		}
	}
	if strings.Contains(card, "- ds\n") {
		t.Errorf("the card names the local dataset folder as a dataset:\n%s", card)
	}
}

func TestDefaultName(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 15, 30, 0, 0, time.FixedZone("X", 3600))
	if got := train.DefaultName("vulntune-security", now); got != "vulntune-security-20261124-143000" {
		t.Errorf("got %s", got)
	}
}
