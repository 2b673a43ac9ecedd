package report_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vulntune/vulntune/internal/report"
)

// chromium finds a Chromium or Chrome binary ($VULNTUNE_CHROME first).
func chromium() string {
	if p := os.Getenv("VULNTUNE_CHROME"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestReportInBrowser opens the reports of a complete and a skipped run in
// headless Chromium with JavaScript off, as file:// pages: nothing logs an
// error or throws, the charts and tables are laid out with a size, and a
// screenshot of each is kept in the test's temp dir.
func TestReportInBrowser(t *testing.T) {
	bin := chromium()
	if bin == "" {
		t.Skip("no Chromium or Chrome binary found (apt-get install chromium, or set VULNTUNE_CHROME): the browser check needs one")
	}
	complete, _ := completeRun(t)
	runs := []struct {
		name         string
		dir          string
		svgs, tables int
	}{
		{"complete", complete, 2, 12},
		{"skip-fine-tuning", skippedRun(t), 1, 7},
	}
	shots := t.TempDir()
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.Flag("no-sandbox", true), chromedp.Flag("blink-settings", "scriptEnabled=false"),
		chromedp.WindowSize(1280, 900))...)
	defer cancel()
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			page := filepath.Join(r.dir, report.FileName)
			if err := report.WriteFile(page, report.Options{RunDir: r.dir}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := chromedp.NewContext(alloc)
			defer cancel()
			ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
			defer cancelT()
			// Every console message, exception and browser log entry
			// (a blocked or failed load among them) while the page loads.
			mctx, stop := context.WithCancel(ctx)
			msgs := chromedp.Console(mctx)
			var problems []string
			done := make(chan struct{})
			go func() {
				defer close(done)
				for m, err := range msgs {
					if err != nil {
						return
					}
					if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
						problems = append(problems, m.String())
					}
				}
			}()
			if err := chromedp.Do(ctx, chromedp.Navigate("file://"+page), chromedp.WaitReady(chromedp.CSS("main"))); err != nil {
				t.Fatalf("browser: %v", err)
			}
			// The page runs no script (and the browser runs none): what is
			// counted is read through the DOM, not by script in the page.
			title, err := chromedp.Run(ctx, chromedp.Title())
			if err != nil {
				t.Fatal(err)
			}
			svgs, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("svg")))
			if err != nil {
				t.Fatal(err)
			}
			tables, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("table")))
			if err != nil {
				t.Fatal(err)
			}
			box, err := chromedp.Run(ctx, chromedp.Dimensions(chromedp.CSS("svg")))
			if err != nil {
				t.Fatal(err)
			}
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond) // late messages
			stop()
			<-done
			shot := filepath.Join(shots, r.name+".png")
			if err := os.WriteFile(shot, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot: %s (%d bytes)", shot, len(png))
			if len(problems) > 0 {
				t.Errorf("the page logged errors:\n%s", strings.Join(problems, "\n"))
			}
			if !strings.HasPrefix(title, "vulntune run report") {
				t.Errorf("title %q", title)
			}
			if len(svgs) != r.svgs || len(tables) < r.tables {
				t.Errorf("%d charts and %d tables rendered, want %d and at least %d", len(svgs), len(tables), r.svgs, r.tables)
			}
			if box.Width < 300 || box.Height < 50 {
				t.Errorf("first chart is %dx%dpx: not laid out", box.Width, box.Height)
			}
			if len(png) < 10_000 || string(png[1:4]) != "PNG" {
				t.Errorf("screenshot is %d bytes, not a page", len(png))
			}
		})
	}
}
