// Package miniotest runs a MinIO server on 127.0.0.1 for tests.
//
// MinIO is a separate program (AGPL) that the tests start, never a
// library they import. The binary is looked up in $RPMIRROR_MINIO, then
// ${RPMIRROR_CACHE:-$HOME/.cache/rpmirror}/bin/minio (where
// .ci/install-minio puts it), then $PATH; when it is missing the test
// skips, or fails under RPMIRROR_REQUIRE_ALL=1.
//
// The server listens on 127.0.0.1 only, keeps its data in a temporary
// directory, has its console, update check and call-home switched off,
// and is stopped (with its process group) when the test, or for Shared
// the test binary, ends.
//
// A package whose tests use Shared runs them through Main:
//
//	func TestMain(m *testing.M) { miniotest.Main(m) }
package miniotest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/rpmirror/rpmirror/repodata/rpmtest/testenv"
)

// Server is a running MinIO server.
type Server struct {
	// Endpoint is "127.0.0.1:port" of the S3 API (plain HTTP).
	Endpoint string
	// AccessKey and SecretKey are the root credentials, generated for
	// this server.
	AccessKey, SecretKey string
	// Region is the server's region (MinIO's default).
	Region string

	client *minio.Client
	cmd    *exec.Cmd
	dir    string
	log    *bytes.Buffer
	done   chan struct{} // closed when the process has exited
	logMu  *sync.Mutex
}

// Binary returns the path of the minio binary, or "" and the places
// searched.
func Binary() (string, string) {
	if p := os.Getenv("RPMIRROR_MINIO"); p != "" {
		if isExecutable(p) {
			return p, ""
		}
		return "", fmt.Sprintf("$RPMIRROR_MINIO=%s is not an executable file", p)
	}
	cache := os.Getenv("RPMIRROR_CACHE")
	if cache == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cache = filepath.Join(home, ".cache", "rpmirror")
		}
	}
	var searched []string
	if cache != "" {
		p := filepath.Join(cache, "bin", "minio")
		if isExecutable(p) {
			return p, ""
		}
		searched = append(searched, p)
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p, ""
	}
	searched = append(searched, "$PATH")
	return "", "minio server not found (looked in $RPMIRROR_MINIO, " + strings.Join(searched, ", ") +
		"); run .ci/install-minio (make test-deps) to build it"
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// Start starts a server for t alone, stopped in t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, why := Binary()
	if bin == "" {
		testenv.Missing(t, why)
	}
	s, err := start(bin)
	if err != nil {
		t.Fatalf("minio: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("minio: %v", err)
		}
	})
	return s
}

var shared struct {
	once   sync.Once
	srv    *Server
	err    error
	why    string
	inMain atomic.Bool
}

// Shared returns the server shared by the tests of this test binary,
// starting it on first use. The package's TestMain must call Main, which
// stops it.
func Shared(t testing.TB) *Server {
	t.Helper()
	if !shared.inMain.Load() {
		t.Fatal("miniotest.Shared needs the package's TestMain to call miniotest.Main")
	}
	shared.once.Do(func() {
		bin, why := Binary()
		if bin == "" {
			shared.why = why
			return
		}
		shared.srv, shared.err = start(bin)
	})
	if shared.why != "" {
		testenv.Missing(t, shared.why)
	}
	if shared.err != nil {
		t.Fatalf("minio: %v", shared.err)
	}
	return shared.srv
}

// Main runs the tests of m and then stops the shared server, if any.
func Main(m *testing.M) {
	shared.inMain.Store(true)
	code := m.Run()
	if shared.srv != nil {
		if err := shared.srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "miniotest:", err)
		}
	}
	os.Exit(code)
}

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func start(bin string) (*Server, error) {
	var lastErr error
	// A port found free can be taken before MinIO binds it: try again.
	for range 3 {
		s, err := startOnce(bin)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func startOnce(bin string) (*Server, error) {
	apiPort, err := freePort()
	if err != nil {
		return nil, err
	}
	consolePort, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "rpmirror-minio-")
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"data", "certs", "home"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
	s := &Server{
		Endpoint:  fmt.Sprintf("127.0.0.1:%d", apiPort),
		AccessKey: "rpmirror-" + randomString(4),
		SecretKey: randomString(16),
		Region:    "us-east-1",
		dir:       dir,
		log:       new(bytes.Buffer),
		logMu:     new(sync.Mutex),
		done:      make(chan struct{}),
	}
	cmd := exec.Command(bin, "server",
		"--address", s.Endpoint,
		"--console-address", fmt.Sprintf("127.0.0.1:%d", consolePort),
		"--certs-dir", filepath.Join(dir, "certs"),
		"--quiet", "--anonymous",
		filepath.Join(dir, "data"))
	// A minimal environment: nothing of the caller's MINIO_* or AWS_*
	// settings, and every feature that could reach the network off.
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(dir, "home"),
		"MINIO_ROOT_USER=" + s.AccessKey,
		"MINIO_ROOT_PASSWORD=" + s.SecretKey,
		"MINIO_UPDATE=off",
		"MINIO_CALLHOME_ENABLE=off",
		"MINIO_BROWSER=off",
		"MINIO_CI_CD=1", // small buffer pool, no root-disk refusal
	}
	cmd.Dir = dir
	cmd.Stdout = lockedWriter{s.logMu, s.log}
	cmd.Stderr = lockedWriter{s.logMu, s.log}
	// Its own process group, so Stop reaches any child; killed with the
	// test binary should that die without stopping it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s.cmd = cmd
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(60 * time.Second); err != nil {
		_ = s.Stop()
		return nil, err
	}
	s.client, err = minio.New(s.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Region: s.Region,
	})
	if err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Log returns what the server printed so far.
func (s *Server) Log() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.log.String()
}

func (s *Server) waitReady(timeout time.Duration) error {
	url := "http://" + s.Endpoint + "/minio/health/ready"
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("server exited before it was ready:\n%s", tail(s.Log(), 30))
		default:
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("server not ready after %v:\n%s", timeout, tail(s.Log(), 30))
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Stop kills the server and its process group and removes its data.
func (s *Server) Stop() error {
	if s.cmd == nil || s.cmd.Process == nil {
		return os.RemoveAll(s.dir)
	}
	// Its data is thrown away: no need for a graceful shutdown, which
	// takes MinIO seconds. The whole process group, children included.
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
	return os.RemoveAll(s.dir)
}

// Client returns a minio-go client with the root credentials.
func (s *Server) Client() *minio.Client { return s.client }

var (
	bucketSeq  atomic.Int64
	notInName  = regexp.MustCompile(`[^a-z0-9-]+`)
	dashesRuns = regexp.MustCompile(`-+`)
)

// Bucket creates a new, empty bucket named after t and returns its name.
func (s *Server) Bucket(t testing.TB) string {
	t.Helper()
	name := strings.ToLower(t.Name())
	name = dashesRuns.ReplaceAllString(notInName.ReplaceAllString(name, "-"), "-")
	name = strings.Trim(name, "-")
	seq := fmt.Sprintf("t%d-", bucketSeq.Add(1))
	if max := 63 - len(seq); len(name) > max {
		name = strings.Trim(name[len(name)-max:], "-")
	}
	name = seq + name
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.client.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: s.Region}); err != nil {
		t.Fatalf("minio: make bucket %s: %v", name, err)
	}
	return name
}
