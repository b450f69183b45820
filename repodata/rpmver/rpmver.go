// Package rpmver compares RPM versions exactly as rpm's rpmvercmp does,
// tilde (sorts before everything, even the end) and caret (sorts after
// the end, before anything else) included.
//
// cavaliergopher/rpm has a comparison too, but it knows no caret, treats
// any Unicode digit as a digit, and runs a regular expression per call;
// version comparison sits on hot paths here (libc requires, keep-newest
// filters), so this is its own small package.
package rpmver

// Compare returns -1, 0 or 1 as version a is older than, equal to or
// newer than b.
func Compare(a, b string) int {
	if a == b {
		return 0
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for i < len(a) && !isAlnum(a[i]) && a[i] != '~' && a[i] != '^' {
			i++
		}
		for j < len(b) && !isAlnum(b[j]) && b[j] != '~' && b[j] != '^' {
			j++
		}
		// Tilde sorts before everything else, the end of the string too.
		ta, tb := i < len(a) && a[i] == '~', j < len(b) && b[j] == '~'
		if ta || tb {
			if !ta {
				return 1
			}
			if !tb {
				return -1
			}
			i, j = i+1, j+1
			continue
		}
		// Caret sorts after the end of the string, before anything else.
		ca, cb := i < len(a) && a[i] == '^', j < len(b) && b[j] == '^'
		if ca || cb {
			if i == len(a) {
				return -1
			}
			if j == len(b) {
				return 1
			}
			if !ca {
				return 1
			}
			if !cb {
				return -1
			}
			i, j = i+1, j+1
			continue
		}
		if i == len(a) || j == len(b) {
			break
		}
		si, sj := i, j
		isNum := isDigit(a[i])
		if isNum {
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
		} else {
			for i < len(a) && isAlpha(a[i]) {
				i++
			}
			for j < len(b) && isAlpha(b[j]) {
				j++
			}
		}
		// b's segment is of the other kind (empty here): numeric beats
		// alphabetic.
		if sj == j {
			if isNum {
				return 1
			}
			return -1
		}
		sa, sb := a[si:i], b[sj:j]
		if isNum {
			sa, sb = trimZeros(sa), trimZeros(sb)
			if len(sa) != len(sb) {
				if len(sa) > len(sb) {
					return 1
				}
				return -1
			}
		}
		if sa != sb {
			if sa < sb {
				return -1
			}
			return 1
		}
	}
	if i >= len(a) && j >= len(b) {
		return 0
	}
	if i >= len(a) {
		return -1
	}
	return 1
}

// CompareEVR compares epoch:version-release triples, epochs numerically
// ("" counts as 0), then versions, then releases.
func CompareEVR(e1, v1, r1, e2, v2, r2 string) int {
	if c := compareEpoch(e1, e2); c != 0 {
		return c
	}
	if c := Compare(v1, v2); c != 0 {
		return c
	}
	return Compare(r1, r2)
}

func compareEpoch(a, b string) int {
	a, b = trimZeros(a), trimZeros(b)
	if len(a) != len(b) {
		if len(a) > len(b) {
			return 1
		}
		return -1
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func trimZeros(s string) string {
	for len(s) > 0 && s[0] == '0' {
		s = s[1:]
	}
	return s
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }
