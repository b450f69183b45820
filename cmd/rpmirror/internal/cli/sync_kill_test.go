package cli

// The rpmirror binary as a process: killed with SIGKILL in the middle of
// a sync and run again, run twice at once on one cache and target, and
// run as a daemon (--every) that serves metrics and stops cleanly on
// SIGTERM. The upstreams are sync_hostile_test.go's.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rpmirror/rpmirror/repodata/rpmtest"
	"github.com/rpmirror/rpmirror/repodata/rpmtest/testenv"
)

// ksBuild builds a command of this module into a new directory and
// returns the binary.
func ksBuild(t *testing.T, pkg string) string {
	t.Helper()
	gobin := testenv.RequireTool(t, "go")
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, gobin, "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// hsSyncProcess runs `rpmirror sync` as a process of the binary bin,
// with JSON logs, and returns its exit code, standard error and peak RSS
// in bytes.
func hsSyncProcess(t *testing.T, bin, cfg string) (int, string, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--config", cfg, "--log-format", "json", "sync")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("rpmirror sync: %v\n%s", err, stderr.String())
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss << 10 // KiB on Linux
	}
	return cmd.ProcessState.ExitCode(), stderr.String(), rss
}

// ksThrottle serves .rpm files in 16 KiB pieces 10 ms apart (about
// 1.6 MB/s per transfer) while on is set, the rest at full speed.
func ksThrottle(on *atomic.Bool) hsFault {
	return func(w http.ResponseWriter, r *http.Request, rec *hsRequest, serve http.Handler) {
		if !strings.HasSuffix(r.URL.Path, ".rpm") || !on.Load() {
			serve.ServeHTTP(w, r)
			return
		}
		full := httptest.NewRecorder()
		serve.ServeHTTP(full, r)
		for k, v := range full.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(full.Code)
		rc := http.NewResponseController(w)
		body := full.Body.Bytes()
		for len(body) > 0 {
			n := min(len(body), 16<<10)
			if !on.Load() {
				n = len(body)
			}
			if _, err := w.Write(body[:n]); err != nil {
				return // the client is gone
			}
			rc.Flush()
			body = body[n:]
			if len(body) > 0 && on.Load() {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
}

// ksPoolState is what the sync cache holds after a kill: the verified
// packages (their sha256) and the partial downloads (file -> size).
func ksPoolState(t *testing.T, cache string) (complete map[string]bool, partial map[string]int64) {
	t.Helper()
	complete, partial = map[string]bool{}, map[string]int64{}
	filepath.WalkDir(filepath.Join(cache, "pool", "sha256"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".rpm") {
			complete[strings.TrimSuffix(filepath.Base(p), ".rpm")] = true
		}
		return nil
	})
	entries, _ := os.ReadDir(filepath.Join(cache, "pool", "partial"))
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			partial[filepath.Join(cache, "pool", "partial", e.Name())] = fi.Size()
		}
	}
	return complete, partial
}

// ksCorpus writes n generated packages of about sizeMB MB in all under
// Packages/<letter>/ of a new directory (the benchmarks' generator).
func ksCorpus(t *testing.T, n, sizeMB int) string {
	t.Helper()
	gen := ksBuild(t, "github.com/rpmirror/rpmirror/repodata/createrepo/internal/benchcorpus")
	dir := t.TempDir()
	if out, err := exec.Command(gen, "-n", strconv.Itoa(n), "-size-mb", strconv.Itoa(sizeMB), "-layout", "letter", "-out", dir).CombinedOutput(); err != nil {
		t.Fatalf("benchcorpus: %v\n%s", err, out)
	}
	return dir
}

