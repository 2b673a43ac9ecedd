package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/engine/enginetest"
)

// newEngine returns an engine on the test interpreter, logging to t's temp
// dir, with a watchdog on t (watchEngine).
func newEngine(t *testing.T) *engine.Engine {
	e := engine.New(enginetest.Python(t, "the engine tests"), t.TempDir())
	watchEngine(t)
	return e
}

var tinyOnce sync.Map // kind -> *tinyModel

type tinyModel struct {
	once sync.Once
	dir  string
	err  error
}

// tinyModelDir builds (once per test binary) a random 2-layer model of the
// given architecture with a 369-token BPE tokenizer, and returns a private
// copy so tests may modify it.
func tinyModelDir(t *testing.T, e *engine.Engine, kind string) string {
	t.Helper()
	v, _ := tinyOnce.LoadOrStore(kind, &tinyModel{})
	tm := v.(*tinyModel)
	tm.once.Do(func() {
		dir, err := os.MkdirTemp("", "vulntune-tiny-"+kind+"-")
		if err != nil {
			tm.err = err
			return
		}
		script, _ := filepath.Abs(filepath.Join("testdata", "make_tiny_model.py"))
		tm.dir = dir
		tm.err = e.Launcher.Run(context.Background(), engine.Call{Op: "make-tiny-" + kind, Args: []string{script, kind, dir}, Stdout: &bytes.Buffer{}})
	})
	if tm.err != nil {
		t.Fatalf("build tiny %s model: %v", kind, tm.err)
	}
	dst := t.TempDir()
	entries, _ := os.ReadDir(tm.dir)
	for _, ent := range entries {
		b, err := os.ReadFile(filepath.Join(tm.dir, ent.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, ent.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// chatExample is one {"messages":[...]} row of a dataset split, as the
// evaluate, answer and perplexity ops take examples.
func chatExample(msgs ...chat.Message) json.RawMessage {
	b, err := json.Marshal(struct {
		Messages []chat.Message `json:"messages"`
	}{msgs})
	if err != nil {
		panic(err) // strings only: cannot fail
	}
	return b
}

func TestMain(m *testing.M) {
	code := m.Run()
	tinyOnce.Range(func(_, v any) bool {
		if d := v.(*tinyModel).dir; d != "" {
			os.RemoveAll(d)
		}
		return true
	})
	os.Exit(code)
}

func TestInfo(t *testing.T) {
	e := newEngine(t)
	info, err := e.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.MLX == "" || info.MLXLM == "" || info.HuggingfaceHub == "" || info.Python == "" {
		t.Errorf("info %+v: missing versions", info)
	}
	switch info.Backend {
	case "cpu", "cuda", "metal":
	default:
		t.Errorf("backend %q", info.Backend)
	}
}

func TestGenerateTinyLlama(t *testing.T) {
	e := newEngine(t)
	dir := tinyModelDir(t, e, "llama")
	g, err := e.Generate(context.Background(), engine.GenerateRequest{Model: dir, Prompt: "What is SQL injection?", MaxTokens: 12})
	if err != nil {
		t.Fatal(err)
	}
	if g.PromptTokens < 5 || g.GenerationTokens < 1 || g.GenerationTokens > 12 || g.ChatTemplateSource != "tokenizer" {
		t.Errorf("generation %+v: want prompt tokens through the template and 1..12 new tokens", g)
	}
	// Greedy decoding is deterministic.
	again, err := e.Generate(context.Background(), engine.GenerateRequest{Model: dir, Prompt: "What is SQL injection?", MaxTokens: 12})
	if err != nil || again.Text != g.Text {
		t.Errorf("second greedy run %q, %v; want %q", again.Text, err, g.Text)
	}
}

func TestOLMo2WithoutTemplateIsRefusedUntilSet(t *testing.T) {
	e := newEngine(t)
	dir := tinyModelDir(t, e, "olmo2")
	req := engine.GenerateRequest{Model: dir, Prompt: "hello", MaxTokens: 4}
	_, err := e.Generate(context.Background(), req)
	var ee *engine.EngineError
	if !errors.As(err, &ee) || ee.Kind != "NoChatTemplate" || !strings.Contains(ee.Message, "no chat template") {
		t.Fatalf("Generate on a template-less model = %v, want a NoChatTemplate refusal", err)
	}
	src, err := engine.EnsureChatTemplate(dir)
	if err != nil || src != engine.SourceOLMo2 {
		t.Fatalf("EnsureChatTemplate = %q, %v; want %q", src, err, engine.SourceOLMo2)
	}
	var meta map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, "metadata.json"))
	if json.Unmarshal(b, &meta) != nil || meta["chat_template_source"] != engine.SourceOLMo2 {
		t.Errorf("metadata.json = %s; want chat_template_source %q", b, engine.SourceOLMo2)
	}
	if src, err := engine.EnsureChatTemplate(dir); err != nil || src != engine.SourceOLMo2 {
		t.Errorf("second EnsureChatTemplate = %q, %v; want the recorded source again", src, err)
	}
	g, err := e.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	// "<|endoftext|><|user|>\nhello\n<|assistant|>\n" is more than "hello".
	if g.PromptTokens < 8 {
		t.Errorf("prompt tokens %d: the OLMo-2 template was not applied", g.PromptTokens)
	}
}

func TestPerplexityTiny(t *testing.T) {
	e := newEngine(t)
	dir := tinyModelDir(t, e, "llama")
	ex := chatExample(chat.Message{Role: chat.User, Content: "What is SQL injection?"},
		chat.Message{Role: chat.Assistant, Content: "It lets an attacker change a database query."})
	var metrics int
	p, err := e.Perplexity(context.Background(), engine.PerplexityRequest{
		Model: dir, Examples: []json.RawMessage{ex}, Texts: []string{"Upgrade the package to the fixed version."},
	}, func(ev engine.Event) {
		if ev.Event == "metric" {
			metrics++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// A random model is close to uniform over its 369 tokens: loss ~ ln 369.
	if p.Items != 2 || metrics != 2 || p.Tokens < 10 || math.Abs(p.Loss-math.Log(369)) > 1.5 || p.Perplexity <= 1 {
		t.Errorf("perplexity %+v (%d metric events): want ~ln(369) over 2 items", p, metrics)
	}
}

func TestPullNamesUnreachableEndpoint(t *testing.T) {
	e := newEngine(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String()
	l.Close() // nothing listens there now
	t.Setenv("HF_ENDPOINT", endpoint)
	t.Setenv("HF_HUB_OFFLINE", "")
	_, err = e.Pull(context.Background(), engine.PullRequest{Repo: "allenai/OLMo-2-0425-1B-Instruct", Dest: filepath.Join(t.TempDir(), "m")}, nil)
	var ee *engine.EngineError
	if !errors.As(err, &ee) || ee.Kind != "HubUnreachable" || !strings.Contains(ee.Message, "cannot reach "+endpoint+" (HF_ENDPOINT)") {
		t.Fatalf("Pull = %v, want HubUnreachable naming %s", err, endpoint)
	}
}

func TestServeTiny(t *testing.T) {
	e := newEngine(t)
	dir := tinyModelDir(t, e, "llama")
	ctx := context.Background()
	s, err := e.Serve(ctx, dir, engine.ServeOptions{StartTimeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	pid := s.Pid()
	body := `{"model":"default_model","messages":[{"role":"user","content":"hi"}],"max_tokens":5}`
	resp, err := http.Post(s.URL()+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Choices []struct{ Message struct{ Content string } }
		Usage   struct {
			CompletionTokens int `json:"completion_tokens"`
		}
	}
	err = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(out.Choices) != 1 || out.Usage.CompletionTokens < 1 {
		t.Fatalf("chat completion: status %d, %+v, %v", resp.StatusCode, out, err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(filepath.Join("/proc", itoa(pid))); err == nil {
		t.Errorf("server pid %d still exists after Close", pid)
	}
}

func TestServeFailsEarlyWithStderr(t *testing.T) {
	e := newEngine(t)
	dir := tinyModelDir(t, e, "llama")
	// Weights that do not match config.json: the server starts, then the
	// model fails to load.
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), []byte("not safetensors"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s, err := e.Serve(context.Background(), dir, engine.ServeOptions{StartTimeout: time.Minute})
	if err == nil {
		s.Close()
	}
	var ee *engine.EngineError
	if !errors.As(err, &ee) || ee.StderrTail == "" {
		t.Fatalf("Serve on a missing model = %v, want *EngineError with the stderr tail", err)
	}
	if d := time.Since(start); d > 50*time.Second {
		t.Errorf("took %v: should fail as soon as the process exits", d)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// smolLM2Dir returns the model `vulntune setup` imports:
// VULNTUNE_TEST_SMOLLM2_DIR, or <VULNTUNE_BASE_MODELS_DIR>/SmolLM2-135M-Instruct;
// it skips when neither is set.
func smolLM2Dir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("VULNTUNE_TEST_SMOLLM2_DIR")
	if dir == "" && os.Getenv("VULNTUNE_BASE_MODELS_DIR") != "" {
		dir = filepath.Join(os.Getenv("VULNTUNE_BASE_MODELS_DIR"), "SmolLM2-135M-Instruct")
	}
	if dir == "" {
		t.Skip("set VULNTUNE_TEST_SMOLLM2_DIR (or VULNTUNE_BASE_MODELS_DIR) to the imported SmolLM2-135M-Instruct")
	}
	return dir
}

// TestSmolLM2AnswersSQLInjection runs the bundled base model end to end.
func TestSmolLM2AnswersSQLInjection(t *testing.T) {
	e := newEngine(t)
	dir := smolLM2Dir(t)
	g, err := e.Generate(context.Background(), engine.GenerateRequest{Model: dir, Prompt: "What is SQL injection?", MaxTokens: 48})
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ToLower(g.Text)
	if !strings.Contains(text, "sql") && !strings.Contains(text, "database") && !strings.Contains(text, "query") {
		t.Errorf("answer does not mention SQL, database or query: %q", g.Text)
	}
	t.Logf("%d prompt + %d generated tokens at %.1f tokens/s: %q", g.PromptTokens, g.GenerationTokens, g.TokensPerSecond, g.Text)
}
