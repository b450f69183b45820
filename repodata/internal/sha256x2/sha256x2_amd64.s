//go:build amd64 && !purego

#include "textflag.h"

// SHA-256 block functions on the x86 SHA extensions (SHA-NI).
//
// Why two streams: SHA256RNDS2 has a latency of about four cycles but
// can issue about once per cycle, and every round of one message depends
// on the previous one, so a single stream leaves the SHA unit idle most
// of the time. blocks2 runs the rounds of two independent messages in
// alternation, so that each stream's SHA256RNDS2 executes in the other's
// latency shadow; on a latency-bound core that nearly doubles the bytes
// hashed per cycle.
//
// State layout: SHA256RNDS2 wants the working variables split as
// ABEF (A in the high dword, F in the low one) and CDGH. Two rounds turn
// (CDGH, ABEF) into (new ABEF, old ABEF), so the two registers swap
// roles after every SHA256RNDS2 and are back in place after four rounds.
// The state is converted from and to the h[0..7] = a..h order of the Go
// side once per call, not once per block.
//
// Register plan of blocks2 (stream 1 | stream 2):
//
//	X0            W+K for the next two rounds: the implicit operand of
//	              SHA256RNDS2, so the streams take turns writing it
//	              (register renaming removes the false dependency).
//	X1, X2        | X7, X8      ABEF, CDGH
//	X3..X6        | X9..X12     message schedule, W[4i..4i+3] in
//	                            X3+(i%4) | X9+(i%4)
//	X13           | X14         W+K of the current four rounds, then the
//	                            PALIGNR scratch of the schedule
//	X15           byte-swap mask (ABI0 code may clobber X15; the Go
//	              wrapper re-zeroes it on return)
//	0..63(SP)     the state at the start of the block pair, for the
//	              final addition (no free register is left for it)
//	AX, BX        h1, h2; SI, DI: p1, p2; CX: blocks left; R8: &kTab
//
// blocks1 is the same single-stream algorithm, using stream 1's
// registers and keeping the saved state in X7, X8.
//
// Message schedule: for i >= 16, W[i] = σ1(W[i-2]) + W[i-7] +
// σ0(W[i-15]) + W[i-16]. SHA256MSG1 adds the σ0 terms to a group of four
// words three groups before it is needed, PALIGNR+PADDD add W[i-7], and
// SHA256MSG2 adds the σ1 terms (which depend on the group itself, hence
// the separate instruction).

// Byte-swaps each 32-bit lane: message words are big-endian.
DATA flipMask<>+0x00(SB)/8, $0x0405060700010203
DATA flipMask<>+0x08(SB)/8, $0x0c0d0e0f08090a0b
GLOBL flipMask<>(SB), RODATA|NOPTR, $16

