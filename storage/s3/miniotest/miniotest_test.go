package miniotest

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

// listeningAddrs returns the local addresses (hex, as /proc/net/tcp*
// shows them) of the sockets pid listens on.
func listeningAddrs(t *testing.T, pid int) []string {
	t.Helper()
	fds, err := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/fd/*")
	if err != nil {
		t.Fatal(err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		if l, err := os.Readlink(fd); err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	var addrs []string
	for _, table := range []string{"tcp", "tcp6", "udp", "udp6"} {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/net/" + table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || !inodes[f[9]] {
				continue
			}
			// TCP: state 0A is LISTEN; UDP: any bound socket counts.
			if strings.HasPrefix(table, "tcp") && f[3] != "0A" {
				continue
			}
			addrs = append(addrs, table+" "+f[1])
		}
	}
	return addrs
}

func TestLoopbackOnly(t *testing.T) {
	if _, err := os.Stat("/proc/self/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp")
	}
	s := Start(t)
	addrs := listeningAddrs(t, s.cmd.Process.Pid)
	if len(addrs) == 0 {
		t.Fatal("found no listening socket of the server")
	}
	for _, a := range addrs {
		table, addr, _ := strings.Cut(a, " ")
		host, _, _ := strings.Cut(addr, ":")
		loopback := host == "0100007F" || // 127.0.0.1, little-endian hex
			host == "0000000000000000FFFF00000100007F" || // ::ffff:127.0.0.1
			host == "00000000000000000000000001000000" // ::1
		if !loopback {
			t.Errorf("server listens on %s %s, not on the loopback address", table, addr)
		}
	}
	t.Logf("listening: %v", addrs)
}

func TestStartStop(t *testing.T) {
	s := Start(t)
	ctx := context.Background()
	bucket := s.Bucket(t)
	if ok, err := s.Client().BucketExists(ctx, bucket); err != nil || !ok {
		t.Fatalf("bucket %s: %v %v", bucket, ok, err)
	}
	// A bucket name from a long, odd test name is still valid.
	t.Run("A very long test name/With Odd_Characters: and more and more and more and more text", func(t *testing.T) {
		b := s.Bucket(t)
		if len(b) > 63 || strings.ToLower(b) != b {
			t.Errorf("bucket name %q", b)
		}
	})
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(time.Second):
		t.Fatal("server still running after Stop")
	}
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("data directory %s left after Stop: %v", s.dir, err)
	}
	if c, err := net.DialTimeout("tcp", s.Endpoint, time.Second); err == nil {
		c.Close()
		t.Error("server still accepts connections after Stop")
	}
}

func TestShared(t *testing.T) {
	a, b := Shared(t), Shared(t)
	if a != b {
		t.Error("Shared started two servers")
	}
	if a.Bucket(t) == b.Bucket(t) {
		t.Error("two buckets with the same name")
	}
}

func TestBinaryMissing(t *testing.T) {
	t.Setenv("RPMIRROR_MINIO", filepath.Join(t.TempDir(), "nothing"))
	if p, why := Binary(); p != "" || !strings.Contains(why, "RPMIRROR_MINIO") {
		t.Errorf("Binary() = %q, %q", p, why)
	}
	t.Setenv("RPMIRROR_MINIO", "")
	t.Setenv("RPMIRROR_CACHE", t.TempDir())
	t.Setenv("PATH", t.TempDir())
	if p, why := Binary(); p != "" || !strings.Contains(why, ".ci/install-minio") {
		t.Errorf("Binary() = %q, %q; want a pointer to .ci/install-minio", p, why)
	}
}
