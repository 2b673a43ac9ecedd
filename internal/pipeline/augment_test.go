package pipeline_test

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/augment"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/ident"
	"github.com/vulntune/vulntune/internal/pipeline"
)

// TestAugmentationKeepsTheSplitLeakFree builds the sample and corpus
// datasets with and without identifier augmentation: validation and test
// are byte for byte the same, every original training example is still
// there, every copy is in the training split and in its original's group,
// no copy names a package, path or vulnerability id of a held-out example,
// and the dataset's own leak check (no exact or near duplicate across
// splits) passes on what was written.
func TestAugmentationKeepsTheSplitLeakFree(t *testing.T) {
	t.Parallel()
	for _, src := range []string{"../../examples/artifacts", "../../examples/corpus"} {
		t.Run(filepath.Base(src), func(t *testing.T) {
			t.Parallel()
			build := func(a pipeline.Augmentation) (string, *pipeline.DatasetResult) {
				out := filepath.Join(t.TempDir(), "dataset")
				res, err := pipeline.BuildDataset(context.Background(), pipeline.DatasetOptions{
					ArtifactPaths: []string{src}, OutDir: out, MaxPerRule: 10,
					Split:   dataset.SplitOptions{ValidFraction: 0.2, TestFraction: 0.1, Seed: 42},
					Augment: a,
				})
				if err != nil {
					t.Fatal(err)
				}
				return out, res
			}
			plain, pres := build(pipeline.Augmentation{})
			cat := augment.Default()
			cat.EcosystemShare = 0.5 // moves are opt-in; the split must stay leak-free with them
			cat.FixShare = 0.5       // and with copies that gain a fix
			cat.CWEDropShare = 0.5   // or lose their CWE
			cat.LineDropShare = 0.5  // or line
			// and with balanced moves beside them
			aug, ares := build(pipeline.Augmentation{Copies: 1, MaxCopies: 3, EcosystemCopies: 2, Catalogue: cat})
			if ares.Examples != pres.Examples || ares.Copies == 0 || pres.Copies != 0 {
				t.Errorf("examples %d and %d, copies %d and %d: want the same examples and copies only with augmentation", pres.Examples, ares.Examples, pres.Copies, ares.Copies)
			}
			for _, f := range []string{"valid.jsonl", "test.jsonl"} {
				a, _ := os.ReadFile(filepath.Join(plain, f))
				b, _ := os.ReadFile(filepath.Join(aug, f))
				if len(a) == 0 || !bytes.Equal(a, b) {
					t.Errorf("%s differs with augmentation (or is empty)", f)
				}
			}
			pt, _ := os.ReadFile(filepath.Join(plain, "train.jsonl"))
			at, _ := os.ReadFile(filepath.Join(aug, "train.jsonl"))
			for _, line := range strings.Split(strings.TrimSpace(string(pt)), "\n") {
				if !bytes.Contains(at, []byte(line)) {
					t.Errorf("an original training example is missing with augmentation: %.80s", line)
				}
			}

			exs, err := dataset.Read(aug)
			if err != nil {
				t.Fatal(err)
			}
			if p := dataset.CheckExamples(exs, 0); len(p) > 0 {
				t.Errorf("the augmented dataset fails its checks: %v", p)
			}
			byID := map[string]dataset.Example{}
			held := map[string]bool{}
			for _, e := range exs {
				byID[e.Meta.FindingID] = e
				if e.Meta.Split == dataset.Train {
					continue
				}
				for _, v := range []string{e.Meta.Facts.Package, e.Meta.Facts.Location} {
					if identifying(v) {
						held[v] = true
					}
				}
				for _, id := range ident.VulnRE.FindAllString(e.User(), -1) {
					held[strings.ToUpper(id)] = true
				}
			}
			copies := 0
			for _, e := range exs {
				if e.Meta.AugmentOf == "" {
					continue
				}
				copies++
				orig, ok := byID[e.Meta.AugmentOf]
				switch {
				case !ok:
					t.Errorf("copy %s of %s: no such original", e.Meta.FindingID, e.Meta.AugmentOf)
				case e.Meta.Split != dataset.Train || orig.Meta.Split != dataset.Train || e.Meta.Group != orig.Meta.Group:
					t.Errorf("copy %s in %s group %s, its original in %s group %s", e.Meta.FindingID, e.Meta.Split, e.Meta.Group, orig.Meta.Split, orig.Meta.Group)
				}
				for _, v := range []string{e.Meta.Facts.Package, e.Meta.Facts.Location} {
					if v != "" && held[v] {
						t.Errorf("copy %s names %q of a held-out example", e.Meta.FindingID, v)
					}
				}
				for _, id := range ident.VulnRE.FindAllString(e.User(), -1) {
					if held[strings.ToUpper(id)] {
						t.Errorf("copy %s names %s of a held-out example", e.Meta.FindingID, id)
					}
				}
			}
			if copies != ares.Copies || copies != ares.Stats.Augmentation.Added {
				t.Errorf("%d copies read back, %d reported, %d in stats", copies, ares.Copies, ares.Stats.Augmentation.Added)
			}
			// The samples' OS packages (Trivy, in an image) have no fix;
			// their copies that gained one are counted, and not as moves.
			if src == "../../examples/artifacts" && ares.Stats.Augmentation.GainedFix == 0 {
				t.Errorf("no copy gained a fix")
			}
			if _, ok := ares.Stats.Augmentation.Moved["debian"]; ok {
				t.Errorf("copies that gained a fix counted as moved: %v", ares.Stats.Augmentation.Moved)
			}
			if len(ares.Stats.Augmentation.Moved) < 3 {
				t.Errorf("copies moved to %v: want several ecosystems", ares.Stats.Augmentation.Moved)
			}
			t.Logf("%d examples, %d copies, skipped %v, mix %v -> %v, moved %v, gained a fix %d", ares.Examples, copies, ares.Stats.Augmentation.Skipped,
				ares.Stats.Augmentation.Before, ares.Stats.Augmentation.After, ares.Stats.Augmentation.Moved, ares.Stats.Augmentation.GainedFix)
		})
	}
}

