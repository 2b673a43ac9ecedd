package daemon

import (
	"bytes"
	"context"
	"io"
	"os"
	"strconv"
	"time"
)

// LogsCommand is the command that shows a systemd unit's journal: the
// last n lines, and with follow new ones as they come.
func LogsCommand(sf ServiceFile, n int, follow bool) []string {
	argv := append(append([]string(nil), sf.Logs...), "--lines", strconv.Itoa(n), "--no-pager")
	if follow {
		argv = append(argv, "--follow")
	}
	return argv
}

// TailFile writes the last n lines of the log file launchd writes, then,
// with follow, what is appended until ctx is done.
func TailFile(ctx context.Context, path string, n int, follow bool, w io.Writer, clock interface {
	Sleep(context.Context, time.Duration) error
}) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	// Read back from the end until n line breaks are found.
	const chunk = 64 << 10
	var tail []byte
	off := size
	for off > 0 && bytes.Count(tail, []byte("\n")) <= n {
		step := min(chunk, off)
		off -= step
		buf := make([]byte, step)
		if _, err := f.ReadAt(buf, off); err != nil {
			return err
		}
		tail = append(buf, tail...)
	}
	lines := bytes.SplitAfter(tail, []byte("\n"))
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if _, err := w.Write(bytes.Join(lines, nil)); err != nil {
		return err
	}
	if !follow {
		return nil
	}
	pos := size
	for {
		if err := clock.Sleep(ctx, time.Second); err != nil {
			return nil
		}
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if st.Size() < pos { // rotated or truncated
			pos = 0
		}
		if st.Size() > pos {
			if _, err := io.Copy(w, io.NewSectionReader(f, pos, st.Size()-pos)); err != nil {
				return err
			}
			pos = st.Size()
		}
	}
}
