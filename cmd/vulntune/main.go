// Command vulntune turns security-scanner output into a grounded training
// set, fine-tunes a small local model on it and publishes both. This file
// only wires signals and exit codes; every command lives in its own file and
// calls into internal/.
package main

import (
	"context"
	"os"

	"github.com/vulntune/vulntune/internal/interrupt"
)

func main() {
	ctx, stop := interrupt.Context(context.Background())
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
