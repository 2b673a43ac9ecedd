package analyze_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/finding"
)

// chatServer stands in for an OpenAI-compatible chat completions service
// (mlx_lm.server, Ollama, a hosted API). It checks each request the way a
// strict server would and answers according to the finding's title, which
// it reads back out of the prompt's data block.
type chatServer struct {
	t         *testing.T
	srv       *httptest.Server
	wantKey   string
	calls     atomic.Int64
	inFlight  atomic.Int64
	maxFlight atomic.Int64
	delay     time.Duration

	mu       sync.Mutex
	perTitle map[string]int // calls per finding title
	behave   func(title string, n int) reply
	auths    []string
}

// reply is one canned answer: a status, optional headers, and either a
// content string wrapped in a chat completion or a raw body.
type reply struct {
	status  int
	header  map[string]string
	content string
	raw     string
	hang    bool // wait until the client gives up
}

func newChatServer(t *testing.T, behave func(title string, n int) reply) *chatServer {
	s := &chatServer{t: t, perTitle: map[string]int{}, behave: behave}
	s.srv = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *chatServer) handle(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.maxFlight.Load()
		if n <= m || s.maxFlight.CompareAndSwap(m, n) {
			break
		}
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		http.Error(w, "no route "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}
	var req struct {
		Model       string          `json:"model"`
		Messages    []chatMsg       `json:"messages"`
		Temperature *float64        `json:"temperature"`
		MaxTokens   int             `json:"max_tokens"`
		Stream      bool            `json:"stream"`
		RespFormat  json.RawMessage `json:"response_format"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "bad json: "+err.Error(), http.StatusBadRequest)
		return
	}
	if req.Model == "" || req.Temperature == nil || *req.Temperature != 0 || req.MaxTokens <= 0 || req.Stream ||
		len(req.Messages) != 2 || req.Messages[0].Role != "system" || req.Messages[1].Role != "user" {
		http.Error(w, fmt.Sprintf("unexpected request %+v", req), http.StatusBadRequest)
		return
	}
	title := titleOf(req.Messages[1].Content)
	s.mu.Lock()
	s.perTitle[title]++
	count := s.perTitle[title]
	s.auths = append(s.auths, r.Header.Get("Authorization"))
	s.mu.Unlock()
	if s.wantKey != "" && r.Header.Get("Authorization") != "Bearer "+s.wantKey {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	rep := s.behave(title, count)
	if rep.status == 400 && len(req.RespFormat) == 0 {
		rep = reply{content: goodReply}
	}
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	if rep.hang {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	if rep.status != 0 && rep.status != 200 {
		http.Error(w, rep.raw, rep.status)
		return
	}
	body := rep.raw
	if body == "" {
		b, _ := json.Marshal(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": rep.content}}},
			"usage": map[string]int{"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
		})
		body = string(b)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(body))
}

type chatMsg struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// titleOf decodes the data block of a user prompt and returns its title.
func titleOf(user string) string {
	i := strings.Index(user, beginLine+"\n")
	j := strings.Index(user, "\n"+endLine)
	if i < 0 || j < i {
		return ""
	}
	var d struct {
		Title string `json:"title"`
	}
	_ = json.Unmarshal([]byte(user[i+len(beginLine)+1:j]), &d)
	return d.Title
}

func (s *chatServer) callsFor(title string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perTitle[title]
}

// goodReply passes the grounding check for every generated finding: it
// names no identifier at all.
const goodReply = "```json\n" + `{"summary": "The flagged code passes request data to a sensitive operation without checking it.",
"impact": "An attacker could change what the operation does and read or alter data they should not reach.",
"exploitation": "A crafted request that reaches this code path is enough; no prior access is needed.",
"fix_rationale": "Validating and encoding the input before use keeps attacker data from being treated as commands."}` + "\n```"

// inventedReply names a CVE that no generated finding carries.
const inventedReply = `{"summary": "The component is affected by CVE-2099-0001, a remote code execution flaw.",
"impact": "An attacker could change what the operation does and read or alter data they should not reach.",
"exploitation": "A crafted request that reaches this code path is enough; no prior access is needed.",
"fix_rationale": "Validating and encoding the input before use keeps attacker data from being treated as commands."}`

// findings returns n code findings titled "finding 0" ... "finding n-1".
func findings(n int) []finding.Finding {
	out := make([]finding.Finding, n)
	for i := range out {
		out[i] = finding.Finding{
			ID: fmt.Sprintf("%024x", i+1), Kind: finding.KindCode, Severity: finding.SeverityHigh,
			Title:   fmt.Sprintf("finding %d", i),
			Message: "Request data reaches a sensitive call.",
			Tools:   []finding.Tool{{Name: "semgrep", RuleID: "rule.x"}},
			CWE:     []string{}, References: []string{}, VulnIDs: []string{},
			Location: finding.Location{Path: "src/handler.go", StartLine: i + 1},
		}
	}
	return out
}
