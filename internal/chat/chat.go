// Package chat holds the chat turn every layer passes around — a dataset
// row, a prompt for the engine, a request to an OpenAI-compatible endpoint —
// and what is read out of a conversation: the turns a model answers and the
// answer it learns. One definition, so "the prompt" of an example is the
// same thing to the dataset's grounding check, to evaluation's
// hallucination measure and to the engine (vulntune_engine.chat.prompt_turns).
package chat

import (
	"errors"
	"fmt"
	"strings"
)

// Message is one chat turn.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Roles of a turn.
const (
	System    = "system"
	User      = "user"
	Assistant = "assistant"
)

// Sections are the sections of an answer turn in the order an answer gives
// them, each at most once, each opened by its Heading on a line of its own;
// no other line of an answer opens in bold. narrate writes them; the
// engine's loop guard holds generated answers to them
// (engine.LoopGuard.Sections), so an answer that would start over after
// its last section, or make one up, ends instead.
var Sections = []string{"In short", "What it is", "Where", "Fix", "Why it matters", "How to verify", "References"}

// ListSections are those of Sections whose lines are a bullet list, each
// line opening with "- ", blank lines only before the next heading.
// narrate writes them so; the loop guard holds generated answers to it
// (engine.LoopGuard.Lists), so an answer cannot run on after its last
// bullet in lines of another shape.
var ListSections = []string{"Where", "How to verify", "References"}

// Heading is the line that opens section s: its name in bold.
func Heading(s string) string { return "**" + s + "**" }

// Headings are the Heading of every one of Sections.
func Headings() []string { return headings(Sections) }

// ListHeadings are the Heading of every one of ListSections.
func ListHeadings() []string { return headings(ListSections) }

func headings(sections []string) []string {
	out := make([]string, len(sections))
	for i, s := range sections {
		out[i] = Heading(s)
	}
	return out
}

// lastAnswer is the index of the last assistant turn, or -1.
func lastAnswer(msgs []Message) int {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == Assistant {
			return i
		}
	}
	return -1
}

// Answer returns the last assistant turn's content: the answer a model
// learns, or is scored on.
func Answer(msgs []Message) string {
	if i := lastAnswer(msgs); i >= 0 {
		return msgs[i].Content
	}
	return ""
}

// PromptTurns returns every turn before the last assistant turn (all of
// them when there is none): what the model sees when it writes the answer,
// earlier answers of a multi-turn conversation included. Its capacity ends
// with it, so appending to it (explain's empty answer turn) copies rather
// than overwriting the answer in msgs: it did, and every explain request
// went out with an empty reference answer, so grounded decoding held none
// of vulntune's lines there.
func PromptTurns(msgs []Message) []Message {
	if i := lastAnswer(msgs); i >= 0 {
		return msgs[:i:i]
	}
	return msgs
}

// Prompt is PromptTurns' contents joined by newlines: the text an answer
// may draw its identifiers from.
func Prompt(msgs []Message) string {
	turns := PromptTurns(msgs)
	parts := make([]string, len(turns))
	for i, m := range turns {
		parts[i] = m.Content
	}
	return strings.Join(parts, "\n")
}

// FirstUser returns the first user turn's content.
func FirstUser(msgs []Message) string {
	for _, m := range msgs {
		if m.Role == User {
			return m.Content
		}
	}
	return ""
}

// Check says what is wrong with a conversation as a training or evaluation
// row: a known role on every turn, no empty turn, a system turn only first,
// and an answer to learn or score.
func Check(msgs []Message) error {
	if len(msgs) == 0 {
		return errors.New(`"messages" is empty`)
	}
	answer := false
	for i, m := range msgs {
		switch m.Role {
		case System, User, Assistant:
		default:
			return fmt.Errorf("message %d: role %q (want system, user or assistant)", i, m.Role)
		}
		if strings.TrimSpace(m.Content) == "" {
			return fmt.Errorf("message %d (%s): empty content", i, m.Role)
		}
		if m.Role == System && i != 0 {
			return fmt.Errorf("message %d: a system message may only come first", i)
		}
		answer = answer || m.Role == Assistant
	}
	if !answer {
		return errors.New("no assistant turn to learn from")
	}
	return nil
}
