package main

import (
	"fmt"
	"strings"
)

// Word lists and templates. The texts carry what metadata writers must
// escape or pass through: <, >, &, quotes, tabs, and UTF-8 (2, 3 and
// 4-byte sequences). No other control characters: createrepo_c rejects
// them.

var words = strings.Fields(`config parser util stream buffer render index cache token socket
	thread image font theme locale schema widget plugin codec filter table graph vector
	matrix signal event queue crypto hash store query layout driver module report client
	server session profile archive backup sync mirror packet frame scene model shader
	sample manual tutorial example api guide intro faq reader writer loader builder
	handler monitor journal ledger policy router tunnel bridge portal sensor timer
	pixel glyph palette cursor window dialog editor viewer player mixer`)

var locales = strings.Fields(`de fr es it ja zh_CN pt_BR ru pl cs sv nl ko uk tr fi`)

var dataExts = []string{".dat", ".png", ".svg", ".json", ".xml", ".ttf", ".wav", ".bin", ".db"}

var docExts = []string{".html", ".html", ".html", ".png", ".css", ".js", ".txt"}

var glibcVersions = strings.Fields(`2.3 2.3.4 2.4 2.7 2.14 2.17 2.25 2.28 2.32 2.33 2.34 2.38`)

var systemLibs = []string{
	"libm.so.6()(64bit)", "libz.so.1()(64bit)", "libcrypto.so.3()(64bit)",
	"libcrypto.so.3(OPENSSL_3.0.0)(64bit)", "libssl.so.3()(64bit)",
	"libstdc++.so.6()(64bit)", "libstdc++.so.6(GLIBCXX_3.4)(64bit)",
	"libstdc++.so.6(CXXABI_1.3)(64bit)", "libgcc_s.so.1()(64bit)",
	"libgcc_s.so.1(GCC_3.0)(64bit)", "libpthread.so.0()(64bit)",
	"libsystemd.so.0()(64bit)", "libzstd.so.1()(64bit)", "liblzma.so.5()(64bit)",
	"libxml2.so.2()(64bit)", "libglib-2.0.so.0()(64bit)", "libcurl.so.4()(64bit)",
}

var bundled = []string{"golang(github.com/spf13/cobra)", "crate(serde)", "npm(lodash)", "libyaml", "sqlite", "md5-plumb"}

var perlCore = strings.Fields(`strict warnings Carp Exporter Scalar::Util List::Util
	File::Spec File::Temp POSIX Encode IO::Handle Storable Data::Dumper Getopt::Long
	constant overload parent vars base utf8 Time::HiRes`)

var commonRequires = []string{"bash", "coreutils", "filesystem", "glibc-common", "findutils", "sed", "grep"}

var licenses = []string{
	"MIT", "BSD-3-Clause", "Apache-2.0", "GPL-2.0-or-later", "GPL-3.0-only",
	"LGPL-2.1-or-later", "GPL-2.0-only AND LGPL-2.1-only", "MPL-2.0",
	"(MIT OR Apache-2.0) AND Unicode-DFS-2016", "Artistic-1.0-Perl OR GPL-1.0-or-later",
	"ISC", "Zlib", "BSD-2-Clause AND MIT",
}

var forges = []string{"github.com/example", "gitlab.com/example", "example.org/projects", "sourceforge.net/projects"}

var authors = []string{
	"Ana Núñez <ana@example.org>",
	"Jörg Ådahl <joerg@example.de>",
	"Marie-Hélène O'Brien <mho@example.fr>",
	"Li Wei <liwei@example.cn>",
	"山田 太郎 <taro@example.jp>",
	"Björn Nilsson <bjorn@example.se>",
	"Oleksandr Kovalenko <ok@example.ua>",
	"Priya Raghunathan <priya@example.in>",
	"Bench Build System <build@example.org>",
	"Chris \"CJ\" Jones <cj@example.com>",
}

var changes = []string{
	"Update to {ver}",
	"Rebuilt for the EL 9.{n} mass rebuild",
	"Fix crash when parsing <{word}> & \"{word}\" elements (rhbz#{bug})",
	"Security fix for CVE-20{yy}-{bug}",
	"Use %{_libdir} instead of hard-coded /usr/lib64",
	"Drop the 'obsolete' {word} patch; upstreamed in {ver}",
	"Add {name}-{word} subpackage",
	"Übersetzungen aktualisiert; corrige l'accès à {word}",
	"修复 {word} 内存泄漏 (#{n})",
	"Switch to %pyproject macros — no functional change",
	"Backport fix for a race in {word}_open() → {word}_close()",
	"Enable tests on x86_64 only: 3 < 4 && 5 > 2",
	"Build with -O2 -flto=auto; {word}: 15 % faster 🚀",
}

