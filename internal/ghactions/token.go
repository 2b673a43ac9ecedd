package ghactions

import (
	"fmt"
	"os"
	"runtime"
	"strings"
)

// TokenFromFile reads a token kept in a file (github.token_file): the
// first line, trimmed. On Unix the file must not be readable by group or
// others, as ssh insists for keys: a token is a password.
func TokenFromFile(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("github token file: %w", err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("github token file %s is readable by others (mode %04o): chmod 600 it", path, info.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("github token file: %w", err)
	}
	tok, _, _ := strings.Cut(string(b), "\n")
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", fmt.Errorf("github token file %s is empty", path)
	}
	return tok, nil
}
