package rpmfile

import (
	"testing"

	"github.com/rpmirror/rpmirror/repodata"
)

// The expected values below follow createrepo_c 0.17.3's C code
// (src/misc.c cr_str_to_evr, src/parsehdr.c cr_compare_dependency,
// src/xml_dump.c cr_latin1_to_utf8), worked out by hand from it.

func TestSplitEVR(t *testing.T) {
	tests := []struct {
		in              string
		epoch, ver, rel string
		ok              bool
	}{
		{"", "", "", "", true},
		{"1.0", "0", "1.0", "", true},
		{"1.0-2", "0", "1.0", "2", true},
		{"3:1.0-2.el9", "3", "1.0", "2.el9", true},
		{":1.0", "0", "1.0", "", true},         // empty epoch counts as none
		{"0:1.0-1-2", "0", "1.0", "1-2", true}, // release keeps later dashes
		{"1.0-", "0", "1.0", "", true},         // empty release
		{"abc:1.0", "", "", "", false},         // not a number: dependency dropped
		{" 7:1.0", " 7", "1.0", "", true},      // strtol skips leading space
		{"-1:1.0", "-1", "1.0", "", true},      // and takes a sign
		{"1a:1.0", "", "", "", false},
		{"2:", "2", "", "", true},
	}
	for _, tt := range tests {
		e, v, r, ok := splitEVR(tt.in)
		if ok != tt.ok || (ok && (e != tt.epoch || v != tt.ver || r != tt.rel)) {
			t.Errorf("splitEVR(%q) = %q %q %q %v, want %q %q %q %v", tt.in, e, v, r, ok, tt.epoch, tt.ver, tt.rel, tt.ok)
		}
	}
}

func TestCompareLibc(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"libc.so.6(GLIBC_2.3)(64bit)", "libc.so.6(GLIBC_2.34)(64bit)", 2},
		{"libc.so.6(GLIBC_2.34)(64bit)", "libc.so.6(GLIBC_2.4)(64bit)", 1},
		{"libc.so.6(GLIBC_2.4)", "libc.so.6(GLIBC_2.4)", 0},
		{"libc.so.6()(64bit)", "libc.so.6(GLIBC_2.2.5)(64bit)", 2},
		{"libc.so.6", "libc.so.6(GLIBC_2.2.5)(64bit)", 2},
		{"libc.so.6(GLIBC_2.2.5)(64bit)", "libc.so.6", 1},
		{"libc.so.6(GLIBC_PRIVATE)(64bit)", "libc.so.6(GLIBC_2.2.5)(64bit)", 2}, // no digit inside the parentheses
	}
	for _, tt := range tests {
		if got := compareLibc(tt.a, tt.b); got != tt.want {
			t.Errorf("compareLibc(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestCleanText(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"plain", "plain", true},
		{"tab\tnl\ncr\r", "tab\tnl\ncr\r", true},
		{"bell\x07", "", false},
		{"\x1f", "", false},
		{"caf\xc3\xa9", "caf\xc3\xa9", true},       // valid UTF-8 kept
		{"caf\xe9", "caf\xc3\xa9", true},           // Latin-1 é converted
		{"\xa9 2024 \xc0", " 2024 \xc3\x80", true}, // 0x80-0xBF dropped, as createrepo_c does
		{"\xc0\x80", "\xc3\x80", true},             // overlong NUL: not UTF-8 for us; 0x80 dropped
	}
	for _, tt := range tests {
		got, ok := CleanText(tt.in)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("CleanText(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestFlagString(t *testing.T) {
	for f, want := range map[int64]string{0: "", 2: "LT", 4: "GT", 8: "EQ", 10: "LE", 12: "GE", 6: "", 14: "",
		8 | sensePrereq: "EQ", 12 | 1<<24: "GE"} {
		if got := flagString(f); got != want {
			t.Errorf("flagString(%#x) = %q, want %q", f, got, want)
		}
	}
}

func TestIsPrimaryFile(t *testing.T) {
	for path, want := range map[string]bool{
		"/etc/foo":            true,
		"/etc":                false,
		"/usr/bin/x":          true,
		"/opt/foo/sbin/x":     true,
		"/usr/lib/bin/y":      true,
		"/usr/lib/sendmail":   true,
		"/usr/lib/sendmail.d": false,
		"/usr/share/cabin":    false, // "bin" without the slash
		"/usr/share/cabin/x":  true,  // "bin/" anywhere, even mid-word
		"/usr/lib64/libz.so":  false,
	} {
		if got := repodata.IsPrimaryFile(path); got != want {
			t.Errorf("IsPrimaryFile(%q) = %v, want %v", path, got, want)
		}
	}
}
