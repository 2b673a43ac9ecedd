package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// WorkersEnv names the variable that sets how many processes the answering
// ops (evaluate, answer) split their examples over: a number of at least
// 1, or unset (or "auto") for the engine's choice.
const WorkersEnv = "VULNTUNE_ENGINE_WORKERS"

// workersAuto is the choice on a Linux CPU engine with two cores or more.
//
// Two processes with one OpenBLAS thread each decode a request's answers
// about 30% faster than one process with two threads, on the 2-core
// machine (bench/RESULTS.md, "Explain: two engine workers"). In one
// process the cores sit idle or spin: MLX runs its element-wise ops,
// attention's small products and mlx-lm's bookkeeping on one thread
// while OpenBLAS's second thread waits in sched_yield (30% of the CPU
// time went to the kernel), and a decoding step's small matrix products
// (48 rows against each weight matrix, repacked at every call) gain
// little from a second thread. Two processes keep both cores on their
// own work. Larger machines get two workers as well, each with half the
// cores for OpenBLAS; more were not measured.
const workersAuto = 2

// hostWorkers reads WorkersEnv: 0 for the engine's choice, or the number
// it names; an invalid value is reported by Engine.Warnings and ignored.
func hostWorkers(getenv func(string) string) (int, string) {
	v := strings.TrimSpace(getenv(WorkersEnv))
	if v == "" || v == "auto" {
		return 0, ""
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Sprintf("%s=%q is not a number of at least 1 (or auto); the engine chooses", WorkersEnv, v)
	}
	return n, ""
}

// workers returns how many processes answer n examples with the model in
// modelDir, and the OpenBLAS threads each gets ("" leaves OpenBLAS its
// default). A GPU engine (Metal, CUDA) answers in one process: a second
// would share the device, not add one. The engine's own choice also keeps
// one process when the memory available could not hold a second copy of
// the model's weights with room to spare (memoryForWorkers): OLMo-2-1B in
// float32 is 6 GB a copy. A number set in WorkersEnv is used as given.
func (e *Engine) workers(n int, modelDir string) (int, string) {
	w := e.Workers
	if w == 0 {
		w = 1
		if runtime.GOOS == "linux" && e.Backend != BackendCUDA && e.Backend != BackendMetal && runtime.NumCPU() >= 2 &&
			memoryForWorkers(workersAuto, weightBytes(modelDir), memAvailable()) {
			w = workersAuto
		}
	}
	w = min(w, n)
	if w <= 1 {
		return 1, ""
	}
	return w, strconv.Itoa(max(1, runtime.NumCPU()/w))
}

// workerHeadroom is the memory each worker needs beyond twice its weights
// (the KV cache and activations grow with the model: a batch of 48
// SmolLM2 answers over 1,000 tokens holds 2.2 GB of cache, four times its
// weights): the interpreter, MLX and the tokenizer.
const workerHeadroom = 2 << 30

// memoryForWorkers says whether w workers fit: available bytes (-1:
// unknown, taken as enough) hold, for each, twice the weights and the
// headroom.
func memoryForWorkers(w int, weights, available int64) bool {
	return available < 0 || int64(w)*(2*weights+workerHeadroom) <= available
}

// weightBytes is the size of the safetensors files in dir: what loading
// the model puts in memory (0 when dir is "" or holds none).
func weightBytes(dir string) int64 {
	if dir == "" {
		return 0
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	var n int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return n
}

// memAvailable reads MemAvailable from /proc/meminfo: what the kernel
// says can be allocated without swapping; -1 when it cannot be read.
func memAvailable() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return -1
	}
	return parseMemAvailable(string(b))
}

