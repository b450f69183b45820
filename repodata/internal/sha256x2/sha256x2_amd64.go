//go:build amd64 && !purego

package sha256x2

import "golang.org/x/sys/cpu"

// blocks2 compresses n 64-byte blocks from p1 into h1 and n from p2 into
// h2, the two streams interleaved.
//
//go:noescape
func blocks2(h1, h2 *[8]uint32, p1, p2 *byte, n int)

// blocks1 compresses n 64-byte blocks from p into h.
//
//go:noescape
func blocks1(h *[8]uint32, p *byte, n int)

func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)

// cpuSupported checks for SHA-NI (with the SSSE3 PSHUFB and SSE4.1
// PBLENDW the block functions also use). x/sys/cpu does not report the
// SHA extensions, hence the CPUID here: leaf 7, EBX bit 29.
func cpuSupported() bool {
	if !cpu.X86.HasSSSE3 || !cpu.X86.HasSSE41 {
		return false
	}
	if maxLeaf, _, _, _ := cpuid(0, 0); maxLeaf < 7 {
		return false
	}
	_, ebx, _, _ := cpuid(7, 0)
	return ebx&(1<<29) != 0
}
