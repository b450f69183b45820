//go:build !amd64 || purego

package sha256x2

// Without the assembly every Digest wraps crypto/sha256, so the block
// functions are never called.

func cpuSupported() bool { return false }

func blocks2(h1, h2 *[8]uint32, p1, p2 *byte, n int) {
	panic("sha256x2: no assembly on this platform")
}

func blocks1(h *[8]uint32, p *byte, n int) {
	panic("sha256x2: no assembly on this platform")
}
