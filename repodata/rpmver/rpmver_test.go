package rpmver

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/rpmirror/rpmirror/repodata/rpmtest/testenv"
)

// cases are checked against the real rpm (rpmdev-vercmp is not in
// Debian; `rpm --eval '%{lua: print(rpm.vercmp(a, b))}'` is) by
// TestAgainstRPM, so they are not our own guesses.
var cases = []struct {
	a, b string
	want int
}{
	{"1.0", "1.0", 0}, {"1.0", "2.0", -1}, {"2.0", "1.0", 1},
	{"2.0.1", "2.0.1", 0}, {"2.0", "2.0.1", -1}, {"2.0.1a", "2.0.1", 1},
	{"5.5p1", "5.5p1", 0}, {"5.5p1", "5.5p2", -1}, {"5.5p10", "5.5p1", 1},
	{"10xyz", "10.1xyz", -1}, {"xyz10", "xyz10", 0}, {"xyz.4", "8", -1}, {"8", "xyz.4", 1},
	{"5.5p2", "5.6p1", -1}, {"6.0.rc1", "6.0", 1}, {"10b2", "10a1", 1}, {"10a2", "10b2", -1},
	{"1.0a", "1.0aa", -1}, {"10.0001", "10.1", 0}, {"10.0001", "10.0039", -1}, {"4.999.9", "5.0", -1},
	{"20101121", "20101122", -1}, {"2_0", "2_0", 0}, {"2.0", "2_0", 0}, {"a+", "a_", 0}, {"+_", "_+", 0},
	{"1.0~rc1", "1.0", -1}, {"1.0~rc1", "1.0~rc2", -1}, {"1.0~rc1~git123", "1.0~rc1", -1},
	{"1.0^", "1.0", 1}, {"1.0^git1", "1.0", 1}, {"1.0^git1", "1.0^git2", -1}, {"1.0^git1", "1.01", -1},
	{"1.0^20160101", "1.0.1", -1}, {"1.0~rc1^git1", "1.0~rc1", 1}, {"1.0^git1~pre", "1.0^git1", -1},
	{"", "", 0}, {"", "1", -1}, {"a", "1", -1}, {"1", "a", 1}, {"2.34", "2.4", 1}, {"GLIBC_2.34", "GLIBC_2.4", 1},
}

func TestCompare(t *testing.T) {
	for _, c := range cases {
		if got := Compare(c.a, c.b); got != c.want {
			t.Errorf("Compare(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := Compare(c.b, c.a); got != -c.want {
			t.Errorf("Compare(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

// TestAgainstRPM asks the real rpm for every case.
func TestAgainstRPM(t *testing.T) {
	rpm := testenv.RequireTool(t, "rpm")
	var checked []int // rpm.vercmp refuses empty versions
	var lua strings.Builder
	lua.WriteString("%{lua:")
	for i, c := range cases {
		if c.a == "" || c.b == "" {
			continue
		}
		checked = append(checked, i)
		lua.WriteString("print(rpm.vercmp(" + strconv.Quote(c.a) + "," + strconv.Quote(c.b) + ")..' ')")
	}
	lua.WriteString("}")
	cmd := exec.Command(rpm, "--eval", lua.String())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("rpm --eval: %v\n%s", err, stderr.String())
	}
	got := strings.Fields(string(out))
	if len(got) != len(checked) {
		t.Fatalf("rpm printed %d results for %d cases: %q", len(got), len(checked), out)
	}
	for k, i := range checked {
		c := cases[i]
		if want := strconv.Itoa(c.want); got[k] != want {
			t.Errorf("rpm says vercmp(%q, %q) = %s, table says %d", c.a, c.b, got[k], c.want)
		}
	}
}

func TestCompareEVR(t *testing.T) {
	if CompareEVR("1", "1.0", "1", "", "2.0", "1") != 1 || CompareEVR("", "1.0", "1", "0", "1.0", "1") != 0 ||
		CompareEVR("10", "1", "1", "9", "2", "1") != 1 || CompareEVR("0", "1.0", "1", "0", "1.0", "2") != -1 {
		t.Error("CompareEVR")
	}
}

func FuzzCompare(f *testing.F) {
	for _, c := range cases {
		f.Add(c.a, c.b)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		x, y := Compare(a, b), Compare(b, a)
		if x != -y || x < -1 || x > 1 {
			t.Fatalf("Compare(%q,%q)=%d but Compare(%q,%q)=%d", a, b, x, b, a, y)
		}
	})
}
