package ingest

import (
	"fmt"
	"io"
)

// Long JSON strings are cut while a report is read: a string longer than
// capMax bytes (as encoded in the file) keeps its first and last capKeep
// bytes with a note of how much was elided between. A 200 MB one-line
// message otherwise costs about ten times its size in memory as it passes
// through decoding, redaction and the spill file; nothing a finding needs
// lies in the middle of such a string.
//
// Runs of whitespace between tokens are cut to capSpace bytes too: padding
// costs nothing to compress, and the SARIF decoder buffers a run of it whole
// (a 1 GB zip entry that was mostly padding took 5 GB).
const (
	capMax   = 64 << 10
	capKeep  = 32 << 10
	capSpace = 4 << 10
)

// capReader rewrites over-long JSON strings in the byte stream it reads, so
// the JSON decoder behind it never holds one whole. It keeps at most
// capKeep bytes of a string at a time. Cuts fall on character boundaries:
// never inside an escape sequence (`\n`, `\u00e9`) nor inside a UTF-8
// sequence, so valid JSON stays valid. Input that does not start like a JSON
// document (after a BOM and whitespace) passes through untouched.
type capReader struct {
	r   io.Reader
	in  []byte
	out []byte // processed bytes not yet returned
	err error
	// elided counts the strings cut so far.
	elided int

	started, off bool // seen the first significant byte; pass-through mode
	inStr        bool
	space        int  // length of the current whitespace run between tokens
	esc          int  // bytes of an escape sequence still to come (after '\', after "\u")
	n            int  // raw bytes of the current string so far
	cutting      bool // past the head of a string longer than capMax so far
	// ring holds the string's bytes after the head (up to capKeep, then
	// the last capKeep); safe marks where a tail may start: outside an
	// escape and not on a UTF-8 continuation byte.
	ring  []byte
	safe  []bool
	rpos  int // next write index in ring once full
	extra int // bytes pushed out of the full ring: the elided middle
}

func newCapReader(r io.Reader) *capReader {
	return &capReader{r: r, in: make([]byte, 32<<10)}
}

func (c *capReader) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.err != nil {
			if c.err == io.EOF && c.inStr && len(c.ring) > 0 {
				// Unterminated string: hand back what is held, the
				// decoder reports the error.
				c.flush()
				continue
			}
			return 0, c.err
		}
		n, err := c.r.Read(c.in)
		c.process(c.in[:n])
		c.err = err
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	if len(c.out) == 0 {
		c.out = c.out[:0:0]
	}
	return n, nil
}

// process appends the rewrite of b to c.out.
func (c *capReader) process(b []byte) {
	if c.off {
		c.out = append(c.out, b...)
		return
	}
	start := 0 // start of the run of b to copy through unchanged
	for i := 0; i < len(b); i++ {
		ch := b[i]
		if !c.inStr {
			if ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' {
				c.space++
				if c.space > capSpace {
					c.out = append(c.out, b[start:i]...)
					start = i + 1
					continue
				}
			} else {
				c.space = 0
			}
		}
		if !c.started {
			switch ch {
			case ' ', '\t', '\r', '\n', 0xEF, 0xBB, 0xBF:
				continue
			case '{', '[', '"':
				c.started = true
			default:
				c.started, c.off = true, true
				c.out = append(c.out, b[start:]...)
				return
			}
		}
		if !c.inStr {
			if ch == '"' {
				c.inStr, c.n, c.esc = true, 0, 0
			}
			continue
		}
		// Inside a string: ch is content unless it is the closing quote.
		if c.esc == 0 && ch == '"' {
			if c.cutting || len(c.ring) > 0 {
				c.out = append(c.out, b[start:i]...)
				start = i
				c.flush()
			}
			c.inStr = false
			continue
		}
		safe := c.esc == 0 && ch&0xC0 != 0x80
		switch {
		case c.esc == 0 && ch == '\\':
			c.esc = 1
		case c.esc == 1 && ch == 'u':
			c.esc = 4
		case c.esc > 0:
			c.esc--
		}
		c.n++
		if c.n <= capKeep || len(c.ring) == 0 && !c.cutting && !safe && c.n <= capKeep+8 {
			// Head, extended to the end of a character cut at capKeep.
			continue
		}
		if len(c.ring) == 0 && !c.cutting {
			// First byte after the head: stop copying through.
			c.out = append(c.out, b[start:i]...)
		}
		c.push(ch, safe)
		start = i + 1
	}
	c.out = append(c.out, b[start:]...)
}

// push adds a byte after the head to the ring.
func (c *capReader) push(ch byte, safe bool) {
	if len(c.ring) < capKeep {
		c.ring = append(c.ring, ch)
		c.safe = append(c.safe, safe)
		return
	}
	c.cutting = true
	c.ring[c.rpos], c.safe[c.rpos] = ch, safe
	c.rpos = (c.rpos + 1) % capKeep
	c.extra++
}

// flush writes what the ring holds: all of it when the string stayed under
// capMax, else the note and the tail from its first safe byte.
func (c *capReader) flush() {
	if !c.cutting {
		c.out = append(c.out, c.ring...)
	} else {
		skip := 0
		for skip < len(c.ring) && !c.safe[(c.rpos+skip)%capKeep] {
			skip++
		}
		c.out = append(c.out, fmt.Sprintf("[… %d bytes elided …]", c.extra+skip)...)
		for i := skip; i < len(c.ring); i++ {
			c.out = append(c.out, c.ring[(c.rpos+i)%capKeep])
		}
		c.elided++
	}
	c.ring, c.safe = c.ring[:0], c.safe[:0]
	c.rpos, c.extra, c.cutting = 0, 0, false
}
