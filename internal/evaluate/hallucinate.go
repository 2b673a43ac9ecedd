package evaluate

import (
	"strings"

	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/ident"
)

// Ungrounded returns the identifiers answer names (see ident.Ungrounded)
// that appear neither in prompt nor among facts. The facts count as ground
// because they are the finding's own data: naming them is what the accuracy
// metrics reward, not an invention.
func Ungrounded(answer, prompt string, facts dataset.Facts) []string {
	ground := prompt + "\n" + facts.Package + "\n" + facts.FixedVersion + "\n" +
		strings.Join(facts.CWE, "\n") + "\n" + facts.Location
	return ident.Ungrounded(answer, ground)
}
