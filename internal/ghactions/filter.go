package ghactions

import (
	"fmt"
	"strings"
)

// Eligible says whether a run's artifacts may be read: the run completed
// successfully and its code came from the repository itself. A run whose
// head repository is another one (a fork's pull request, whatever the
// event) ran code and produced artifacts that anyone could control, so it
// is refused unless allowForks. The reason says why a run is refused.
func Eligible(r Run, allowForks bool) (ok bool, reason string) {
	switch {
	case r.Status != "completed":
		return false, fmt.Sprintf("status %q, not completed", r.Status)
	case r.Conclusion != "success":
		return false, fmt.Sprintf("conclusion %q, not success", r.Conclusion)
	case allowForks:
		return true, ""
	case r.HeadRepo == "":
		return false, "head repository unknown (deleted fork?): its artifacts could be attacker-controlled"
	case !strings.EqualFold(r.HeadRepo, r.Repo):
		return false, fmt.Sprintf("%s run from %s, not %s: a fork's artifacts are attacker-controlled (allow with github.allow_forks)", r.Event, r.HeadRepo, r.Repo)
	}
	return true, ""
}
