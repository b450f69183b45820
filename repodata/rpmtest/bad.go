package rpmtest

// NotRPM returns the content of a file that is not an RPM package at all
// (a short text), for "not an RPM" error paths.
func NotRPM() []byte {
	return []byte("This is not an RPM package, just a text file named like one.\n")
}

// Truncated returns a copy of the first n bytes of b: all of b if n is
// larger, nothing if n is negative. With ParseLayout, tests can cut a file
// inside the lead, either header or the payload.
func Truncated(b []byte, n int) []byte {
	n = max(0, min(n, len(b)))
	return append([]byte(nil), b[:n]...)
}

// Broken returns Specs of structurally valid RPM files (lead, signature
// header, region tags and digests are right, so librpm opens them and
// rpm -K accepts them) whose header contents are inconsistent in ways a
// careless reader indexes out of range:
//
//   - broken-deps: REQUIRENAME has 3 entries, REQUIREFLAGS 2 and
//     REQUIREVERSION 4 (see InconsistentDeps);
//   - broken-dirindex: a DIRINDEXES entry points past the end of DIRNAMES
//     (see DirIndexOutOfRange).
//
// The reference tools do not reject them, so WantReject is not set:
// rpm 4.18 lists no requires for the first and no files for the second;
// createrepo_c 0.17.3 indexes both, with the first 2 requires (the
// shortest array) of the first and no files for the second.
func Broken() []Spec {
	return []Spec{inconsistentDepsSpec(), dirIndexOutOfRangeSpec()}
}

func inconsistentDepsSpec() Spec {
	s := edge("broken-deps", "REQUIRENAME has 3 entries, REQUIREFLAGS 2 and REQUIREVERSION 4", 100)
	s.Requires = []Dep{dep("broken-a", 0, ""), dep("broken-b", GE, "1.0"), dep("broken-c", 0, "")}
	s.RawTags = []RawTag{
		{Tag: tagRequireFlags, Value: []uint32{0, uint32(GE)}},
		{Tag: tagRequireVersion, Value: []string{"", "1.0", "", "9.9"}},
	}
	return s
}

func dirIndexOutOfRangeSpec() Spec {
	s := edge("broken-dirindex", "DIRINDEXES points past the end of DIRNAMES (2 entries, index 7)", 101)
	s.Files = []File{reg("/usr/share/broken/a", "a\n"), reg("/usr/lib/broken/b", "b\n")}
	// Files are sorted by path: /usr/lib/broken/b is dir 0, /usr/share/broken/a dir 1.
	s.RawTags = []RawTag{{Tag: tagDirIndexes, Value: []uint32{0, 7}}}
	return s
}

// InconsistentDeps returns an RPM file whose REQUIRENAME, REQUIREFLAGS and
// REQUIREVERSION arrays have different lengths (3, 2 and 4).
func InconsistentDeps() ([]byte, error) { return Build(inconsistentDepsSpec()) }

// DirIndexOutOfRange returns an RPM file with a DIRINDEXES entry past the
// end of DIRNAMES.
func DirIndexOutOfRange() ([]byte, error) { return Build(dirIndexOutOfRangeSpec()) }