func parseMemAvailable(meminfo string) int64 {
	for _, line := range strings.Split(meminfo, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "MemAvailable:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}

// shards splits n examples over w workers: examples with identical rows
// (the ops answer an identical prompt once) go to one worker, and the
// groups, longest first, are dealt to the worker with the fewest bytes so
// far, so each gets a like share of prompt text.
func shards(examples []json.RawMessage, w int) [][]int {
	groups := map[string][]int{}
	var order []string
	for i, ex := range examples {
		k := string(ex)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	slices.SortStableFunc(order, func(a, b string) int { return cmp.Compare(len(b)*len(groups[b]), len(a)*len(groups[a])) })
	out := make([][]int, w)
	load := make([]int, w)
	for _, k := range order {
		s := 0
		for i := range load {
			if load[i] < load[s] || load[i] == load[s] && len(out[i]) < len(out[s]) {
				s = i
			}
		}
		out[s] = append(out[s], groups[k]...)
		load[s] += len(k) * len(groups[k])
	}
	for i := range out {
		slices.Sort(out[i])
	}
	return slices.DeleteFunc(out, func(s []int) bool { return len(s) == 0 })
}

// pick returns the elements of xs at idx; nil stays nil.
func pick[T any](xs []T, idx []int) []T {
	if xs == nil {
		return nil
	}
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = xs[j]
	}
	return out
}

// shardProgress merges the "progress" events of the workers: each counts
// its own share (done of total for a stage); the caller hears the sums.
type shardProgress struct {
	done, total map[string][]int // stage -> per worker
}

func (p *shardProgress) event(ev Event, worker, workers int) Event {
	var f struct {
		Stage string `json:"stage"`
		Done  *int   `json:"done"`
		Total *int   `json:"total"`
	}
	if ev.Event != "progress" || json.Unmarshal(ev.Raw, &f) != nil || f.Done == nil || f.Total == nil {
		return ev
	}
	if p.done == nil {
		p.done, p.total = map[string][]int{}, map[string][]int{}
	}
	if p.done[f.Stage] == nil {
		p.done[f.Stage], p.total[f.Stage] = make([]int, workers), make([]int, workers)
	}
	p.done[f.Stage][worker], p.total[f.Stage][worker] = *f.Done, *f.Total
	var fields map[string]any
	if json.Unmarshal(ev.Raw, &fields) != nil {
		return ev
	}
	fields["done"], fields["total"] = sum(p.done[f.Stage]), sum(p.total[f.Stage])
	raw, err := json.Marshal(fields)
	if err != nil {
		return ev
	}
	ev.Raw = raw
	return ev
}

func sum(xs []int) int {
	t := 0
	for _, x := range xs {
		t += x
	}
	return t
}

// answering runs an answering op (evaluate, answer) on req, whose
// examples are examples, with the model in modelDir: call(req) in one
// process, or, where workers says so, call(sub(idx)) for each worker's
// share at once (runShards), their summaries merged.
func answering[Req, Sum any](ctx context.Context, e *Engine, req Req, examples []json.RawMessage, modelDir string,
	call func(Req) scriptCall, sub func([]int) Req, merge func([]*Sum) *Sum,
	onItem func(EvaluateItem), onEvent func(Event)) (*Sum, error) {
	op := call(req).Op
	if w, threads := e.workers(len(examples), modelDir); w > 1 {
		parts := shards(examples, w)
		sums, err := runShards(ctx, op, parts, sub, func(ctx context.Context, i int, r Req, h func(Event)) (*Sum, error) {
			out := new(Sum)
			return out, e.runScript(ctx, shardCall(call(r), i, len(parts), threads), h, out)
		}, onItem, onEvent)
		if err != nil {
			return nil, err
		}
		return merge(sums), nil
	}
	itemErr := new(error)
	out := new(Sum)
	if err := e.runScript(ctx, call(req), itemHandler(onItem, onEvent, itemErr), out); err != nil {
		return nil, err
	}
	if *itemErr != nil {
		return nil, &EngineError{Op: op, Code: 0, Message: (*itemErr).Error()}
	}
	return out, nil
}

// runShards answers a request in len(parts) workers at once: parts[i]
// holds the indices of worker i's examples, sub(idx) is the request for
// them and run(ctx, i, req, onEvent) runs it. Items reach onItem with
// their index in the whole request, one at a time (onItem and onEvent are
// never called concurrently), and progress events with the workers'
// counts summed. The first worker to fail cancels the others, and its
// error is returned; the summaries are in worker order.
func runShards[Req, Sum any](ctx context.Context, op string, parts [][]int, sub func([]int) Req,
	run func(ctx context.Context, i int, req Req, onEvent func(Event)) (*Sum, error),
	onItem func(EvaluateItem), onEvent func(Event)) ([]*Sum, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu       sync.Mutex
		progress shardProgress
		wg       sync.WaitGroup
	)
	itemErr := new(error)
	sums := make([]*Sum, len(parts))
	errs := make([]error, len(parts))
	for i, idx := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The worker numbers its items from 0.
			handle := itemHandler(func(it EvaluateItem) {
				if it.Index < 0 || it.Index >= len(idx) {
					*itemErr = errors.Join(*itemErr, fmt.Errorf("worker %d reported item %d of %d", i+1, it.Index, len(idx)))
					return
				}
				it.Index = idx[it.Index]
				if onItem != nil {
					onItem(it)
				}
			}, func(ev Event) {
				if onEvent != nil {
					onEvent(progress.event(ev, i, len(parts)))
				}
			}, itemErr)
			locked := func(ev Event) {
				mu.Lock()
				defer mu.Unlock()
				handle(ev)
			}
			sums[i], errs[i] = run(ctx, i, sub(idx), locked)
			if errs[i] != nil {
				cancel(errs[i])
			}
		}()
	}
	wg.Wait()
	// The first worker to fail cancelled the others: its error is the one.
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return nil, cause
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if *itemErr != nil {
		return nil, &EngineError{Op: op, Code: 0, Message: (*itemErr).Error()}
	}
	return sums, nil
}

