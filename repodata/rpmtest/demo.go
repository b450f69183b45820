package rpmtest

import "time"

// Demo returns eight realistic packages for the README's demo and the dnf
// end-to-end test. Together they install with
//
//	dnf --installroot=ROOT --releasever=1 --repofrompath=demo,DIR --repo=demo install 'rpmirror-demo-*'
//
// into an empty root: every dependency is satisfied within the set (none
// requires /bin/sh or glibc, and there are no scriptlets). The two library
// packages are x86_64, the rest noarch. All are signed with TestKey, so a
// repository made of them can be used with gpgcheck=1 and the key from
// TestKey().PublicKey(). The result is deterministic and freshly
// allocated on each call.
//
// What they show: rpmirror-demo-hello (a /usr/bin script) requires
// rpmirror-demo-config (%config(noreplace) files under /etc) and
// recommends rpmirror-demo-docs (a %doc file, which also supplements and
// enhances hello); rpmirror-demo-libgreet and rpmirror-demo-libgreet-devel
// are a library and its devel package tied by an exact versioned require
// on the arch-qualified provide; rpmirror-demo-clock has epoch 2 and
// obsoletes and provides an older name; rpmirror-demo-suite has no files
// and pulls the rest in with a versioned require, a rich dependency, a
// Recommends and a Suggests of rpmirror-demo-extras, which conflicts with
// old versions of hello.
func Demo() []Spec {
	const lib = "/usr/lib64/"
	demo := func(name, version, summary string, hour int) Spec {
		return Spec{
			Name:        name,
			Version:     version,
			Release:     "1",
			Arch:        "noarch",
			Summary:     summary,
			Description: summary + ".\nPart of the rpmirror demo repository.\n",
			License:     "Apache-2.0",
			Vendor:      "rpmirror project",
			URL:         "https://github.com/rpmirror/rpmirror",
			Packager:    "rpmirror demo <demo@rpmirror.invalid>",
			Group:       "Applications/System",
			BuildHost:   "build.rpmirror.invalid",
			BuildTime:   baseTime.AddDate(0, 1, 0).Add(time.Duration(hour) * time.Hour),
			Signer:      TestKey().Sign,
		}
	}

	hello := demo("rpmirror-demo-hello", "1.0", "Prints a greeting", 0)
	hello.Comment = "a shell script in /usr/bin that requires its configuration and recommends its documentation"
	hello.Files = []File{{Path: "/usr/bin/rpmirror-demo-hello", Mode: 0o755, Content: []byte(
		"#!/bin/sh\n" +
			"# rpmirror demo: print the configured greeting.\n" +
			"greeting=Hello\n" +
			"[ -r /etc/rpmirror-demo/hello.conf ] && . /etc/rpmirror-demo/hello.conf\n" +
			"echo \"$greeting from rpmirror-demo-hello\"\n")}}
	hello.Requires = []Dep{dep("rpmirror-demo-config", GE, "1.0")}
	hello.Recommends = []Dep{dep("rpmirror-demo-docs", 0, "")}
	hello.Changelogs = []Changelog{
		{Time: baseTime.AddDate(0, 0, 20), Author: "rpmirror demo <demo@rpmirror.invalid> - 1.0-1", Text: "- Read the greeting from /etc/rpmirror-demo/hello.conf"},
		{Time: baseTime.AddDate(0, 0, 10), Author: "rpmirror demo <demo@rpmirror.invalid> - 0.1-1", Text: "- First version"},
	}

	config := demo("rpmirror-demo-config", "1.0", "Configuration for the rpmirror demo", 1)
	config.Comment = "%config(noreplace) files and directories under /etc"
	config.Files = []File{
		{Path: "/etc/rpmirror-demo", Dir: true},
		{Path: "/etc/rpmirror-demo/hello.conf", Flags: FileConfig | FileNoReplace, Content: []byte("greeting='Hello, world'\n")},
		{Path: "/etc/rpmirror-demo/clock.conf", Flags: FileConfig, Content: []byte("format=%H:%M\n")},
		{Path: "/usr/share/rpmirror-demo", Dir: true},
	}

	libgreet := demo("rpmirror-demo-libgreet", "1.2.0", "Greeting library", 2)
	libgreet.Comment = "an x86_64 shared library with a soname provide and symlinks"
	libgreet.Arch = "x86_64"
	libgreet.Provides = []Dep{
		dep("rpmirror-demo-libgreet(x86-64)", EQ, "1.2.0-1"),
		dep("librpmirror-greet.so.1()(64bit)", 0, ""),
	}
	libgreet.Files = []File{
		{Path: lib + "librpmirror-greet.so.1", Symlink: "librpmirror-greet.so.1.2.0"},
		{Path: lib + "librpmirror-greet.so.1.2.0", Mode: 0o755, Content: []byte("\x7fELF not really a library: rpmirror demo\n")},
	}

	devel := demo("rpmirror-demo-libgreet-devel", "1.2.0", "Development files for the greeting library", 3)
	devel.Comment = "the devel package: an exact versioned require on the library's arch-qualified provide"
	devel.Arch = "x86_64"
	devel.Provides = []Dep{
		dep("rpmirror-demo-libgreet-devel(x86-64)", EQ, "1.2.0-1"),
		dep("pkgconfig(rpmirror-greet)", EQ, "1.2.0"),
	}
	devel.Requires = []Dep{
		dep("rpmirror-demo-libgreet(x86-64)", EQ, "1.2.0-1"),
		dep("librpmirror-greet.so.1()(64bit)", 0, ""),
	}
	devel.Files = []File{
		reg("/usr/include/rpmirror-greet.h", "const char *rpmirror_greet(void);\n"),
		{Path: lib + "librpmirror-greet.so", Symlink: "librpmirror-greet.so.1"},
		reg(lib+"pkgconfig/rpmirror-greet.pc", "Name: rpmirror-greet\nVersion: 1.2.0\nLibs: -lrpmirror-greet\n"),
	}

	clock := demo("rpmirror-demo-clock", "0.9", "Tells the time, with an epoch", 4)
	clock.Comment = "epoch 2; obsoletes and provides an older package name"
	clock.Epoch = new(uint32(2))
	clock.Release = "3"
	clock.Provides = []Dep{dep("rpmirror-demo-oldclock", EQ, "2:0.9-3")}
	clock.Obsoletes = []Dep{dep("rpmirror-demo-oldclock", LT, "2:0.9")}
	clock.Requires = []Dep{dep("rpmirror-demo-config", 0, "")}
	clock.Files = []File{reg("/usr/share/rpmirror-demo/clock.txt", "It is always demo o'clock.\n")}
	clock.Changelogs = []Changelog{{Time: baseTime.AddDate(0, 0, 25), Author: "rpmirror demo <demo@rpmirror.invalid> - 2:0.9-3", Text: "- Epoch bump: version 0.9 replaces 1.5"}}

	docs := demo("rpmirror-demo-docs", "1.0", "Documentation for the rpmirror demo", 5)
	docs.Comment = "a %doc file; supplements and enhances hello"
	docs.Supplements = []Dep{dep("rpmirror-demo-hello", 0, "")}
	docs.Enhances = []Dep{dep("rpmirror-demo-hello", 0, "")}
	docs.Files = []File{{Path: "/usr/share/doc/rpmirror-demo/README", Flags: FileDoc, Content: []byte("This is the rpmirror demo repository.\n")}}

	suite := demo("rpmirror-demo-suite", "1.0", "Installs the whole rpmirror demo", 6)
	suite.Comment = "a meta package without files: versioned and rich requires, Recommends, Suggests"
	suite.Requires = []Dep{
		dep("rpmirror-demo-hello", GE, "1.0"),
		dep("rpmirror-demo-clock", GE, "2:0.9"),
		dep("(rpmirror-demo-libgreet-devel if rpmirror-demo-libgreet)", 0, ""),
		dep("rpmirror-demo-libgreet", 0, ""),
		dep("rpmlib(RichDependencies)", RPMLib|LE, "4.12.0-1"),
	}
	suite.Recommends = []Dep{dep("rpmirror-demo-docs", 0, "")}
	suite.Suggests = []Dep{dep("rpmirror-demo-extras", 0, "")}

	extras := demo("rpmirror-demo-extras", "1.0", "Extra fortunes for the rpmirror demo", 7)
	extras.Comment = "requires hello and conflicts with its old versions"
	extras.Requires = []Dep{dep("rpmirror-demo-hello", 0, "")}
	extras.Conflicts = []Dep{dep("rpmirror-demo-hello", LT, "1.0")}
	extras.Files = []File{
		{Path: "/usr/share/rpmirror-demo/extras", Dir: true},
		reg("/usr/share/rpmirror-demo/extras/fortunes", "Mirrors never lie.\n%\nrpm-md is just XML.\n"),
	}

	return []Spec{hello, config, libgreet, devel, clock, docs, suite, extras}
}
