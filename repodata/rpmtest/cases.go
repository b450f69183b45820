package rpmtest

import (
	"fmt"
	"time"
)

// baseTime is the build time of the catalogues, so that they never depend
// on the clock.
var baseTime = time.Date(2024, time.March, 1, 12, 0, 0, 0, time.UTC)

func dep(name string, flags DepFlags, version string) Dep {
	return Dep{Name: name, Flags: flags, Version: version}
}

func reg(path, content string) File {
	return File{Path: path, Content: []byte(content)}
}

func day(n int) time.Time { return baseTime.AddDate(0, 0, -n) }

// edge is the common part of the catalogue's Specs: a noarch package
// 1.0-1 built at baseTime plus hour hours.
func edge(name, comment string, hour int) Spec {
	return Spec{
		Comment:     comment,
		Name:        name,
		Version:     "1.0",
		Release:     "1",
		Arch:        "noarch",
		Summary:     "rpmtest edge case " + name,
		Description: "Exercises: " + comment + "\n",
		License:     "MIT",
		BuildHost:   "build.rpmirror.invalid",
		BuildTime:   baseTime.Add(time.Duration(hour) * time.Hour),
		Files:       []File{reg("/usr/share/rpmtest/"+name+"/README", name+"\n")},
	}
}

// Cases returns the catalogue of edge cases that every compatibility test
// runs: each Spec is a package whose rpm-md entry some reader or writer
// could get wrong. The result is deterministic and freshly allocated on
// each call. Every Spec has a distinct RelPath, so WriteAll can write
// them all into one directory, and WantReject marks the ones createrepo_c
// refuses.
func Cases() []Spec {
	var cs []Spec
	add := func(s Spec) { cs = append(cs, s) }
	h := 0
	next := func() int { h++; return h }

	s := edge("epoch-none", "no EPOCH tag at all (rpm prints (none), rpm-md epoch=\"0\")", next())
	add(s)

	s = edge("epoch-zero", "an EPOCH tag of 0, which rpm-md cannot tell from no epoch", next())
	s.Epoch = new(uint32(0))
	add(s)

	s = edge("epoch-one", "epoch 1, and dependencies carrying explicit epochs", next())
	s.Epoch = new(uint32(1))
	s.Requires = []Dep{
		dep("epoch-zero", EQ, "0:1.0-1"),
		dep("epoch-none", GE, "0:1.0"),
		dep("epoch-large", GT, "4294967294:1.0"),
	}
	s.Provides = []Dep{dep("epoch-one-compat", EQ, "1:0.9")}
	s.Obsoletes = []Dep{dep("epoch-one-old", LT, "1:1.0-1")}
	add(s)

	s = edge("epoch-large", "epoch 4294967295, the largest uint32: a reader that uses int32 prints -1", next())
	s.Epoch = new(uint32(4294967295))
	add(s)

	s = edge("glibc-deps", "x86_64 package requiring several libc.so.6(GLIBC_2.x)(64bit): only the highest is kept; versions compare numerically (2.4 < 2.14 < 2.34)", next())
	s.Arch = "x86_64"
	s.Files = []File{{Path: "/usr/bin/glibc-deps", Mode: 0o755, Content: []byte("\x7fELF\x02\x01\x01\x00fake x86_64 binary\n")}}
	s.Provides = []Dep{dep("glibc-deps(x86-64)", EQ, "1.0-1")}
	s.Requires = []Dep{
		dep("libc.so.6()(64bit)", 0, ""),
		dep("libc.so.6(GLIBC_2.2.5)(64bit)", 0, ""),
		dep("libc.so.6(GLIBC_2.14)(64bit)", 0, ""),
		dep("libc.so.6(GLIBC_2.34)(64bit)", 0, ""),
		dep("libc.so.6(GLIBC_2.4)(64bit)", 0, ""),
		dep("libm.so.6()(64bit)", 0, ""),
		dep("libm.so.6(GLIBC_2.29)(64bit)", 0, ""),
		dep("rtld(GNU_HASH)", 0, ""),
	}
	add(s)

	s = edge("glibc-deps-i686", "i686 package with 32-bit libc.so.6(GLIBC_2.x) requires (no (64bit) suffix)", next())
	s.Arch = "i686"
	s.Files = []File{{Path: "/usr/bin/glibc-deps-i686", Mode: 0o755, Content: []byte("\x7fELF\x01\x01\x01\x00fake i686 binary\n")}}
	s.Requires = []Dep{
		dep("libc.so.6", 0, ""),
		dep("libc.so.6(GLIBC_2.0)", 0, ""),
		dep("libc.so.6(GLIBC_2.1.3)", 0, ""),
		dep("libc.so.6(GLIBC_2.17)", 0, ""),
	}
	add(s)

	s = edge("srcpkg", "a source package: SOURCEPACKAGE=1, no SOURCERPM, arch tag x86_64 but rpm-md arch src, relative file names, BuildRequires as requires, non-root owner", next())
	s.Source = true
	s.Arch = "x86_64"
	s.Files = []File{
		{Path: "srcpkg.spec", Flags: FileSpec, Owner: "mockbuild", Group: "mock", Content: []byte("Name: srcpkg\nVersion: 1.0\nRelease: 1\n")},
		{Path: "srcpkg-1.0.tar.gz", Owner: "mockbuild", Group: "mock", Content: []byte("\x1f\x8b\x08\x00fake tarball")},
	}
	s.Requires = []Dep{
		dep("gcc", 0, ""),
		dep("make", GE, "4.0"),
		dep("pkgconfig(zlib)", 0, ""),
		dep("rpmlib(CompressedFileNames)", RPMLib|LE, "3.0.4-1"),
		dep("rpmlib(FileDigests)", RPMLib|LE, "4.6.0-1"),
	}
	add(s)

	s = edge("weak-deps", "Recommends, Suggests, Supplements and Enhances, versioned and rich", next())
	s.Recommends = []Dep{dep("weak-rec", GE, "1.0"), dep("weak-rec-plain", 0, ""), dep("weak-rec-epoch", GT, "1:2.0-3")}
	s.Suggests = []Dep{dep("weak-sug", 0, ""), dep("(weak-sug-a or weak-sug-b)", 0, "")}
	s.Supplements = []Dep{dep("(weak-host and langpacks-de)", 0, ""), dep("weak-host", 0, "")}
	s.Enhances = []Dep{dep("weak-enh", EQ, "2.0"), dep("weak-enh-plain", 0, "")}
	s.Requires = []Dep{dep("rpmlib(RichDependencies)", RPMLib|LE, "4.12.0-1")}
	add(s)

	s = edge("rich-deps", "boolean (rich) dependencies in requires, conflicts and recommends", next())
	s.Requires = []Dep{
		dep("(rich-a if rich-b)", 0, ""),
		dep("(rich-c or rich-d)", 0, ""),
		dep("(rich-e >= 1.0 with rich-e < 2.0)", 0, ""),
		dep("(rich-f unless rich-g)", 0, ""),
		dep("((rich-h and rich-i) or rich-j)", 0, ""),
		dep("rpmlib(RichDependencies)", RPMLib|LE, "4.12.0-1"),
	}
	s.Conflicts = []Dep{dep("(rich-k and rich-l)", 0, "")}
	s.Recommends = []Dep{dep("(rich-m if rich-n else rich-o)", 0, "")}
	add(s)

	s = edge("versioned", "versioned requires of every comparison (LT GT EQ LE GE), with and without epoch and release, tilde and caret; versioned conflicts, obsoletes and provides", next())
	s.Requires = []Dep{
		dep("ver-lt", LT, "2.0"),
		dep("ver-gt", GT, "1.0"),
		dep("ver-eq", EQ, "1.5-3"),
		dep("ver-le", LE, "2.0-1"),
		dep("ver-ge", GE, "1.0"),
		dep("ver-ep-ge", GE, "2:1.0-1"),
		dep("ver-ep-lt", LT, "3:0"),
		dep("ver-ep0", EQ, "0:1.0-1"),
		dep("ver-norel", GE, "3"),
		dep("ver-tilde", GE, "1.0~rc1"),
		dep("ver-caret", GE, "1.0^git20240101"),
		dep("ver-dist", EQ, "1.0-1.fc40"),
		dep("ver-any", 0, ""),
	}
	s.Conflicts = []Dep{dep("ver-conflict", LT, "1.0"), dep("ver-conflict-any", 0, "")}
	s.Obsoletes = []Dep{dep("ver-old", LT, "1.0-5"), dep("ver-old-ep", LE, "1:0.9")}
	s.Provides = []Dep{dep("ver-virtual", EQ, "1.0"), dep("ver-virtual-any", 0, ""), dep("ver-ep-prov", EQ, "3:4.5-6")}
	add(s)

	s = edge("prereqs", "Requires(pre), (post), (preun), (postun), (pretrans), (posttrans), legacy PreReq and scriptlet interpreters, with scriptlets", next())
	s.Requires = []Dep{
		dep("/bin/sh", Interp|ScriptPre, ""),
		dep("/bin/sh", Interp|ScriptPost, ""),
		dep("pre-dep", ScriptPre, ""),
		dep("post-dep", ScriptPost, ""),
		dep("preun-dep", ScriptPreUn, ""),
		dep("postun-dep", ScriptPostUn, ""),
		dep("prepost-dep", ScriptPre|ScriptPost, ""),
		dep("prereq-dep", PreReq, ""),
		dep("prereq-ver", PreReq|GE, "1.0"),
		dep("rpmbuild-prereq-dep", ScriptPre|ScriptPreUn, ""),
		dep("pretrans-dep", PreTrans, ""),
		dep("posttrans-dep", PostTrans, ""),
		dep("plain-dep", 0, ""),
	}
	s.Pre = "echo pre\n"
	s.Post = "echo post\n"
	s.PreUn = "echo preun\n"
	s.PostUn = "echo postun\n"
	add(s)

	s = edge("rpmlib", "rpmlib(...) requires with the RPMLIB flag (dropped from rpm-md), and an xz payload", next())
	s.Compressor = "xz"
	s.Requires = []Dep{
		dep("rpmlib(CompressedFileNames)", RPMLib|LE, "3.0.4-1"),
		dep("rpmlib(FileDigests)", RPMLib|LE, "4.6.0-1"),
		dep("rpmlib(PayloadFilesHavePrefix)", RPMLib|LE, "4.0-1"),
		dep("rpmlib(PayloadIsXz)", RPMLib|LE, "5.2-1"),
		dep("rpmlib-real-dep", 0, ""),
	}
	add(s)

	s = edge("payload-zstd", "a zstd-compressed payload", next())
	s.Compressor = "zstd"
	s.Requires = []Dep{dep("rpmlib(PayloadIsZstd)", RPMLib|LE, "5.4.18-1")}
	add(s)

	s = edge("selfreq", "requires that the package satisfies itself (its own provide, a virtual provide, a soname, owned files in and out of the primary file list), a file require it does not satisfy, and duplicate requires", next())
	s.Arch = "x86_64"
	s.Provides = []Dep{dep("selfreq-virtual", EQ, "1.0"), dep("libselfreq.so.1()(64bit)", 0, "")}
	s.Requires = []Dep{
		dep("selfreq", EQ, "1.0-1"),
		dep("selfreq-virtual", EQ, "1.0"),
		dep("libselfreq.so.1()(64bit)", 0, ""),
		dep("/usr/bin/selfreq", 0, ""),
		dep("/etc/selfreq.conf", 0, ""),
		dep("/usr/share/selfreq/data", 0, ""),
		dep("/usr/bin/not-owned", 0, ""),
		dep("dup-dep", 0, ""),
		dep("dup-dep", 0, ""),
		dep("dup-ver", GE, "1.0"),
		dep("dup-ver", GE, "1.0"),
		dep("dup-ver", GE, "2.0"),
	}
	s.Files = []File{
		{Path: "/usr/bin/selfreq", Mode: 0o755, Content: []byte("#!/bin/sh\n")},
		{Path: "/usr/lib64/libselfreq.so.1", Mode: 0o755, Content: []byte("\x7fELF fake library\n")},
		{Path: "/etc/selfreq.conf", Flags: FileConfig | FileNoReplace, Content: []byte("key=value\n")},
		reg("/usr/share/selfreq/data", "data\n"),
	}
	add(s)

	s = edge("paths", "files under /etc, */bin/* in odd places, near-misses of the primary file filter, directories, ghosts, symlinks, config/doc/license flags, odd modes", next())
	s.Files = []File{
		{Path: "/etc/paths", Dir: true},
		{Path: "/etc/paths/paths.conf", Flags: FileConfig | FileNoReplace, Content: []byte("a=1\n")},
		{Path: "/etc/paths/empty.conf", Flags: FileConfig},
		{Path: "/etc/paths/missing.conf", Flags: FileConfig | FileMissingOK | FileGhost},
		{Path: "/opt/foo", Dir: true},
		{Path: "/opt/foo/sbin", Dir: true},
		{Path: "/opt/foo/sbin/x", Mode: 0o755, Content: []byte("x\n")},
		{Path: "/opt/foo/bin", Dir: true},
		{Path: "/usr/lib/bin", Dir: true},
		{Path: "/usr/lib/bin/y", Mode: 0o755, Content: []byte("y\n")},
		reg("/usr/share/robin/z", "z: \"bin/\" is a substring of \"robin/\"\n"),
		reg("/usr/lib/sendmail", "sendmail\n"),
		reg("/usr/lib/sendmail.postfix", "not sendmail\n"),
		reg("/etcetera/not-etc", "not /etc/\n"),
		reg("/usr/binaries/not-bin", "not bin/\n"),
		{Path: "/bin/paths-tool", Mode: 0o755, Content: []byte("#!/bin/sh\n")},
		{Path: "/usr/sbin/paths-admin", Mode: 0o700, Content: []byte("#!/bin/sh\n")},
		{Path: "/usr/bin/paths-setuid", Mode: 0o4755, Content: []byte("#!/bin/sh\n")},
		{Path: "/usr/bin/paths-link", Symlink: "../../bin/paths-tool"},
		{Path: "/var/log/paths.log", Flags: FileGhost},
		{Path: "/var/cache/paths", Dir: true, Flags: FileGhost},
		{Path: "/usr/share/doc/paths/README", Flags: FileDoc, Content: []byte("doc\n")},
		{Path: "/usr/share/licenses/paths/LICENSE", Flags: FileLicense, Content: []byte("MIT\n")},
		reg("/usr/share/paths/with space.txt", "space\n"),
		reg("/usr/share/paths/.hidden", "hidden\n"),
		{Path: "/usr/share/paths/sticky", Dir: true, Mode: 0o1777},
	}
	add(s)

	s = edge("xml-special", "XML special characters & < > \" ' in summary, description, URL, packager, vendor, group, license, dependency names, file names and changelog", next())
	s.Summary = `Tom & Jerry <tj@example.com> say "hi" 'there'`
	s.Description = "Less-than < greater-than > ampersand & quote \" apostrophe '\nA CDATA end ]]> and an entity &amp; written literally.\n"
	s.URL = "https://example.com/?a=1&b=<2>"
	s.Packager = `"Jane" <jane@example.com>`
	s.Vendor = "A&B Corp"
	s.Group = "Development/Tools & <Stuff>"
	s.License = "GPL-2.0-or-later AND (MIT OR BSD-3-Clause)"
	s.Requires = []Dep{dep("perl(A&B)", 0, ""), dep("x<y>", 0, ""), dep(`q"uote'`, 0, ""), dep("amp&dep", GE, "1.0")}
	s.Provides = []Dep{dep(`xml-special(&<>"')`, 0, "")}
	s.Files = []File{
		reg(`/usr/share/xml-special/a&b<c>"d'e.txt`, "special\n"),
		{Path: "/usr/bin/xml&special", Mode: 0o755, Content: []byte("#!/bin/sh\n")},
	}
	s.Changelogs = []Changelog{{Time: day(1), Author: "Q & A <qa@example.com> - 1.0-1", Text: `- fix <tag> & "quotes" 'apos'`}}
	add(s)

	s = edge("utf8", "non-ASCII UTF-8 (Latin, Greek, Cyrillic, Arabic, CJK, emoji) in text, changelog, dependency and file names", next())
	s.Summary = "Grüße aus Zürich — 日本語テキスト 🚀"
	s.Description = "Ünïcödé description.\nΕλληνικά, русский, العربية, 中文.\n"
	s.Packager = "Jürgen Müller <jm@example.com>"
	s.Vendor = "Société d'Exemple"
	s.Provides = []Dep{dep("utf8-dép", EQ, "1.0")}
	s.Files = []File{reg("/usr/share/utf8/café.txt", "café\n"), reg("/usr/share/utf8/日本語.txt", "日本語\n")}
	s.Changelogs = []Changelog{{Time: day(1), Author: "Jürgen Müller <jm@example.com> - 1.0-1", Text: "- Überarbeitet ✓\n- 修正"}}
	add(s)

	s = edge("latin1", "ISO-8859-1 bytes (invalid UTF-8, e.g. 0xE9) in summary, description, packager and changelog", next())
	s.Summary = "Caf\xe9 cr\xe8me br\xfbl\xe9e"
	s.Description = "Na\xefve r\xe9sum\xe9 \xa9 2024 \xb5s\n"
	s.Packager = "Ren\xe9 Fran\xe7ois <rf@example.com>"
	s.Changelogs = []Changelog{{Time: day(1), Author: "Ren\xe9 Fran\xe7ois <rf@example.com> - 1.0-1", Text: "- \xe0 la carte\n- d\xe9j\xe0 vu"}}
	add(s)

	s = edge("control-allowed", "the control characters XML allows: tab, CR and LF in summary and description", next())
	s.Summary = "tab\there"
	s.Description = "CRLF line\r\nand a\ttab\n"
	add(s)

	s = edge("control-char", "a forbidden control character (0x01) in the description: createrepo_c refuses the package", next())
	s.Description = "Start of heading \x01 in the description\n"
	s.WantReject = true
	add(s)

	s = edge("changelog-long", "14 changelog entries (more than the default limit of 10), runs of equal dates, an author with trailing spaces, multi-line text", next())
	s.Changelogs = longChangelog()
	add(s)

	s = edge("dup-nevra", "duplicate NEVRA, first copy (see dup/dup-nevra-1.0-1.noarch.rpm)", next())
	s.Files = []File{reg("/usr/share/rpmtest/dup-nevra/README", "first build\n")}
	add(s)
	s = edge("dup-nevra", "duplicate NEVRA, second copy with other content and build time, in a subdirectory", next())
	s.Files = []File{reg("/usr/share/rpmtest/dup-nevra/README", "second build, different content\n")}
	s.FileName = "dup/dup-nevra-1.0-1.noarch.rpm"
	add(s)
	s = edge("dup-nevra", "duplicate NEVRA, third copy under a file name that does not follow NEVRA", next())
	s.Files = []File{reg("/usr/share/rpmtest/dup-nevra/README", "third build\n")}
	s.FileName = "dup-nevra-rebuild.rpm"
	add(s)

	s = edge("signed", "signed with TestKey: RSA (header) and PGP (header+payload) signature tags", next())
	s.Signer = TestKey().Sign
	add(s)

	s = edge("many-files", "1500 files in 30 directories", next())
	s.Files = nil
	for d := 0; d < 30; d++ {
		dir := fmt.Sprintf("/usr/share/many-files/d%02d", d)
		s.Files = append(s.Files, File{Path: dir, Dir: true})
		for f := 0; f < 50; f++ {
			s.Files = append(s.Files, reg(fmt.Sprintf("%s/f%03d", dir, f), fmt.Sprintf("%d/%d\n", d, f)))
		}
	}
	s.Files = append(s.Files, File{Path: "/usr/bin/many-files", Mode: 0o755, Content: []byte("#!/bin/sh\n")})
	add(s)

	s = edge("empty", "no files at all (no file tags in the header), no description, no license", next())
	s.Files = nil
	s.Description = ""
	s.License = ""
	add(s)

	s = edge("no-provides", "no PROVIDE tags at all, not even the self-provide", next())
	s.NoSelfProvide = true
	add(s)

	s = edge("all-fields", "every optional field set: vendor, URL, packager, group, dist release, SOURCERPM unlike the NEVR", next())
	s.Version = "2.0.1"
	s.Release = "3.fc40"
	s.Vendor = "rpmirror project"
	s.URL = "https://rpmirror.invalid/all-fields"
	s.Packager = "rpmirror packager <packager@rpmirror.invalid>"
	s.Group = "Applications/System"
	s.License = "Apache-2.0"
	s.SourceRPM = "all-fields-src-2.0-1.src.rpm"
	s.Changelogs = []Changelog{{Time: day(2), Author: "rpmirror packager <packager@rpmirror.invalid> - 2.0.1-3", Text: "- Update"}}
	add(s)

	s = edge("legacy-weak-deps", "old SUSE-style weak deps: OLDSUGGESTS/OLDENHANCES tags with the STRONG flag, and a MISSINGOK require", next())
	s.Requires = []Dep{dep("legacy-missingok", MissingOK, "")}
	s.RawTags = []RawTag{
		{Tag: tagOldSuggestsName, Value: []string{"legacy-rec", "legacy-sug"}},
		{Tag: tagOldSuggestsVersion, Value: []string{"1.0", ""}},
		{Tag: tagOldSuggestsFlags, Value: []uint32{uint32(Strong | GE), 0}},
		{Tag: tagOldEnhancesName, Value: []string{"legacy-sup", "legacy-enh"}},
		{Tag: tagOldEnhancesVersion, Value: []string{"", ""}},
		{Tag: tagOldEnhancesFlags, Value: []uint32{uint32(Strong), 0}},
	}
	add(s)

	s = edge("sortorder-b", "file name a-sortorder.rpm sorts before that of sortorder-a", next())
	s.FileName = "a-sortorder.rpm"
	add(s)
	s = edge("sortorder-a", "file name z-sortorder.rpm sorts after that of sortorder-b", next())
	s.FileName = "z-sortorder.rpm"
	add(s)
	s = edge("versort", "version 1.10: its file name sorts before that of 1.9, its version after", next())
	s.Version = "1.10"
	add(s)
	s = edge("versort", "version 1.9: its file name sorts after that of 1.10, its version before", next())
	s.Version = "1.9"
	add(s)
	s = edge("SortCase", "an upper-case name: byte order puts it before all lower-case names", next())
	add(s)

	return cs
}

// longChangelog has 14 entries, newest first, with a run of three equal
// dates and a run of two.
func longChangelog() []Changelog {
	days := []int{1, 3, 5, 5, 5, 8, 13, 21, 34, 55, 55, 89, 144, 233}
	var out []Changelog
	for i, d := range days {
		c := Changelog{
			Time:   day(d),
			Author: fmt.Sprintf("Packager %d <p%d@example.com> - 1.0-%d", i, i, len(days)-i),
			Text:   fmt.Sprintf("- change number %d", len(days)-i),
		}
		switch i {
		case 2:
			c.Author = "Trailing Space <ts@example.com>   "
		case 6:
			c.Text = "- first line\n- second line\n  continued"
		case 7:
			c.Author = "No Email"
		}
		out = append(out, c)
	}
	return out
}
