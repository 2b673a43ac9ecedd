package evaluate

import "strings"

// Finish reasons of an answer (engine.EvaluateItem.FinishReason).
const (
	// FinishStop: the model ended the answer (end of sequence).
	FinishStop = "stop"
	// FinishLength: the answer reached the length bound.
	FinishLength = "length"
	// FinishRepetition: the engine stopped the answer because its tail
	// repeated one cycle (engine.RepeatStop).
	FinishRepetition = "repetition"
)

// RepeatedLineCount is how often a line must occur in an answer for the
// answer to count as repeating itself (Metrics.RepetitionShare).
const RepeatedLineCount = 3

// repeatedLineWords is the fewest words a line needs to count: answers
// repeat their code fences, closing braces and `else`/`fi;` lines
// legitimately (reference answers have up to eight "```" lines and three
// "}" ones), and a sentence repeated three times is never legitimate.
const repeatedLineWords = 3

// RepeatedLine returns the line of text, trimmed, that occurs most often
// among those of at least three words, and how often; "" and 0 when no
// such line occurs twice. Reference answers repeat no line of three words
// (TestReferenceAnswersDoNotRepeat); the degenerate tuned answers that
// issue 16 reports repeat one to the length bound.
func RepeatedLine(text string) (string, int) {
	counts := map[string]int{}
	best, most := "", 1
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if len(strings.Fields(l)) < repeatedLineWords {
			continue
		}
		counts[l]++
		if n := counts[l]; n > most || (n == most && n > 1 && l < best) {
			best, most = l, n
		}
	}
	if most < 2 {
		return "", 0
	}
	return best, most
}
