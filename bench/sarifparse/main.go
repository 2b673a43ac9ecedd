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
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/ingest"
	"github.com/vulntune/vulntune/internal/ingest/sarif"
)

func main() {
	prof := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.BoolVar(&collect, "collect", false, "keep every finding in memory (Parse) instead of streaming them (Each)")
	flag.IntVar(&repeat, "repeat", 1, "parse the file this many times (steadier figures for small files)")
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

var (
	collect bool
	repeat  int
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func run(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	cpu0, t0 := cpuTime(), time.Now()
	var n int
	for range max(repeat, 1) {
		if n, err = parseOnce(path, info.Size()); err != nil {
			return err
		}
	}
	wall, cpu := time.Since(t0), cpuTime()-cpu0
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	mb := float64(info.Size()) / (1 << 20) * float64(max(repeat, 1))
	mode := "Each (streamed, findings counted)"
	if collect {
		mode = "Parse (every finding kept)"
	}
	fmt.Printf("file        %s (x%d)\n", path, max(repeat, 1))
	fmt.Printf("size        %.1f MB\n", float64(info.Size())/(1<<20))
	fmt.Printf("mode        %s\n", mode)
	fmt.Printf("findings    %d\n", n)
	fmt.Printf("wall        %.2fs  (%.1f MB/s)\n", wall.Seconds(), mb/wall.Seconds())
	fmt.Printf("cpu         %.2fs  (%.1f MB/s per CPU-second)\n", cpu.Seconds(), mb/cpu.Seconds())
	fmt.Printf("peak RSS    %.1f MB\n", float64(ru.Maxrss)/1024)
	return nil
}

func parseOnce(path string, size int64) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	in := ingest.Input{Name: path, Size: size}
	var n int
	var perr error
	if collect {
		var fs []finding.Finding
		fs, perr = sarif.Format{}.Parse(context.Background(), in, f)
		n = len(fs)
		runtime.KeepAlive(fs)
	} else {
		perr = sarif.Format{}.Each(context.Background(), in, f, func(finding.Finding) error {
			n++
			return nil
		})
	}
	if perr != nil {
		return n, fmt.Errorf("parse errors: %w", perr)
	}
	return n, nil
}
