package compress

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
)

// words is the vocabulary of summaries and descriptions, most frequent
// first; Zipf-distributed picks from it give text that compresses about
// like real package descriptions.
var words = strings.Fields(`
the a and of to for is in with library that this package files it
support be can are on tools from as an development or by data provides
which you used python applications headers utility file system program
devel contains other use server client module interface written based
perl implementation allows using functions documentation simple fast
format network command line GNU also its not have libraries set into
language user api these more static C++ free open source compatible
runtime plugin extension Java framework desktop GTK Qt bindings XML JSON
HTTP protocol graphical terminal manager configuration service daemon
kernel driver devices display font fonts theme icons image audio video
stream streaming parser generator compiler debugger editor text shell
scripts test testing unit lightweight portable high performance small
secure encryption compression archive database SQL query cache memory
thread threads event events loop async asynchronous object oriented
toolkit widget widgets window windows rendering engine graphics 3D OpenGL
Vulkan Wayland X11 session power battery network wireless Bluetooth USB
printer scanner camera storage disk filesystem backup sync remote access
management monitoring logging log logs metrics statistics report analysis
scientific numerical math matrix linear algebra statistical plotting
visualization web browser email mail calendar contacts chat messaging
games game emulator player music media package's files programs needed
must install if want your developing against header static shared
`)

// nameParts make package names.
var nameParts = strings.Fields(`
xfce4 gtk qt python3 perl golang rust nodejs lib glib gnome kde mesa
xorg x11 drv plugin panel session settings power manager terminal
screensaver notifyd appfinder clipman cpugraph docklike pulseaudio
sensors taskmanager wavelan whiskermenu util errors cairo pango harfbuzz
freetype fontconfig pixman wayland vulkan openssl zlib bzip2 xz zstd
curl wget git vim emacs nano bash zsh fish systemd dbus polkit udev
`)

var licenses = []string{
	"GPL-2.0-or-later", "LGPL-2.1-or-later", "MIT", "BSD-3-Clause",
	"Apache-2.0", "GPLv3", "GPL-2.0-only AND LGPL-2.1-or-later", "MPL-2.0",
}

var arches = []string{"x86_64", "x86_64", "x86_64", "noarch", "i686"}

// sonames is the pool requires and provides draw from.
var sonames = func() []string {
	var s []string
	for _, lib := range nameParts {
		s = append(s, "lib"+lib+".so.0()(64bit)", "lib"+lib+"-1.0.so.0()(64bit)")
	}
	for v := 2; v <= 38; v++ {
		s = append(s, fmt.Sprintf("libc.so.6(GLIBC_2.%d)(64bit)", v))
	}
	return s
}()

