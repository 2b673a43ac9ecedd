//go:build ignore

// Prints engine.DefaultLoopGuard as the engine's requests carry it (their
// "loop_guard" object), so bench/loopguard-replay.sh replays the guard
// vulntune decodes with instead of a copy of its settings.
// Usage: go run bench/loopguard-spec.go
package main

import (
	"encoding/json"
	"os"

	"github.com/vulntune/vulntune/internal/engine"
)

func main() {
	if err := json.NewEncoder(os.Stdout).Encode(engine.DefaultLoopGuard); err != nil {
		os.Exit(1)
	}
}