var libSummaries = []string{
	"{Base} library for parsing <{word}> & {word} data",
	"Shared library for fast {word} compression",
	"{Base} — a “zero-copy” {word} toolkit",
	"Runtime library for the {base} \"{word}\" format",
	"C library implementing the {Word} protocol",
}

var toolSummaries = []string{
	"Command-line tools for {base} & friends",
	"Daemon that watches {word} \"events\" and reports them",
	"Utility to convert {word} files into <{word}> documents",
	"{Base}: a small, fast {word} manager",
	"Outil de gestion des {word}s pour {base}",
}

var pythonSummaries = []string{
	"Python 3 bindings for {base}",
	"A Python module to read {word} files (<{word}/> tags)",
	"{Base}: {word} & {word} helpers for Python",
	"Pythonic access to the {Word} API",
}

var perlSummaries = []string{
	"Perl {Module} module for {word} handling",
	"{Module} - interface to {word} & {word} objects",
	"Pure-Perl implementation of the {Word} \"spec\"",
}

var sentences = []string{
	"{Base} provides a {word} API for applications that need <{word}> support.",
	"It supports streaming & random access, with \"lazy\" loading of {word} data.",
	"Naïve implementations are O(n²); {base} is not.",
	"The library ships a C++ API (std::vector<{Word}>) and a plain C API.",
	"Données traitées ≈ 10 % plus vite qu'avec {word}.",
	"日本語のドキュメントも含まれています。",
	"Use '{base} --help' for the list of options.",
	"Configuration lives in /etc/{base}; see {base}(5).",
	"Handles 'quoted' strings, tabs\tand ümlauts in {word} names.",
	"This package was split out of {base} so that it can be installed without {word}.",
	"Emoji in {word} names (like 📦) are passed through unchanged.",
	"Requires a kernel >= 5.14 && systemd > 250 for the {word} feature.",
}

// texts returns the summary and description.
func (g *gen) texts() (summary, description string) {
	r := g.r
	var pool []string
	switch g.pk.kind {
	case kindLib, kindData:
		pool = libSummaries
	case kindDevel:
		pool = []string{"Development files for {name0}"}
	case kindTool:
		pool = toolSummaries
	case kindPython:
		pool = pythonSummaries
	case kindPerl:
		pool = perlSummaries
	case kindDoc:
		pool = []string{"Documentation for {base} (HTML & man pages)", "{Base} API reference — HTML"}
	}
	summary = g.fill(pick(r, pool))

	var b strings.Builder
	for p := range 1 + r.IntN(3) {
		if p > 0 {
			b.WriteString("\n\n")
		}
		var para strings.Builder
		for s := range 2 + r.IntN(4) {
			if s > 0 {
				para.WriteByte(' ')
			}
			para.WriteString(g.fill(pick(r, sentences)))
		}
		b.WriteString(wrap(para.String(), 72))
	}
	return summary, b.String()
}

// fill replaces the placeholders of a template.
func (g *gen) fill(t string) string {
	r := g.r
	var b strings.Builder
	for {
		i := strings.IndexByte(t, '{')
		j := strings.IndexByte(t[max(i, 0):], '}')
		if i < 0 || j < 0 {
			b.WriteString(t)
			return b.String()
		}
		j += i
		b.WriteString(t[:i])
		switch key := t[i+1 : j]; key {
		case "name":
			b.WriteString(g.pk.name)
		case "name0":
			b.WriteString(strings.TrimSuffix(g.pk.name, "-devel"))
		case "base":
			b.WriteString(g.src.base)
		case "Base":
			b.WriteString(capitalize(g.src.base))
		case "Module":
			b.WriteString(g.src.module)
		case "word":
			b.WriteString(pick(r, words))
		case "Word":
			b.WriteString(capitalize(pick(r, words)))
		case "ver":
			b.WriteString(g.src.version)
		case "n":
			fmt.Fprint(&b, 1+r.IntN(9))
		case "yy":
			fmt.Fprintf(&b, "%02d", 18+r.IntN(7))
		case "bug":
			fmt.Fprint(&b, 1000000+r.IntN(1500000))
		default: // "%{_libdir}": not a placeholder
			b.WriteString(t[i : j+1])
		}
		t = t[j+1:]
	}
}

// wrap breaks s into lines of at most width bytes at spaces.
func wrap(s string, width int) string {
	var b strings.Builder
	line := 0
	for i, w := range strings.Split(s, " ") {
		if i > 0 {
			if line+1+len(w) > width {
				b.WriteByte('\n')
				line = 0
			} else {
				b.WriteByte(' ')
				line++
			}
		}
		b.WriteString(w)
		line += len(w)
	}
	return b.String()
}
