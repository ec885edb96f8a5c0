//go:build amd64 && !purego && !linux

package cpu

// requestAMX is false off Linux: the tile state is not requested there.
func requestAMX() bool { return false }

func releasePages([]byte) {}

func discardPages([]byte) {}
