// Package bytesize parses the sizes benchmark generators take on their
// command line ("500MB", "1GB", "64KB", or bytes).
package bytesize

import (
	"fmt"
	"strconv"
	"strings"
)

// Parse reads a positive size with an optional KB, MB or GB suffix
// (powers of 1024).
func Parse(s string) (int64, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return v * mult, nil
}
