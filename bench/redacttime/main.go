// Command redacttime redacts the whole of one file as a single string and
// prints how long it took, for timing redaction on hostile text (see
// bench/hostile.sh). On SIGTERM or SIGINT it stops the redaction and prints
// how long after the signal it returned.
//
//	go run ./bench/redacttime /tmp/min.css
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vulntune/vulntune/internal/redact"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: redacttime FILE")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "redacttime:", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var signalled atomic.Int64
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-sig
		signalled.Store(time.Now().UnixNano())
		cancel()
	}()
	r := redact.New(nil)
	start := time.Now()
	_, stats, err := r.StringContext(ctx, string(data))
	end := time.Now()
	if errors.Is(err, context.Canceled) {
		fmt.Printf("%d bytes: cancelled after %.2fs, %.3fs after the signal\n",
			len(data), end.Sub(start).Seconds(), end.Sub(time.Unix(0, signalled.Load())).Seconds())
		os.Exit(143)
	}
	fmt.Printf("%d bytes: %.2fs, %d masked\n", len(data), end.Sub(start).Seconds(), stats.Total())
}