// primaryXML returns about size bytes of primary.xml-like text, the same
// for the same size. It compresses a little worse than a real
// createrepo_c primary.xml (azurelinux, 443 KB): gzip -6 12.9% against
// 12.1%, gzip -1 16.1% against 14.8%, zstd -3 13.1% against 11.9%, xz -6
// 9.5% for both.
func primaryXML(size int) []byte {
	xmlCacheMu.Lock()
	defer xmlCacheMu.Unlock()
	if b, ok := xmlCache[size]; ok {
		return b
	}
	rng := rand.New(rand.NewPCG(1, uint64(size)))
	zipf := rand.NewZipf(rng, 1.3, 4, uint64(len(words)-1))
	text := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(words[zipf.Uint64()])
		}
		return b.String()
	}
	pick := func(s []string) string { return s[rng.IntN(len(s))] }

	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="0">` + "\n")
	for b.Len() < size {
		name := pick(nameParts) + "-" + pick(nameParts)
		if rng.IntN(3) == 0 {
			name += "-devel"
		}
		arch := pick(arches)
		ver := fmt.Sprintf("%d.%d.%d", rng.IntN(10), rng.IntN(30), rng.IntN(100))
		rel := fmt.Sprintf("%d.azl3", 1+rng.IntN(5))
		build := 1700000000 + rng.IntN(60000000)
		fmt.Fprintf(&b, "<package type=\"rpm\">\n  <name>%s</name>\n  <arch>%s</arch>\n", name, arch)
		fmt.Fprintf(&b, "  <version epoch=\"0\" ver=\"%s\" rel=\"%s\"/>\n", ver, rel)
		fmt.Fprintf(&b, "  <checksum type=\"sha256\" pkgid=\"YES\">%016x%016x%016x%016x</checksum>\n",
			rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64())
		fmt.Fprintf(&b, "  <summary>%s</summary>\n", text(3+rng.IntN(6)))
		desc := text(10 + rng.IntN(60))
		for i := 60; i < len(desc); i += 70 {
			if j := strings.IndexByte(desc[i:], ' '); j >= 0 {
				desc = desc[:i+j] + "\n" + desc[i+j+1:]
			}
		}
		fmt.Fprintf(&b, "  <description>%s</description>\n  <packager></packager>\n", desc)
		fmt.Fprintf(&b, "  <url>https://github.com/%s/%s</url>\n", pick(nameParts), name)
		fmt.Fprintf(&b, "  <time file=\"%d\" build=\"%d\"/>\n", build+rng.IntN(1000), build)
		fmt.Fprintf(&b, "  <size package=\"%d\" installed=\"%d\" archive=\"%d\"/>\n",
			rng.IntN(1<<24), rng.IntN(1<<26), rng.IntN(1<<26))
		fmt.Fprintf(&b, "  <location href=\"packages/%c/%s-%s-%s.%s.rpm\"/>\n", name[0], name, ver, rel, arch)
		fmt.Fprintf(&b, "  <format>\n    <rpm:license>%s</rpm:license>\n", pick(licenses))
		b.WriteString("    <rpm:vendor>Microsoft Corporation</rpm:vendor>\n    <rpm:group>Unspecified</rpm:group>\n")
		fmt.Fprintf(&b, "    <rpm:buildhost>%s</rpm:buildhost>\n", pick([]string{"azurelinux", "offsec", "koji-builder-01"}))
		fmt.Fprintf(&b, "    <rpm:sourcerpm>%s-%s-%s.src.rpm</rpm:sourcerpm>\n", name, ver, rel)
		fmt.Fprintf(&b, "    <rpm:header-range start=\"4504\" end=\"%d\"/>\n", 5000+rng.IntN(200000))
		b.WriteString("    <rpm:provides>\n")
		fmt.Fprintf(&b, "      <rpm:entry name=\"%s\" flags=\"EQ\" epoch=\"0\" ver=\"%s\" rel=\"%s\"/>\n", name, ver, rel)
		if arch == "x86_64" {
			fmt.Fprintf(&b, "      <rpm:entry name=\"%s(x86-64)\" flags=\"EQ\" epoch=\"0\" ver=\"%s\" rel=\"%s\"/>\n", name, ver, rel)
		}
		for range rng.IntN(6) {
			fmt.Fprintf(&b, "      <rpm:entry name=\"%s\"/>\n", pick(sonames))
		}
		b.WriteString("    </rpm:provides>\n    <rpm:requires>\n")
		for range 4 + rng.IntN(30) {
			fmt.Fprintf(&b, "      <rpm:entry name=\"%s\"/>\n", pick(sonames))
		}
		b.WriteString("    </rpm:requires>\n")
		for range rng.IntN(3) {
			fmt.Fprintf(&b, "    <file>/usr/bin/%s</file>\n", pick(nameParts))
		}
		b.WriteString("  </format>\n</package>\n")
	}
	b.WriteString("</metadata>\n")
	xmlCache[size] = b.Bytes()
	return b.Bytes()
}

var (
	xmlCacheMu sync.Mutex
	xmlCache   = map[int][]byte{}
)
