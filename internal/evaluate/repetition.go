package evaluate

import (
	"strings"
	"unicode"
)

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

// RepeatedLine returns the line of text, read as StepText reads it (its
// list marker aside, as the loop guard's item rule reads lines too),
// that occurs most often among those of at least three words, and how
// often; "" and 0 when no such line occurs twice. Reference answers repeat
// no line of three words (TestReferenceAnswersDoNotRepeat); the degenerate
// tuned answers that issue 16 reports repeat one to the length bound, and
// one wrote two fix steps by turns, numbered on ("4. Follow …", "5.
// Address …", "6. Follow …"), which only a reading without the numbers
// counts.
func RepeatedLine(text string) (string, int) {
	counts := map[string]int{}
	best, most := "", 1
	for _, l := range strings.Split(text, "\n") {
		l = StepText(l)
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

// RepeatedWordCount is how many times in a row a word must be written for
// the answer to count as repeating itself (Metrics.RepetitionShare): the
// demo's model answered a flawfinder finding "The product buffer buffer
// buffer … is overwritten by another buffer buffer …", fifteen times in
// one line, which no line count sees and the loop guard's shortest span
// (16 tokens) did not reach; its word rule (engine.LoopGuard.WordRun) now
// masks a third copy, so a guarded answer that still scores here is one
// whose prompt writes the run. Reference answers never write a word three
// times in a row.
const RepeatedWordCount = 4

// RepeatedWord returns the word of text written most times in a row, case
// aside, with nothing but blanks, line breaks and commas between ("untrusted,
// untrusted, untrusted"), and how many; "" and 0 when no word comes twice
// in a row. Numbers are no words: a version table's "0 0 0" is data.
func RepeatedWord(text string) (string, int) {
	best, most := "", 1
	prev, run := "", 0
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' || r == '\r' }) {
		w = strings.ToLower(w)
		if !isWord(w) {
			prev, run = "", 0
			continue
		}
		if w == prev {
			run++
		} else {
			prev, run = w, 1
		}
		if run > most {
			best, most = w, run
		}
	}
	if most < 2 {
		return "", 0
	}
	return best, most
}

// isWord: letters only, so punctuation ends a run ("buffer." is not
// "buffer") and numbers are left out.
func isWord(w string) bool {
	for _, r := range w {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return w != ""
}