// Round constants. Used as 16-byte-aligned PADDD memory operands: the
// linker aligns a 256-byte symbol to at least 16 bytes.
DATA kTab<>+0x00(SB)/4, $0x428a2f98
DATA kTab<>+0x04(SB)/4, $0x71374491
DATA kTab<>+0x08(SB)/4, $0xb5c0fbcf
DATA kTab<>+0x0c(SB)/4, $0xe9b5dba5
DATA kTab<>+0x10(SB)/4, $0x3956c25b
DATA kTab<>+0x14(SB)/4, $0x59f111f1
DATA kTab<>+0x18(SB)/4, $0x923f82a4
DATA kTab<>+0x1c(SB)/4, $0xab1c5ed5
DATA kTab<>+0x20(SB)/4, $0xd807aa98
DATA kTab<>+0x24(SB)/4, $0x12835b01
DATA kTab<>+0x28(SB)/4, $0x243185be
DATA kTab<>+0x2c(SB)/4, $0x550c7dc3
DATA kTab<>+0x30(SB)/4, $0x72be5d74
DATA kTab<>+0x34(SB)/4, $0x80deb1fe
DATA kTab<>+0x38(SB)/4, $0x9bdc06a7
DATA kTab<>+0x3c(SB)/4, $0xc19bf174
DATA kTab<>+0x40(SB)/4, $0xe49b69c1
DATA kTab<>+0x44(SB)/4, $0xefbe4786
DATA kTab<>+0x48(SB)/4, $0x0fc19dc6
DATA kTab<>+0x4c(SB)/4, $0x240ca1cc
DATA kTab<>+0x50(SB)/4, $0x2de92c6f
DATA kTab<>+0x54(SB)/4, $0x4a7484aa
DATA kTab<>+0x58(SB)/4, $0x5cb0a9dc
DATA kTab<>+0x5c(SB)/4, $0x76f988da
DATA kTab<>+0x60(SB)/4, $0x983e5152
DATA kTab<>+0x64(SB)/4, $0xa831c66d
DATA kTab<>+0x68(SB)/4, $0xb00327c8
DATA kTab<>+0x6c(SB)/4, $0xbf597fc7
DATA kTab<>+0x70(SB)/4, $0xc6e00bf3
DATA kTab<>+0x74(SB)/4, $0xd5a79147
DATA kTab<>+0x78(SB)/4, $0x06ca6351
DATA kTab<>+0x7c(SB)/4, $0x14292967
DATA kTab<>+0x80(SB)/4, $0x27b70a85
DATA kTab<>+0x84(SB)/4, $0x2e1b2138
DATA kTab<>+0x88(SB)/4, $0x4d2c6dfc
DATA kTab<>+0x8c(SB)/4, $0x53380d13
DATA kTab<>+0x90(SB)/4, $0x650a7354
DATA kTab<>+0x94(SB)/4, $0x766a0abb
DATA kTab<>+0x98(SB)/4, $0x81c2c92e
DATA kTab<>+0x9c(SB)/4, $0x92722c85
DATA kTab<>+0xa0(SB)/4, $0xa2bfe8a1
DATA kTab<>+0xa4(SB)/4, $0xa81a664b
DATA kTab<>+0xa8(SB)/4, $0xc24b8b70
DATA kTab<>+0xac(SB)/4, $0xc76c51a3
DATA kTab<>+0xb0(SB)/4, $0xd192e819
DATA kTab<>+0xb4(SB)/4, $0xd6990624
DATA kTab<>+0xb8(SB)/4, $0xf40e3585
DATA kTab<>+0xbc(SB)/4, $0x106aa070
DATA kTab<>+0xc0(SB)/4, $0x19a4c116
DATA kTab<>+0xc4(SB)/4, $0x1e376c08
DATA kTab<>+0xc8(SB)/4, $0x2748774c
DATA kTab<>+0xcc(SB)/4, $0x34b0bcb5
DATA kTab<>+0xd0(SB)/4, $0x391c0cb3
DATA kTab<>+0xd4(SB)/4, $0x4ed8aa4a
DATA kTab<>+0xd8(SB)/4, $0x5b9cca4f
DATA kTab<>+0xdc(SB)/4, $0x682e6ff3
DATA kTab<>+0xe0(SB)/4, $0x748f82ee
DATA kTab<>+0xe4(SB)/4, $0x78a5636f
DATA kTab<>+0xe8(SB)/4, $0x84c87814
DATA kTab<>+0xec(SB)/4, $0x8cc70208
DATA kTab<>+0xf0(SB)/4, $0x90befffa
DATA kTab<>+0xf4(SB)/4, $0xa4506ceb
DATA kTab<>+0xf8(SB)/4, $0xbef9a3f7
DATA kTab<>+0xfc(SB)/4, $0xc67178f2
GLOBL kTab<>(SB), RODATA|NOPTR, $256

// h[0..7] = a..h at (ptr) into abef, cdgh. Clobbers t.
// Lanes, low dword first: abef, cdgh = a b c d, e f g h; after the
// PSHUFDs b a d c, h g f e; then ABEF = f e b a (PALIGNR) and
// CDGH = h g d c (PBLENDW).
#define LOADSTATE(ptr, abef, cdgh, t) \
	MOVOU   (ptr), abef;       \
	MOVOU   16(ptr), cdgh;     \
	PSHUFD  $0xb1, abef, abef; \
	PSHUFD  $0x1b, cdgh, cdgh; \
	MOVO    abef, t;           \
	PALIGNR $8, cdgh, abef;    \
	PBLENDW $0xf0, t, cdgh

// The inverse of LOADSTATE: the PSHUFDs give a b e f, g h c d, then
// PBLENDW gives a b c d and PALIGNR e f g h. Clobbers abef, cdgh, t.
#define STORESTATE(ptr, abef, cdgh, t) \
	PSHUFD  $0x1b, abef, abef; \
	PSHUFD  $0xb1, cdgh, cdgh; \
	MOVO    abef, t;           \
	PBLENDW $0xf0, cdgh, abef; \
	PALIGNR $8, t, cdgh;       \
	MOVOU   abef, (ptr);       \
	MOVOU   cdgh, 16(ptr)

// Message words W[4i..4i+3] from off(p) into m.
#define LOADMSG(off, p, m) \
	MOVOU  off(p), m; \
	PSHUFB X15, m