// mergeEvaluate combines the workers' summaries of one evaluate request:
// counts add up, the loss is token-weighted over all, and the times are the
// longest worker's (they ran at once).
func mergeEvaluate(sums []*EvaluateSummary) *EvaluateSummary {
	out := *sums[0]
	out.Loss, out.Perplexity = nil, nil
	out.LossTokens, out.Items, out.GenerationTokens, out.ResumedTokens, out.SharedPrefill = 0, 0, 0, 0, 0
	nll := 0.0
	for _, s := range sums {
		out.LossTokens += s.LossTokens
		out.Items += s.Items
		out.GenerationTokens += s.GenerationTokens
		out.ResumedTokens += s.ResumedTokens
		out.SharedPrefill += s.SharedPrefill
		out.ScoreSeconds = max(out.ScoreSeconds, s.ScoreSeconds)
		out.GenerateSeconds = max(out.GenerateSeconds, s.GenerateSeconds)
		out.RepeatCheckSeconds = max(out.RepeatCheckSeconds, s.RepeatCheckSeconds)
		if s.Loss != nil {
			nll += *s.Loss * float64(s.LossTokens)
		}
	}
	if out.LossTokens > 0 {
		loss := nll / float64(out.LossTokens)
		ppl := math.Exp(loss)
		out.Loss, out.Perplexity = &loss, &ppl
	}
	return &out
}

// mergeAnswer combines the workers' summaries of one answer request. Each
// worker processes the shared prefix once, so PromptTokens counts it once
// per worker.
func mergeAnswer(sums []*AnswerSummary) *AnswerSummary {
	out := *sums[0]
	out.Items, out.UniquePrompts, out.PromptTokens, out.GenerationTokens, out.Repetitions = 0, 0, 0, 0, 0
	for _, s := range sums {
		out.Items += s.Items
		out.UniquePrompts += s.UniquePrompts
		out.PromptTokens += s.PromptTokens
		out.GenerationTokens += s.GenerationTokens
		out.Repetitions += s.Repetitions
		out.SharedPrefixTokens = max(out.SharedPrefixTokens, s.SharedPrefixTokens)
		out.LoadSeconds = max(out.LoadSeconds, s.LoadSeconds)
		out.PrefixSeconds = max(out.PrefixSeconds, s.PrefixSeconds)
		out.GenerateSeconds = max(out.GenerateSeconds, s.GenerateSeconds)
	}
	return &out
}

// shardCall names worker i of w in logs and errors ("evaluate-2of2"); the
// module still runs op.
func shardCall(c scriptCall, i, w int, threads string) scriptCall {
	if c.Args == nil {
		c.Args = []string{c.Op}
	}
	c.Op = fmt.Sprintf("%s-%dof%d", c.Op, i+1, w)
	c.Env = append(slices.Clone(c.Env), "OPENBLAS_NUM_THREADS="+threads)
	return c
}
