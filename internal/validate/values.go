package validate

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// sampleBytes is how much of each tensor is read at its start, middle and
// end. A NaN from a diverged run fills whole tensors, so three windows find
// it without reading gigabytes.
const sampleBytes = 4096

// checkValues samples every floating-point tensor for NaN and Inf.
func checkValues(r *Report, dir string, shards []shard) {
	var bad []string
	sampled := 0
	for _, s := range shards {
		f, err := os.Open(filepath.Join(dir, s.name))
		if err != nil {
			r.add(GroupArtifact, "no NaN/Inf", Fail, "open %s: %v", s.name, err)
			return
		}
		names := make([]string, 0, len(s.header.Tensors))
		for n := range s.header.Tensors {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			t := s.header.Tensors[name]
			size := map[string]int64{"F32": 4, "F16": 2, "BF16": 2}[t.DType]
			if size == 0 {
				continue
			}
			sampled++
			start := s.header.DataOffset + t.DataOffsets[0]
			n := t.DataOffsets[1] - t.DataOffsets[0]
			if idx, err := firstNonFinite(f, start, n, size, t.DType); err != nil {
				bad = append(bad, fmt.Sprintf("%s:%s (%v)", s.name, name, err))
			} else if idx >= 0 {
				bad = append(bad, fmt.Sprintf("%s:%s (element %d)", s.name, name, idx))
			}
		}
		f.Close()
	}
	if len(bad) > 0 {
		r.add(GroupArtifact, "no NaN/Inf", Fail, "NaN or Inf in %s", strings.Join(bad, ", "))
		return
	}
	r.add(GroupArtifact, "no NaN/Inf", Pass, "%d tensors sampled (start, middle, end)", sampled)
}

// firstNonFinite returns the index of the first NaN or Inf element found in
// the sampled windows of a tensor of n bytes at off, or -1.
func firstNonFinite(f *os.File, off, n, size int64, dtype string) (int64, error) {
	windows := []int64{0, (n / 2) / size * size, n - sampleBytes}
	buf := make([]byte, sampleBytes)
	for _, w := range windows {
		w = max(0, w/size*size)
		m := min(int64(sampleBytes), n-w)
		if m <= 0 {
			continue
		}
		if _, err := f.ReadAt(buf[:m], off+w); err != nil {
			return -1, fmt.Errorf("read at %d: %w", off+w, err)
		}
		for i := int64(0); i+size <= m; i += size {
			if nonFinite(buf[i:i+size], dtype) {
				return (w + i) / size, nil
			}
		}
	}
	return -1, nil
}

// nonFinite tests the exponent bits: all ones means Inf or NaN in every
// IEEE-style float format.
func nonFinite(b []byte, dtype string) bool {
	switch dtype {
	case "F32":
		return binary.LittleEndian.Uint32(b)&0x7f800000 == 0x7f800000
	case "F16":
		return binary.LittleEndian.Uint16(b)&0x7c00 == 0x7c00
	case "BF16":
		return binary.LittleEndian.Uint16(b)&0x7f80 == 0x7f80
	}
	return false
}
