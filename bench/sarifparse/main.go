// Command sarifparse parses one SARIF file with vulntune's SARIF parser and
// prints throughput and peak memory, for bench/sarif-rss.sh.
//
//	go run ./bench/sarifparse [-cpuprofile FILE] FILE
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/vulntune/vulntune/internal/ingest"
)

func main() {
	prof := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: sarifparse [-cpuprofile FILE] FILE")
		os.Exit(2)
	}
	if *prof != "" {
		pf, err := os.Create(*prof)
		if err == nil {
			err = pprof.StartCPUProfile(pf)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "sarifparse:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "sarifparse:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func run(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	cpu0, t0 := cpuTime(), time.Now()
	fs, perr := ingest.SARIF{}.Parse(context.Background(), ingest.Input{Name: path, Size: info.Size()}, f)
	wall, cpu := time.Since(t0), cpuTime()-cpu0
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	mb := float64(info.Size()) / (1 << 20)
	fmt.Printf("file        %s\n", path)
	fmt.Printf("size        %.1f MB\n", mb)
	fmt.Printf("findings    %d\n", len(fs))
	fmt.Printf("wall        %.2fs  (%.1f MB/s)\n", wall.Seconds(), mb/wall.Seconds())
	fmt.Printf("cpu         %.2fs  (%.1f MB/s per CPU-second)\n", cpu.Seconds(), mb/cpu.Seconds())
	fmt.Printf("peak RSS    %.1f MB\n", float64(ru.Maxrss)/1024)
	if perr != nil {
		return fmt.Errorf("parse errors: %w", perr)
	}
	return nil
}