// TestSyncKillResume: the rpmirror binary syncs 300 packages from a slow
// upstream and is killed with SIGKILL while some packages are in its
// pool and a transfer is half done. The next run converges (exit 0, the
// publication verifies) without downloading a verified package again,
// resuming each partial transfer with a Range request from the byte it
// reached, and fetching every other package once: the upstream sends
// exactly the bytes the killed run had not received. With an upstream
// whose primary gives sha256 checksums, with one that gives sha512, and
// with a package left in the pool without its parsed metadata (a kill
// between the two writes).
func TestSyncKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no end-to-end tests")
	}
	createrepo := testenv.RequireTool(t, "createrepo_c")
	rpmirror := ksBuild(t, "github.com/rpmirror/rpmirror/cmd/rpmirror")
	dir := ksCorpus(t, 300, 60)
	// Every package, by href: its bytes and sha256.
	content := map[string][]byte{}
	bySum := map[string]string{}
	var total int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".rpm") {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(dir, p)
			href := filepath.ToSlash(rel)
			content[href] = b
			sum := sha256.Sum256(b)
			bySum[hex.EncodeToString(sum[:])] = href
			total += int64(len(b))
		}
		return nil
	})
	if len(content) != 300 {
		t.Fatalf("benchcorpus wrote %d packages", len(content))
	}

	for _, tc := range []struct {
		name     string
		checksum string // of the upstream's primary.xml
		// dropJournal removes the repository's catalog journal after
		// the kill, as a crash of the machine may (it is not synced):
		// the pooled packages are then parsed again from the pool,
		// and those with a sha256 are still not downloaded again.
		dropJournal bool
	}{
		{"sha256", "sha256", false},
		{"sha512", "sha512", false},
		{"journal lost", "sha256", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if out, err := exec.Command(createrepo, "--no-database", "-s", tc.checksum, dir).CombinedOutput(); err != nil {
				t.Fatalf("createrepo_c: %v\n%s", err, out)
			}
			u := hsNewUpstream(t, dir)
			var slow atomic.Bool
			slow.Store(true)
			u.setAll(ksThrottle(&slow))
			target := filepath.Join(t.TempDir(), "public")
			cache := t.TempDir()
			cfg := hsWriteConfig(t, cache, target, fmt.Sprintf("  baseurl = [%q]", u.URL()+"/"))
			logs := t.TempDir()

			// Run 1, killed when at least 20 packages are in the pool
			// and a transfer is partial.
			cmd := exec.Command(rpmirror, "--config", cfg, "--log-format", "json", "sync")
			log1, _ := os.Create(filepath.Join(logs, "run1.log"))
			defer log1.Close()
			cmd.Stdout, cmd.Stderr = log1, log1
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			deadline := time.Now().Add(2 * time.Minute)
			for {
				complete, partial := ksPoolState(t, cache)
				started := 0
				for _, n := range partial {
					if n > 0 {
						started++
					}
				}
				if len(complete) >= 20 && started > 0 {
					break
				}
				select {
				case err := <-exited:
					b, _ := os.ReadFile(log1.Name())
					t.Fatalf("rpmirror exited before the kill (%v), with %d packages in the pool:\n%s", err, len(complete), b)
				case <-time.After(20 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatalf("no kill point within 2 minutes: %d in the pool, partial %v", len(complete), partial)
				}
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			if err := <-exited; err == nil || !strings.Contains(err.Error(), "killed") {
				t.Fatalf("run 1 ended with %v, want killed", err)
			}
			slow.Store(false)

			complete, partial := ksPoolState(t, cache)
			// Which package each partial download is of: the one whose
			// bytes it begins.
			resumeFrom := map[string]int64{} // href -> bytes already there
			for p, n := range partial {
				if n == 0 {
					continue
				}
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				var of []string
				for href, c := range content {
					if bytes.HasPrefix(c, b) {
						of = append(of, href)
					}
				}
				if len(of) != 1 {
					t.Fatalf("partial download %s (%d bytes) is the beginning of %v, want exactly one package", p, n, of)
				}
				resumeFrom[of[0]] = n
			}
			// Every package in the pool is verified: it got there by a
			// rename after its bytes were checked.
			verified := map[string]bool{} // href
			for sum := range complete {
				href, ok := bySum[sum]
				if !ok {
					t.Fatalf("the pool holds %s, which is no upstream package", sum)
				}
				verified[href] = true
			}
			if tc.dropJournal {
				j := filepath.Join(cache, "repos", "up", "journal")
				if err := os.Remove(j); err != nil {
					t.Fatalf("no journal after the kill: %v", err)
				}
			}
			t.Logf("killed with %d packages verified, %d partial downloads (%d begun)",
				len(verified), len(partial), len(resumeFrom))

			// Run 2, at full speed.
			mark := u.mark()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd2 := exec.CommandContext(ctx, rpmirror, "--config", cfg, "--log-format", "json", "sync")
			out2, err := cmd2.CombinedOutput()
			if err != nil {
				t.Fatalf("run 2: %v\n%s", err, out2)
			}
			hsVerify(t, target)
			hsCheckPool(t, cache)
			if n := len(hsPrimary(t, target)); n != 300 {
				t.Errorf("published %d packages, want 300", n)
			}

			reqs := map[string][]*hsRequest{}
			var sent int64
			for _, r := range u.since(mark) {
				if strings.HasSuffix(r.Path, ".rpm") {
					href := strings.TrimPrefix(r.Path, "/")
					reqs[href] = append(reqs[href], r)
					sent += r.Sent()
				}
			}
			// What run 2 must download: everything but the verified
			// packages and the bytes of the partial downloads.
			var want int64
			var again []string
			for href, c := range content {
				switch rs := reqs[href]; {
				case verified[href]:
					if len(rs) > 0 {
						again = append(again, href)
					}
				case resumeFrom[href] == int64(len(c)):
					if len(rs) != 0 {
						t.Errorf("%s: downloaded whole before the kill, requested again: %s", href, hsDescribe(rs))
					}
				case resumeFrom[href] > 0:
					if n := resumeFrom[href]; len(rs) != 1 || rs[0].Range != fmt.Sprintf("bytes=%d-", n) {
						t.Errorf("%s: %d bytes were there; requests %s, want one with Range bytes=%d-", href, n, hsDescribe(rs), n)
					}
					want += int64(len(c)) - resumeFrom[href]
				default:
					if len(rs) != 1 || rs[0].Range != "" {
						t.Errorf("%s: requests %s, want one without Range", href, hsDescribe(rs))
					}
					want += int64(len(c))
				}
			}
			if len(again) > 0 {
				slices.Sort(again)
				t.Errorf("%d of the %d packages verified before the kill were downloaded again, e.g. %s",
					len(again), len(verified), strings.Join(again[:min(3, len(again))], ", "))
			}
			if sent != want {
				t.Errorf("run 2 downloaded %d bytes of packages, want %d (of %d)", sent, want, total)
			}
			if t.Failed() {
				b, _ := os.ReadFile(log1.Name())
				t.Logf("run 1:\n%s\nrun 2:\n%s", lastLines(b, 20), lastLines(out2, 20))
			}
		})
	}
}