// Four rounds of one stream with message group m and constants at k(R8).
#define ROUNDS4(m, k, abef, cdgh) \
	MOVO        m, X0;         \
	PADDD       k(R8), X0;     \
	SHA256RNDS2 X0, abef, cdgh; \
	PSHUFD      $0x0e, X0, X0; \
	SHA256RNDS2 X0, cdgh, abef

// Four rounds of both streams. The W+K vectors are computed first into
// the per-stream scratch registers so that the streams' SHA256RNDS2
// instructions can alternate while sharing X0.
#define ROUNDS4x2(m1, m2, k) \
	MOVO        m1, X13;        \
	PADDD       k(R8), X13;     \
	MOVO        m2, X14;        \
	PADDD       k(R8), X14;     \
	MOVO        X13, X0;        \
	SHA256RNDS2 X0, X1, X2;     \
	MOVO        X14, X0;        \
	SHA256RNDS2 X0, X7, X8;     \
	PSHUFD      $0x0e, X13, X0; \
	SHA256RNDS2 X0, X2, X1;     \
	PSHUFD      $0x0e, X14, X0; \
	SHA256RNDS2 X0, X8, X7

// next (holding W[i-16..] + σ0 terms) becomes the group after cur:
// add W[i-7..i-4] (straddling prev and cur), then the σ1 terms.
#define SCHED(prev, cur, next, t) \
	MOVO       cur, t;     \
	PALIGNR    $4, prev, t; \
	PADDD      t, next;    \
	SHA256MSG2 cur, next

// func blocks2(h1, h2 *[8]uint32, p1, p2 *byte, n int)
TEXT ·blocks2(SB), NOSPLIT, $64-40
	MOVQ  n+32(FP), CX
	TESTQ CX, CX
	JZ    done2
	MOVQ  h1+0(FP), AX
	MOVQ  h2+8(FP), BX
	MOVQ  p1+16(FP), SI
	MOVQ  p2+24(FP), DI
	LEAQ  kTab<>(SB), R8
	MOVOU flipMask<>(SB), X15
	LOADSTATE(AX, X1, X2, X13)
	LOADSTATE(BX, X7, X8, X14)

loop2:
	MOVOU X1, 0(SP)
	MOVOU X2, 16(SP)
	MOVOU X7, 32(SP)
	MOVOU X8, 48(SP)

	LOADMSG(0, SI, X3)
	LOADMSG(0, DI, X9)
	LOADMSG(16, SI, X4)
	LOADMSG(16, DI, X10)
	LOADMSG(32, SI, X5)
	LOADMSG(32, DI, X11)
	LOADMSG(48, SI, X6)
	LOADMSG(48, DI, X12)

	ROUNDS4x2(X3, X9, 0x00)

	ROUNDS4x2(X4, X10, 0x10)
	SHA256MSG1 X4, X3
	SHA256MSG1 X10, X9

	ROUNDS4x2(X5, X11, 0x20)
	SHA256MSG1 X5, X4
	SHA256MSG1 X11, X10

	ROUNDS4x2(X6, X12, 0x30)
	SCHED(X5, X6, X3, X13)
	SCHED(X11, X12, X9, X14)
	SHA256MSG1 X6, X5
	SHA256MSG1 X12, X11

	ROUNDS4x2(X3, X9, 0x40)
	SCHED(X6, X3, X4, X13)
	SCHED(X12, X9, X10, X14)
	SHA256MSG1 X3, X6
	SHA256MSG1 X9, X12

	ROUNDS4x2(X4, X10, 0x50)
	SCHED(X3, X4, X5, X13)
	SCHED(X9, X10, X11, X14)
	SHA256MSG1 X4, X3
	SHA256MSG1 X10, X9

	ROUNDS4x2(X5, X11, 0x60)
	SCHED(X4, X5, X6, X13)
	SCHED(X10, X11, X12, X14)
	SHA256MSG1 X5, X4
	SHA256MSG1 X11, X10

	ROUNDS4x2(X6, X12, 0x70)
	SCHED(X5, X6, X3, X13)
	SCHED(X11, X12, X9, X14)
	SHA256MSG1 X6, X5
	SHA256MSG1 X12, X11

	ROUNDS4x2(X3, X9, 0x80)
	SCHED(X6, X3, X4, X13)
	SCHED(X12, X9, X10, X14)
	SHA256MSG1 X3, X6
	SHA256MSG1 X9, X12

	ROUNDS4x2(X4, X10, 0x90)
	SCHED(X3, X4, X5, X13)
	SCHED(X9, X10, X11, X14)
	SHA256MSG1 X4, X3
	SHA256MSG1 X10, X9

	ROUNDS4x2(X5, X11, 0xa0)
	SCHED(X4, X5, X6, X13)
	SCHED(X10, X11, X12, X14)
	SHA256MSG1 X5, X4
	SHA256MSG1 X11, X10

	ROUNDS4x2(X6, X12, 0xb0)
	SCHED(X5, X6, X3, X13)
	SCHED(X11, X12, X9, X14)
	SHA256MSG1 X6, X5
	SHA256MSG1 X12, X11

	ROUNDS4x2(X3, X9, 0xc0)
	SCHED(X6, X3, X4, X13)
	SCHED(X12, X9, X10, X14)
	SHA256MSG1 X3, X6
	SHA256MSG1 X9, X12

	ROUNDS4x2(X4, X10, 0xd0)
	SCHED(X3, X4, X5, X13)
	SCHED(X9, X10, X11, X14)

	ROUNDS4x2(X5, X11, 0xe0)
	SCHED(X4, X5, X6, X13)
	SCHED(X10, X11, X12, X14)

	ROUNDS4x2(X6, X12, 0xf0)

	MOVOU 0(SP), X13
	PADDD X13, X1
	MOVOU 16(SP), X13
	PADDD X13, X2
	MOVOU 32(SP), X14
	PADDD X14, X7
	MOVOU 48(SP), X14
	PADDD X14, X8

	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  loop2

	STORESTATE(AX, X1, X2, X13)
	STORESTATE(BX, X7, X8, X14)

