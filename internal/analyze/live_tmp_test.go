package analyze_test
import ("testing";"context";"fmt";"os";"log/slog";"time";"github.com/vulntune/vulntune/internal/analyze";"github.com/vulntune/vulntune/internal/finding")
func TestLiveTmp(t *testing.T){
 fs := []finding.Finding{loadFinding(t,"finding-dependency.json"), loadFinding(t,"finding-benign.json"), loadFinding(t,"finding-injection.json")}
 dir := "/tmp/analyze-live-cache"
 a := analyze.New(analyze.Options{Endpoint:"http://127.0.0.1:18931/v1", Model:"/tmp/smol/out/SmolLM2-135M-Instruct", Timeout: 4*time.Minute, Retries: -1, Concurrency: 1, CacheDir: dir, References: refs, MaxTokens: 300,
   Logger: slog.New(slog.NewTextHandler(os.Stderr,nil))})
 got, st, err := a.Analyze(context.Background(), fs, func(d, n int){ fmt.Println("progress", d, n, time.Now().Format(time.TimeOnly)) })
 fmt.Printf("err=%v stats=%+v perMin=%.2f\n", err, st, st.PerMinute())
 for k,v := range got { fmt.Println(k, v.Summary) }
}
