//go:build !unix

package engine

import "errors"

func diskFree(string) (uint64, error) {
	return 0, errors.New("free space not available on this platform")
}