// TestSyncConcurrentRuns: a second `rpmirror sync` of the same
// configuration while one is downloading (a timer firing during a manual
// run) must not make either publish a repository with packages left
// out: the late one waits or gives up with exit code 75. The target
// already holds the whole repository, so a partial publication would
// take packages away from clients.
func TestSyncConcurrentRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no end-to-end tests")
	}
	rpmirror := ksBuild(t, "github.com/rpmirror/rpmirror/cmd/rpmirror")
	dir := ksCorpus(t, 300, 60)
	hsCreaterepo(t, dir)
	u := hsNewUpstream(t, dir)
	target := filepath.Join(t.TempDir(), "public")
	src := fmt.Sprintf("  baseurl = [%q]", u.URL()+"/")
	if code, stderr := hsSync(t, hsWriteConfig(t, t.TempDir(), target, src)); code != ExitOK {
		t.Fatalf("first sync: exit %d\n%s", code, stderr)
	}

	// Two runs with a new, shared cache, so both have everything to
	// fetch; the second starts once the first is downloading.
	cache := t.TempDir()
	cfg := hsWriteConfig(t, cache, target, src)
	var slow atomic.Bool
	slow.Store(true)
	u.setAll(ksThrottle(&slow))
	type result struct {
		code int
		out  string
	}
	run := func(done chan<- result) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, rpmirror, "--config", cfg, "--log-format", "json", "sync").CombinedOutput()
		var ee *exec.ExitError
		switch {
		case err == nil:
			done <- result{0, string(out)}
		case errors.As(err, &ee):
			done <- result{ee.ExitCode(), string(out)}
		default:
			done <- result{-1, err.Error()}
		}
	}
	first, second := make(chan result, 1), make(chan result, 1)
	go run(first)
	deadline := time.Now().Add(time.Minute)
	for {
		if _, partial := ksPoolState(t, cache); len(partial) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first run did not start downloading within a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
	go run(second)
	results := []result{<-first, <-second}
	slow.Store(false)

	ok := 0
	for i, r := range results {
		switch r.code {
		case ExitOK:
			ok++
		case ExitLocked:
		default:
			t.Errorf("run %d: exit %d, want 0, or 75 for the one that found the other at work\n%s", i+1, r.code, lastLines([]byte(r.out), 8))
		}
	}
	if ok == 0 {
		t.Error("neither run synced")
	}
	if n := len(hsPrimary(t, target)); n != 300 {
		t.Errorf("the target publishes %d packages, want 300", n)
	}
	hsVerify(t, target)
	hsCheckPool(t, cache)
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestSyncDaemon runs `rpmirror sync --every 1s --metrics-address
// 127.0.0.1:0` as a process: after two runs its /metrics has the run
// counter and the last success time of the repository; SIGTERM stops it
// promptly with exit code 0, logging "shutting down".
func TestSyncDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no end-to-end tests")
	}
	testenv.RequireTool(t, "createrepo_c")
	rpmirror := ksBuild(t, "github.com/rpmirror/rpmirror/cmd/rpmirror")
	dir := t.TempDir()
	if _, err := rpmtest.WriteAll(filepath.Join(dir, "Packages"), rpmtest.Demo()); err != nil {
		t.Fatal(err)
	}
	hsCreaterepo(t, dir)
	u := hsNewUpstream(t, dir)
	target := filepath.Join(t.TempDir(), "public")
	cfg := hsWriteConfig(t, t.TempDir(), target, fmt.Sprintf("  baseurl = [%q]", u.URL()+"/"))

	start := time.Now()
	cmd := exec.Command(rpmirror, "--config", cfg, "--log-format", "json", "sync", "--every", "1s", "--metrics-address", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		logs bytes.Buffer
	)
	addr := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			logs.WriteString(line + "\n")
			mu.Unlock()
			var entry struct {
				Msg     string `json:"msg"`
				Address string `json:"address"`
			}
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "serving metrics at /metrics" {
				addr <- entry.Address
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	exited := make(chan error, 1)
	go func() {
		<-scanned // Wait closes the pipe: read it all first
		exited <- cmd.Wait()
	}()
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			<-exited
		}
	}()
	showLogs := func() string {
		mu.Lock()
		defer mu.Unlock()
		return logs.String()
	}

	var metricsURL string
	select {
	case a := <-addr:
		metricsURL = "http://" + a + "/metrics"
	case err := <-exited:
		killed = true
		t.Fatalf("rpmirror exited: %v\n%s", err, showLogs())
	case <-time.After(30 * time.Second):
		t.Fatalf("no metrics address logged within 30 s\n%s", showLogs())
	}
	if !strings.HasPrefix(metricsURL, "http://127.0.0.1:") || strings.HasSuffix(metricsURL, ":0/metrics") {
		t.Fatalf("metrics served at %s", metricsURL)
	}

	// Two runs: the first syncs, the second finds nothing changed.
	runs := regexp.MustCompile(`(?m)^rpmirror_sync_runs_total\{repo="up",result="ok"\} (\d+)$`)
	var body string
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(metricsURL)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			if m := runs.FindStringSubmatch(body); m != nil {
				if n, _ := strconv.Atoi(m[1]); n >= 2 {
					break
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no second successful run within 30 s (last error %v); metrics:\n%s\nlogs:\n%s", err, body, showLogs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	last := regexp.MustCompile(`(?m)^rpmirror_last_success_timestamp_seconds\{repo="up"\} (\S+)$`).FindStringSubmatch(body)
	if last == nil {
		t.Errorf("no rpmirror_last_success_timestamp_seconds for the repository:\n%s", body)
	} else if ts, err := strconv.ParseFloat(last[1], 64); err != nil || ts < float64(start.Unix()) || ts > float64(time.Now().Unix()+1) {
		t.Errorf("rpmirror_last_success_timestamp_seconds %s, want a time since %d", last[1], start.Unix())
	}
	if !strings.Contains(body, `rpmirror_packages_fetched_total{repo="up"} 8`) {
		t.Errorf("want 8 packages fetched in all:\n%s", body)
	}
	if strings.Contains(body, `result="error"`) || strings.Contains(body, `result="partial"`) {
		t.Errorf("a run did not succeed:\n%s", body)
	}

	stop := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		killed = true
		if err != nil {
			t.Errorf("after SIGTERM: %v, want exit code 0", err)
		}
		if d := time.Since(stop); d > 5*time.Second {
			t.Errorf("took %s to stop", d)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15 s after SIGTERM\n%s", showLogs())
	}
	if !strings.Contains(showLogs(), `"msg":"shutting down"`) {
		t.Errorf(`no "shutting down" in the log:\n%s`, showLogs())
	}
	hsVerify(t, target)
}