done2:
	RET

// func blocks1(h *[8]uint32, p *byte, n int)
TEXT ·blocks1(SB), NOSPLIT, $0-24
	MOVQ  n+16(FP), CX
	TESTQ CX, CX
	JZ    done1
	MOVQ  h+0(FP), AX
	MOVQ  p+8(FP), SI
	LEAQ  kTab<>(SB), R8
	MOVOU flipMask<>(SB), X15
	LOADSTATE(AX, X1, X2, X13)

loop1:
	MOVO X1, X7
	MOVO X2, X8

	LOADMSG(0, SI, X3)
	LOADMSG(16, SI, X4)
	LOADMSG(32, SI, X5)
	LOADMSG(48, SI, X6)

	ROUNDS4(X3, 0x00, X1, X2)

	ROUNDS4(X4, 0x10, X1, X2)
	SHA256MSG1 X4, X3

	ROUNDS4(X5, 0x20, X1, X2)
	SHA256MSG1 X5, X4

	ROUNDS4(X6, 0x30, X1, X2)
	SCHED(X5, X6, X3, X13)
	SHA256MSG1 X6, X5

	ROUNDS4(X3, 0x40, X1, X2)
	SCHED(X6, X3, X4, X13)
	SHA256MSG1 X3, X6

	ROUNDS4(X4, 0x50, X1, X2)
	SCHED(X3, X4, X5, X13)
	SHA256MSG1 X4, X3

	ROUNDS4(X5, 0x60, X1, X2)
	SCHED(X4, X5, X6, X13)
	SHA256MSG1 X5, X4

	ROUNDS4(X6, 0x70, X1, X2)
	SCHED(X5, X6, X3, X13)
	SHA256MSG1 X6, X5

	ROUNDS4(X3, 0x80, X1, X2)
	SCHED(X6, X3, X4, X13)
	SHA256MSG1 X3, X6

	ROUNDS4(X4, 0x90, X1, X2)
	SCHED(X3, X4, X5, X13)
	SHA256MSG1 X4, X3

	ROUNDS4(X5, 0xa0, X1, X2)
	SCHED(X4, X5, X6, X13)
	SHA256MSG1 X5, X4

	ROUNDS4(X6, 0xb0, X1, X2)
	SCHED(X5, X6, X3, X13)
	SHA256MSG1 X6, X5

	ROUNDS4(X3, 0xc0, X1, X2)
	SCHED(X6, X3, X4, X13)
	SHA256MSG1 X3, X6

	ROUNDS4(X4, 0xd0, X1, X2)
	SCHED(X3, X4, X5, X13)

	ROUNDS4(X5, 0xe0, X1, X2)
	SCHED(X4, X5, X6, X13)

	ROUNDS4(X6, 0xf0, X1, X2)

	PADDD X7, X1
	PADDD X8, X2

	ADDQ $64, SI
	DECQ CX
	JNZ  loop1

	STORESTATE(AX, X1, X2, X13)

done1:
	RET

// func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL subleaf+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET
