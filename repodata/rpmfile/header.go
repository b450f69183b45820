package rpmfile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/rpmver"
)

// Header tags (rpm's include/rpm/rpmtag.h).
const (
	tagName            uint32 = 1000
	tagVersion                = 1001
	tagRelease                = 1002
	tagEpoch                  = 1003
	tagSummary                = 1004
	tagDescription            = 1005
	tagBuildTime              = 1006
	tagBuildHost              = 1007
	tagSize                   = 1009
	tagVendor                 = 1011
	tagLicense                = 1014
	tagPackager               = 1015
	tagGroup                  = 1016
	tagURL                    = 1020
	tagArch                   = 1022
	tagOldFilenames           = 1027
	tagFileModes              = 1030
	tagFileFlags              = 1037
	tagSourceRPM              = 1044
	tagArchiveSize            = 1046
	tagProvideName            = 1047
	tagRequireFlags           = 1048
	tagRequireName            = 1049
	tagRequireVersion         = 1050
	tagConflictFlags          = 1053
	tagConflictName           = 1054
	tagConflictVersion        = 1055
	tagChangelogTime          = 1080
	tagChangelogName          = 1081
	tagChangelogText          = 1082
	tagObsoleteName           = 1090
	tagSourcePackage          = 1106
	tagProvideFlags           = 1112
	tagProvideVersion         = 1113
	tagObsoleteFlags          = 1114
	tagObsoleteVersion        = 1115
	tagDirIndexes             = 1116
	tagBaseNames              = 1117
	tagDirNames               = 1118
	tagOldSuggestsName        = 1156
	tagOldSuggestsVer         = 1157
	tagOldSuggestsFlg         = 1158
	tagOldEnhancesName        = 1159
	tagOldEnhancesVer         = 1160
	tagOldEnhancesFlg         = 1161
	tagLongArchiveSize        = 271
	tagLongSize               = 5009
	tagRecommendName          = 5046
	tagRecommendVer           = 5047
	tagRecommendFlags         = 5048
	tagSuggestName            = 5049
	tagSuggestVer             = 5050
	tagSuggestFlags           = 5051
	tagSupplementName         = 5052
	tagSupplementVer          = 5053
	tagSupplementFlags        = 5054
	tagEnhanceName            = 5055
	tagEnhanceVer             = 5056
	tagEnhanceFlags           = 5057

	// Signature header tags that rpm merges into the main header when the
	// main header lacks them.
	sigTagSize            uint32 = 1000
	sigTagLongSize               = 270
	sigTagPayloadSize            = 1007
	sigTagLongArchiveSize        = 271
)

// Dependency sense bits (rpm's include/rpm/rpmds.h).
const (
	senseMask       = 0xf
	sensePrereq     = 1 << 6
	senseScriptPre  = 1 << 9
	senseScriptPost = 1 << 10
	senseMissingOK  = 1 << 19
	senseStrong     = 1 << 27
)

const (
	fileGhost = 1 << 6 // RPMFILE_GHOST
	modeType  = 0xf000
	modeDir   = 0x4000
)

type depKind int

const (
	depProvides depKind = iota
	depConflicts
	depObsoletes
	depRequires
	depSuggests
	depEnhances
	depRecommends
	depSupplements
	depOldSuggests
	depOldEnhances
)

// depTags is createrepo_c's processing order, which decides the order of
// entries when legacy weak dependencies are folded into the new lists.
var depTags = [...]struct {
	kind                 depKind
	name, flags, version uint32
	what                 string
}{
	{depProvides, tagProvideName, tagProvideFlags, tagProvideVersion, "provides"},
	{depConflicts, tagConflictName, tagConflictFlags, tagConflictVersion, "conflicts"},
	{depObsoletes, tagObsoleteName, tagObsoleteFlags, tagObsoleteVersion, "obsoletes"},
	{depRequires, tagRequireName, tagRequireFlags, tagRequireVersion, "requires"},
	{depSuggests, tagSuggestName, tagSuggestFlags, tagSuggestVer, "suggests"},
	{depEnhances, tagEnhanceName, tagEnhanceFlags, tagEnhanceVer, "enhances"},
	{depRecommends, tagRecommendName, tagRecommendFlags, tagRecommendVer, "recommends"},
	{depSupplements, tagSupplementName, tagSupplementFlags, tagSupplementVer, "supplements"},
	{depOldSuggests, tagOldSuggestsName, tagOldSuggestsFlg, tagOldSuggestsVer, "legacy suggests"},
	{depOldEnhances, tagOldEnhancesName, tagOldEnhancesFlg, tagOldEnhancesVer, "legacy enhances"},
}

func buildPackage(ld lead, sig, h *rawHeader, opt Options, a *arena) (*repodata.Package, error) {
	p := a.packageValue()
	p.Name = h.str(tagName)
	p.Version = h.str(tagVersion)
	p.Release = h.str(tagRelease)
	p.Summary = h.str(tagSummary)
	p.Description = h.str(tagDescription)
	p.URL = h.str(tagURL)
	p.License = h.str(tagLicense)
	p.Vendor = h.str(tagVendor)
	p.Group = h.str(tagGroup)
	p.BuildHost = h.str(tagBuildHost)
	p.SourceRPM = h.str(tagSourceRPM)
	p.Packager = h.str(tagPackager)
	if p.Name == "" {
		return nil, fmt.Errorf("%w: no package name in header", ErrMalformed)
	}
	if isSource(ld, h) {
		p.Arch = "src"
	} else {
		p.Arch = h.str(tagArch)
		if !h.has(tagSourceRPM) && !h.has(tagSourcePackage) {
			// librpm retrofits this to a binary package that lacks both
			// tags, and createrepo_c writes what librpm says.
			p.SourceRPM = "(none)"
		}
	}
	epoch, _ := h.num(tagEpoch)
	p.Epoch = formatUint(epoch)
	p.BuildTime, _ = h.num(tagBuildTime)
	p.InstalledSize = installedSize(h)
	p.ArchiveSize = archiveSize(h, sig)

	owned, err := readFiles(h, p, a)
	if err != nil {
		return nil, err
	}
	if err := readDeps(h, p, owned, a); err != nil {
		return nil, err
	}
	if err := readChangelogs(h, p, opt.ChangelogLimit); err != nil {
		return nil, err
	}
	if err := sanitize(p); err != nil {
		return nil, err
	}
	return p, nil
}

// isSource tells a source package the way librpm does: by its
// SOURCEPACKAGE tag or, when a header has neither that nor SOURCERPM, by
// the lead's type and the shape of its file list (a source package's
// files all sit in one unnamed directory).
func isSource(ld lead, h *rawHeader) bool {
	if n, ok := h.num(tagSourcePackage); ok {
		return n != 0
	}
	if h.has(tagSourceRPM) {
		return false
	}
	if ld.source {
		return true
	}
	dirs, _ := h.strs(tagDirNames, 2)
	n, _ := h.count(tagDirNames)
	return n == 1 && len(dirs) == 1 && dirs[0] == ""
}

// signedSize is the size of main header plus payload that the signature
// header records: RPMSIGTAG_LONGSIZE, or RPMSIGTAG_SIZE.
func signedSize(sig *rawHeader) (uint64, bool) {
	if v, ok := sig.num(sigTagLongSize); ok {
		return uint64(v), true
	}
	if v, ok := sig.num(sigTagSize); ok {
		return uint64(v), true
	}
	return 0, false
}

// installedSize is RPMTAG_LONGSIZE, which librpm emulates from SIZE.
func installedSize(h *rawHeader) uint64 {
	if v, ok := h.num(tagLongSize); ok {
		return uint64(v)
	}
	v, _ := h.num(tagSize)
	return uint64(v)
}

// archiveSize is RPMTAG_LONGARCHIVESIZE as librpm presents it: from the
// main header, else merged from the signature header, else emulated from
// ARCHIVESIZE (itself possibly merged from the signature's PAYLOADSIZE).
func archiveSize(h, sig *rawHeader) uint64 {
	if v, ok := h.num(tagLongArchiveSize); ok {
		return uint64(v)
	}
	if v, ok := sig.num(sigTagLongArchiveSize); ok {
		return uint64(v)
	}
	if v, ok := h.num(tagArchiveSize); ok {
		return uint64(v)
	}
	v, _ := sig.num(sigTagPayloadSize)
	return uint64(v)
}

// readFiles fills p.Files and returns the set of owned paths, which the
// requires filter needs.
func readFiles(h *rawHeader, p *repodata.Package, a *arena) (map[string]struct{}, error) {
	bases, err := h.strs(tagBaseNames, -1)
	if err != nil {
		return nil, err
	}
	var dirs []string
	var idx []int64
	if bases == nil {
		// Packages from before rpm 4 list whole paths; librpm converts
		// them on read, and so do we.
		old, err := h.strs(tagOldFilenames, -1)
		if err != nil || old == nil {
			return nil, err
		}
		bases = a.strings(len(old))
		idx = a.int64s(len(old))
		for i, f := range old {
			j := strings.LastIndexByte(f, '/') + 1
			dirs = append(dirs, f[:j])
			bases[i], idx[i] = f[j:], int64(i)
		}
	} else {
		if dirs, err = h.strs(tagDirNames, -1); err != nil {
			return nil, err
		}
		if idx, err = h.ints(tagDirIndexes); err != nil {
			return nil, err
		}
	}
	flags, err := h.ints(tagFileFlags)
	if err != nil {
		return nil, err
	}
	modes, err := h.ints(tagFileModes)
	if err != nil {
		return nil, err
	}
	n := len(bases)
	if len(idx) != n || len(flags) != n || len(modes) != n {
		return nil, fmt.Errorf("%w: inconsistent file arrays: %d base names, %d dir indexes, %d flags, %d modes",
			ErrMalformed, n, len(idx), len(flags), len(modes))
	}
	p.Files = slices.Grow(p.Files[:0], n)[:n]
	owned := a.ownedSet(n)
	for i := range bases {
		if idx[i] < 0 || idx[i] >= int64(len(dirs)) {
			return nil, fmt.Errorf("%w: file %q has directory index %d but there are %d directories",
				ErrMalformed, bases[i], idx[i], len(dirs))
		}
		path := a.concat(dirs[idx[i]], bases[i])
		t := repodata.FileRegular
		if modes[i]&modeType == modeDir {
			t = repodata.FileDir
		} else if flags[i]&fileGhost != 0 {
			t = repodata.FileGhost
		}
		p.Files[i] = repodata.File{Path: path, Type: t}
		owned[path] = struct{}{}
	}
	return owned, nil
}

// readDeps reproduces createrepo_c's dependency lists, including its
// filtering of requires: rpmlib() requires, requires of the package's own
// primary files, requires identical to one of its own provides and
// duplicates are dropped, and of the libc.so.6 requires only the highest
// versioned one is kept, appended last.
func readDeps(h *rawHeader, p *repodata.Package, owned map[string]struct{}, a *arena) error {
	provided := a.providedSet()
	seen := a.seenSet()

	for _, dt := range depTags {
		names, err := h.strs(dt.name, -1)
		if err != nil {
			return err
		}
		if names == nil {
			continue
		}
		flags, err := h.ints(dt.flags)
		if err != nil {
			return err
		}
		vers, err := h.strs(dt.version, -1)
		if err != nil {
			return err
		}
		if len(flags) != len(names) || len(vers) != len(names) {
			return fmt.Errorf("%w: inconsistent %s arrays: %d names, %d flags, %d versions",
				ErrMalformed, dt.what, len(names), len(flags), len(vers))
		}
		var libc *repodata.Dependency
		for i, name := range names {
			nflags := flags[i]
			fl := flagString(nflags)
			ver := vers[i]
			key := depKey{name, fl, ver}
			pre := false
			if dt.kind == depRequires {
				if strings.HasPrefix(name, "rpmlib(") {
					continue
				}
				if strings.HasPrefix(name, "/") {
					if _, ok := owned[name]; ok && repodata.IsPrimaryFile(name) {
						continue
					}
				}
				if _, ok := provided[key]; ok {
					continue
				}
				pre = nflags&(sensePrereq|senseScriptPre|senseScriptPost) != 0
				if s, ok := seen[name]; ok && s.flags == fl && s.version == ver && s.pre == pre {
					continue
				}
			}
			epoch, version, release, ok := splitEVR(ver)
			if !ok {
				// createrepo_c warns and skips a dependency whose epoch is
				// not a number; so do we, silently, since the package is
				// otherwise fine.
				continue
			}
			d := repodata.Dependency{Name: name, Flags: fl, Epoch: epoch, Version: version, Release: release}
			switch dt.kind {
			case depProvides:
				provided[key] = struct{}{}
				p.Provides = append(p.Provides, d)
			case depConflicts:
				p.Conflicts = append(p.Conflicts, d)
			case depObsoletes:
				p.Obsoletes = append(p.Obsoletes, d)
			case depRequires:
				if nflags&senseMissingOK != 0 {
					// A legacy (rpm < 4.12) weak dependency.
					p.Recommends = append(p.Recommends, d)
					continue
				}
				d.Pre = pre
				if strings.HasPrefix(name, "libc.so.6") {
					if libc == nil || compareLibc(libc.Name, name) == 2 {
						dd := d
						libc = &dd
					}
					continue
				}
				p.Requires = append(p.Requires, d)
				seen[name] = seenReq{fl, ver, pre}
			case depSuggests:
				p.Suggests = append(p.Suggests, d)
			case depEnhances:
				p.Enhances = append(p.Enhances, d)
			case depRecommends:
				p.Recommends = append(p.Recommends, d)
			case depSupplements:
				p.Supplements = append(p.Supplements, d)
			case depOldSuggests:
				if nflags&senseStrong != 0 {
					p.Recommends = append(p.Recommends, d)
				} else {
					p.Suggests = append(p.Suggests, d)
				}
			case depOldEnhances:
				if nflags&senseStrong != 0 {
					p.Supplements = append(p.Supplements, d)
				} else {
					p.Enhances = append(p.Enhances, d)
				}
			}
		}
		if libc != nil {
			p.Requires = append(p.Requires, *libc)
		}
	}
	return nil
}

