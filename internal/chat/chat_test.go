package chat_test

import (
	"testing"

	"github.com/vulntune/vulntune/internal/chat"
)

func TestPromptAndAnswer(t *testing.T) {
	t.Parallel()
	msg := func(role, content string) chat.Message { return chat.Message{Role: role, Content: content} }
	tests := []struct {
		name           string
		msgs           []chat.Message
		prompt, answer string
		user           string
	}{
		{"single turn", []chat.Message{msg(chat.System, "s"), msg(chat.User, "u"), msg(chat.Assistant, "a")}, "s\nu", "a", "u"},
		{"multi-turn: the earlier answer is part of the prompt",
			[]chat.Message{msg(chat.User, "u1"), msg(chat.Assistant, "a1"), msg(chat.User, "u2"), msg(chat.Assistant, "a2")},
			"u1\na1\nu2", "a2", "u1"},
		{"no answer yet", []chat.Message{msg(chat.System, "s"), msg(chat.User, "u")}, "s\nu", "", "u"},
		{"empty", nil, "", "", ""},
	}
	for _, tt := range tests {
		if got := chat.Prompt(tt.msgs); got != tt.prompt {
			t.Errorf("%s: Prompt = %q, want %q", tt.name, got, tt.prompt)
		}
		if got := chat.Answer(tt.msgs); got != tt.answer {
			t.Errorf("%s: Answer = %q, want %q", tt.name, got, tt.answer)
		}
		if got := chat.FirstUser(tt.msgs); got != tt.user {
			t.Errorf("%s: FirstUser = %q, want %q", tt.name, got, tt.user)
		}
		// A turn appended to the prompt turns leaves the answer alone.
		_ = append(chat.PromptTurns(tt.msgs), msg(chat.Assistant, ""))
		if got := chat.Answer(tt.msgs); got != tt.answer {
			t.Errorf("%s: after appending to PromptTurns, Answer = %q, want %q", tt.name, got, tt.answer)
		}
	}
}