// TestEcosystemCopiesBalance: dataset.augment.ecosystem_copies gives each
// movable dependency example of the samples (all Maven's) that many more
// copies, every one moved, spread evenly over the other ecosystems, so
// Maven is no longer most of the training split's dependency examples;
// the answers of those copies give their own ecosystem's fix, and the
// card says what the mix was.
func TestEcosystemCopiesBalance(t *testing.T) {
	t.Parallel()
	build := func(ec int) *dataset.Augmentation {
		out := filepath.Join(t.TempDir(), "dataset")
		res, err := pipeline.BuildDataset(context.Background(), pipeline.DatasetOptions{
			ArtifactPaths: []string{"../../examples/artifacts"}, OutDir: out, MaxPerRule: 10,
			Split:   dataset.SplitOptions{ValidFraction: 0.2, Seed: 42},
			Augment: pipeline.Augmentation{Copies: 1, MaxCopies: 3, EcosystemCopies: ec, Catalogue: augment.Default()},
		})
		if err != nil {
			t.Fatal(err)
		}
		card, err := os.ReadFile(filepath.Join(out, "README.md"))
		if err != nil {
			t.Fatal(err)
		}
		if ec > 0 && !strings.Contains(string(card), "Training dependency examples by ecosystem") {
			t.Errorf("the card does not give the ecosystems' mix")
		}
		return res.Stats.Augmentation
	}
	plain, bal := build(0), build(3)
	share := func(a *dataset.Augmentation, eco string) float64 {
		n := 0
		for _, v := range a.Ecosystems {
			n += v
		}
		return float64(a.Ecosystems[eco]) / float64(n)
	}
	if ps, bs := share(plain, "maven"), share(bal, "maven"); bs >= ps || bs > 0.3 {
		t.Errorf("maven's share of training dependency examples %.2f -> %.2f with 3 ecosystem copies: want it to fall below 0.3", ps, bs)
	}
	lo, hi := 1<<30, 0
	for _, e := range augment.DefaultEcosystems {
		if e == "maven" {
			continue
		}
		n := bal.Moved[e]
		lo, hi = min(lo, n), max(hi, n)
	}
	if lo == 0 || hi-lo > 2 {
		t.Errorf("moved copies by ecosystem %v: want every one of %v within 2 of the others", bal.Moved, augment.DefaultEcosystems)
	}
	if bal.Added <= plain.Added || bal.EcosystemCopies != 3 {
		t.Errorf("copies %d -> %d (ecosystem copies %d): want more", plain.Added, bal.Added, bal.EcosystemCopies)
	}
	t.Logf("ecosystems %v -> %v; moved %v -> %v", plain.Ecosystems, bal.Ecosystems, plain.Moved, bal.Moved)
}

// TestDirectoryShare: with dataset.augment.directory_share some moved
// copies of the samples' lock-file findings are located at the lock
// file's directory; stats.json counts them, the card says so, every copy
// passes the example checks, and share 0 leaves every moved copy in a
// lock file.
func TestDirectoryShare(t *testing.T) {
	t.Parallel()
	build := func(share float64) (*dataset.Augmentation, []dataset.Example, string) {
		out := filepath.Join(t.TempDir(), "dataset")
		cat := augment.Default()
		cat.DirectoryShare = share
		res, err := pipeline.BuildDataset(context.Background(), pipeline.DatasetOptions{
			ArtifactPaths: []string{"../../examples/artifacts"}, OutDir: out, MaxPerRule: 10,
			Split:   dataset.SplitOptions{ValidFraction: 0.2, Seed: 42},
			Augment: pipeline.Augmentation{Copies: 1, MaxCopies: 3, EcosystemCopies: 1, Catalogue: cat},
		})
		if err != nil {
			t.Fatal(err)
		}
		card, err := os.ReadFile(filepath.Join(out, "README.md"))
		if err != nil {
			t.Fatal(err)
		}
		exs, err := dataset.Read(out)
		if err != nil {
			t.Fatal(err)
		}
		return res.Stats.Augmentation, exs, string(card)
	}
	st, exs, card := build(0.5)
	moved := 0
	for _, n := range st.Moved {
		moved += n
	}
	if st.InDirectory == 0 || st.InDirectory >= moved {
		t.Errorf("%d copies in a directory of %d moved: want some, not all", st.InDirectory, moved)
	}
	if !strings.Contains(card, "located at their lock file's directory") {
		t.Errorf("the card does not count the copies in a directory")
	}
	if p := dataset.CheckExamples(exs, 0); len(p) > 0 {
		t.Errorf("the dataset fails its checks: %v", p)
	}
	if st0, _, card0 := build(0); st0.InDirectory != 0 || strings.Contains(card0, "lock file's directory") {
		t.Errorf("share 0: %d copies in a directory", st0.InDirectory)
	}
}

// identifying says whether a fact names a project: a package, a path with
// a directory or a file of its own, a URL of a host other than the local
// machine. A bare build file (package.json), a language (trivy's "Java"
// target) or http://localhost:8080 is every project's.
func identifying(v string) bool {
	switch {
	case v == "":
		return false
	case strings.Contains(v, "://"):
		u, err := url.Parse(v)
		return err == nil && u.Hostname() != "localhost" && u.Hostname() != "127.0.0.1"
	case !strings.Contains(v, "/") && (ident.KnownFiles[strings.ToLower(v)] || !ident.IsPath(v)):
		return false
	}
	return true
}