func flagString(f int64) string {
	switch f & senseMask {
	case 2:
		return "LT"
	case 4:
		return "GT"
	case 8:
		return "EQ"
	case 10:
		return "LE"
	case 12:
		return "GE"
	}
	return ""
}

// splitEVR splits a dependency's [epoch:]version[-release] like
// createrepo_c's cr_str_to_evr: the epoch defaults to "0"; ok is false
// when an epoch is present but is not a number (strtol's notion of one).
func splitEVR(s string) (epoch, version, release string, ok bool) {
	if s == "" {
		return "", "", "", true
	}
	rest := s
	epoch = "0"
	if i := strings.IndexByte(s, ':'); i >= 0 {
		if !strtolConsumesAll(s[:i]) {
			return "", "", "", false
		}
		if i > 0 {
			epoch = s[:i]
		}
		rest = s[i+1:]
	}
	if j := strings.IndexByte(rest, '-'); j >= 0 {
		return epoch, rest[:j], rest[j+1:], true
	}
	return epoch, rest, "", true
}

// strtolConsumesAll reports whether C's strtol(s, &end, 10) stops exactly
// at the end of s: s is empty, or optional white space, an optional sign
// and at least one digit.
func strtolConsumesAll(s string) bool {
	if s == "" {
		return true
	}
	i := 0
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i > digits && i == len(s)
}

// compareLibc compares two libc.so.6 requires by the version inside their
// first parentheses, as createrepo_c's cr_compare_dependency: 0 same, 1
// first is bigger, 2 second is bigger.
func compareLibc(a, b string) int {
	if a == b {
		return 0
	}
	ia, ib := strings.IndexByte(a, '('), strings.IndexByte(b, '(')
	switch {
	case ia < 0 && ib < 0:
		return 0
	case ia < 0:
		return 2
	case ib < 0:
		return 1
	}
	ea, eb := strings.IndexByte(a[ia:], ')'), strings.IndexByte(b[ib:], ')')
	switch {
	case ea < 0 && eb < 0:
		return -1
	case ea < 0:
		return 2
	case eb < 0:
		return 1
	}
	ea, eb = ia+ea, ib+eb
	ia, ib = ia+1, ib+1
	switch {
	case ia == ea && ib == eb:
		return 0
	case ia == ea:
		return 2
	case ib == eb:
		return 1
	}
	for ia < len(a) && (a[ia] < '0' || a[ia] > '9') {
		ia++
	}
	for ib < len(b) && (b[ib] < '0' || b[ib] > '9') {
		ib++
	}
	switch {
	case ia > ea && ib > eb:
		return 0
	case ia > ea:
		return 2
	case ib > eb:
		return 1
	}
	switch rpmver.Compare(a[ia:ea], b[ib:eb]) {
	case 1:
		return 1
	case -1:
		return 2
	}
	return 0
}

// readChangelogs keeps the newest limit entries (the header lists newest
// first) and returns them oldest first. Entries with the same date as the
// one before them get their predecessors' dates bumped, createrepo_c's way
// of keeping dates unique.
func readChangelogs(h *rawHeader, p *repodata.Package, limit int) error {
	nt, okT := h.count(tagChangelogTime)
	nn, okN := h.count(tagChangelogName)
	nx, okX := h.count(tagChangelogText)
	if !okT && !okN && !okX {
		return nil
	}
	if nn != nt || nx != nt {
		return fmt.Errorf("%w: inconsistent changelog arrays: %d times, %d names, %d texts",
			ErrMalformed, nt, nn, nx)
	}
	n := nt
	if limit >= 0 && limit < n {
		n = limit
	}
	if n == 0 {
		return nil
	}
	// Only the entries kept are decoded: a package may carry hundreds.
	times, err := h.ints(tagChangelogTime)
	if err != nil {
		return err
	}
	names, err := h.strs(tagChangelogName, n)
	if err != nil {
		return err
	}
	texts, err := h.strs(tagChangelogText, n)
	if err != nil {
		return err
	}
	// Built newest first, as createrepo_c's prepend-built list reads
	// before it is written out reversed.
	cl := slices.Grow(p.Changelogs[:0], n)[:n]
	var last int64
	for i := 0; i < n; i++ {
		t := times[i]
		cl[n-1-i] = repodata.Changelog{Author: strings.TrimRight(names[i], " "), Date: t, Text: texts[i]}
		if i > 0 && last == t {
			// createrepo_c keeps the running date in a C int.
			tmp := int64(int32(t))
			for j := n - i; j < n && cl[j].Date == tmp; j++ {
				cl[j].Date++
				tmp++
			}
		} else {
			last = t
		}
	}
	p.Changelogs = cl
	return nil
}
