package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// DNFRoot is an empty dnf installroot with one repository configured,
// for end-to-end tests that install from what rpmirror made. It needs
// dnf, rpm and root; without them the test skips (or fails under
// RPMIRROR_REQUIRE_ALL=1).
type DNFRoot struct {
	t        testing.TB
	dnf, rpm string
	Root     string
	work     string
	reposd   string
}

// NewDNFRoot configures a repository at baseURL. gpgKey, if not nil, is
// the armored key packages must be signed with (gpgcheck=1);
// repoGPGCheck also requires a valid repodata/repomd.xml.asc.
func NewDNFRoot(t testing.TB, baseURL string, gpgKey []byte, repoGPGCheck bool) *DNFRoot {
	t.Helper()
	d := &DNFRoot{t: t, dnf: RequireTool(t, "dnf"), rpm: RequireTool(t, "rpm")}
	if os.Geteuid() != 0 {
		Missing(t, "dnf --installroot needs root")
	}
	d.work = t.TempDir()
	d.Root = filepath.Join(d.work, "root")
	d.reposd = filepath.Join(d.work, "repos.d")
	if err := os.MkdirAll(d.reposd, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("[rpmirror-test]\nname=rpmirror test\nbaseurl=%s\nmetadata_expire=0\n", baseURL)
	if gpgKey != nil {
		key := filepath.Join(d.work, "RPM-GPG-KEY-rpmirror-test")
		if err := os.WriteFile(key, gpgKey, 0o644); err != nil {
			t.Fatal(err)
		}
		conf += fmt.Sprintf("gpgcheck=1\ngpgkey=file://%s\n", key)
	} else {
		conf += "gpgcheck=0\n"
	}
	if repoGPGCheck {
		conf += "repo_gpgcheck=1\n"
	}
	if err := os.WriteFile(filepath.Join(d.reposd, "rpmirror-test.repo"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

// Install runs dnf install of pkgs into the root and returns its output;
// a failure fails the test with that output.
func (d *DNFRoot) Install(pkgs ...string) string {
	d.t.Helper()
	out, err := d.TryInstall(pkgs...)
	if err != nil {
		d.t.Fatalf("dnf install %v: %v\n%s", pkgs, err, out)
	}
	return out
}

// TryInstall is Install that returns the error instead.
func (d *DNFRoot) TryInstall(pkgs ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append([]string{"-y", "--installroot", d.Root, "--releasever", "9",
		"--setopt=reposdir=" + d.reposd, "--setopt=cachedir=" + filepath.Join(d.work, "cache"),
		"--disablerepo=*", "--enablerepo=rpmirror-test", "--setopt=install_weak_deps=True",
		"install"}, pkgs...)
	cmd := exec.CommandContext(ctx, d.dnf, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// Installed lists the installed packages as name-version.
func (d *DNFRoot) Installed() []string {
	d.t.Helper()
	b, err := exec.Command(d.rpm, "--root", d.Root, "-qa", "--qf", "%{NAME}-%{VERSION}\n").Output()
	if err != nil {
		d.t.Fatalf("rpm -qa: %v", err)
	}
	return strings.Fields(string(b))
}
