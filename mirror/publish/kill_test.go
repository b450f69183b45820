package publish

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rpmirror/rpmirror/repodata/rpmtest/testenv"
	"github.com/rpmirror/rpmirror/storage"
	"github.com/rpmirror/rpmirror/storage/faultproxy"
	"github.com/rpmirror/rpmirror/storage/fs"
)

// Kill tests: a real rpmirror process publishing revision N+1 over N is
// killed with SIGKILL at seeded random points. After each kill the target
// must be consistent and serve N or N+1, and the lock the dead process
// held must not block the next run for longer than its TTL; finally a
// normal run converges to N+1 and another finds nothing to do.
//
// RPMIRROR_KILL_SEED=n replays another sequence of kill points (the seed
// is logged).

const (
	killPoints = 5
	// killLockTTL is the --lock-ttl of the children: the smallest the
	// command accepts, so that takeovers are quick.
	killLockTTL = 4 * time.Second
	// killWait is the children's --wait: longer than the TTL plus a lock
	// poll, so a dead holder's lock is taken over, never waited out.
	killWait = 20 * time.Second
)

func killSeed(t *testing.T) uint64 {
	seed := uint64(1)
	if s := os.Getenv("RPMIRROR_KILL_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("RPMIRROR_KILL_SEED=%q: %v", s, err)
		}
		seed = n
	}
	t.Logf("kill seed %d (RPMIRROR_KILL_SEED to change)", seed)
	return seed
}

// buildRpmirror builds the rpmirror command into dir.
func buildRpmirror(t *testing.T, dir string) string {
	t.Helper()
	// go test puts its own go command first in PATH.
	gobin, err := exec.LookPath("go")
	if err != nil {
		testenv.Missing(t, "the go command is needed to build rpmirror for the kill tests")
	}
	bin := filepath.Join(dir, "rpmirror")
	start := time.Now()
	cmd := exec.Command(gobin, "build", "-o", bin, "./cmd/rpmirror")
	// The module's root, wherever the test binary runs.
	if _, file, _, ok := runtime.Caller(0); ok {
		cmd.Dir = filepath.Join(filepath.Dir(file), "..", "..")
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built rpmirror in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

// TestKilledPublisher runs the kill test against MinIO (through the fault
// proxy, which holds chosen uploads so that a kill lands exactly there)
// and against a directory (where the child is advanced in small steps
// with SIGSTOP/SIGCONT until a chosen file appears).
func TestKilledPublisher(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no kill tests")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the kill tests use Linux signals and /proc")
	}
	seed := killSeed(t)
	bin := buildRpmirror(t, t.TempDir())
	// The scale makes the fs publish long enough to step through.
	r := buildTwoRevisions(t, 4)
	t.Run("minio", func(t *testing.T) {
		t.Parallel()
		testKilledMinIO(t, bin, r, seed)
	})
	t.Run("fs", func(t *testing.T) {
		t.Parallel()
		testKilledFS(t, bin, r, seed)
	})
}

// killRig is one kill test: a target, a way for children to reach it and
// a direct backend to check it with.
type killRig struct {
	t      *testing.T
	bin    string
	env    []string
	spec   string          // the target as children name it
	direct storage.Backend // the target, straight (not through any proxy)
	r      twoRevisions
	rng    *rand.Rand
	killed map[int]bool // pids of killed children
	// grace is the children's --grace-period in this round: 0 makes
	// them delete N's objects right after the switch.
	grace time.Duration
	// afterKill, if set, runs after each kill (to remove faults).
	afterKill func()
}

// child is a running rpmirror.
type child struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	start  time.Time
	done   chan struct{}
	state  *os.ProcessState
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// run starts rpmirror publish of revision N+1 with the given --parallel.
func (k *killRig) run(parallel int) *child {
	k.t.Helper()
	args := []string{"--log-format", "json", "publish", "--lock-ttl", killLockTTL.String(), "--wait", killWait.String(),
		"--grace-period", k.grace.String(), "--parallel", strconv.Itoa(parallel), k.r.next, k.spec}
	c := &child{cmd: exec.Command(k.bin, args...), stderr: &lockedBuffer{}, done: make(chan struct{})}
	c.cmd.Env = k.env
	c.cmd.Dir = k.t.TempDir()
	c.cmd.Stdout = io.Discard
	c.cmd.Stderr = c.stderr
	// Its own process group, so that no signal of ours reaches anything
	// else; dead with the test binary should that die first.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c.start = time.Now()
	if err := c.cmd.Start(); err != nil {
		k.t.Fatal(err)
	}
	go func() {
		_ = c.cmd.Wait()
		c.state = c.cmd.ProcessState
		close(c.done)
	}()
	k.t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL (to this process only) and waits for it to die. It
// reports whether the signal killed it (false: it had exited already).
func (k *killRig) kill(c *child) bool {
	if !c.exited() {
		_ = syscall.Kill(c.pid(), syscall.SIGKILL)
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		k.t.Fatalf("pid %d did not die after SIGKILL", c.pid())
	}
	ws, ok := c.state.Sys().(syscall.WaitStatus)
	if ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		k.killed[c.pid()] = true
		return true
	}
	return false
}

// finish waits for a child that is not to be killed.
func (k *killRig) finish(c *child) {
	k.t.Helper()
	select {
	case <-c.done:
	case <-time.After(killWait + 30*time.Second):
		k.kill(c)
		k.t.Fatalf("rpmirror publish did not finish:\n%s", c.stderr)
	}
}

// logged returns the child's JSON log entries with message msg.
func (c *child) logged(msg string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(c.stderr.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e map[string]any
		if json.Unmarshal(sc.Bytes(), &e) == nil && e["msg"] == msg {
			out = append(out, e)
		}
	}
	return out
}

// work is what a publish of N+1 would do now.
type work struct {
	uploads, deletes []string
	// behind: the state does not record N+1 yet.
	behind bool
}

func (w work) none() bool { return len(w.uploads) == 0 && len(w.deletes) == 0 && !w.behind }

// pending returns what a publish of N+1 with the round's grace period
// would do now (from a dry run).
func (k *killRig) pending() work {
	k.t.Helper()
	h := &planHook{}
	l := logrus.New()
	l.SetOutput(io.Discard)
	l.AddHook(h)
	opt := DefaultOptions()
	opt.GracePeriod = k.grace
	opt.DryRun = true
	if _, err := Publish(context.Background(), k.r.next, k.direct, opt, l); err != nil {
		k.t.Fatalf("dry run: %v", err)
	}
	return work{uploads: h.uploads, deletes: h.deletes, behind: k.stateBehind()}
}

// planHook collects the keys a dry run would upload and delete.
type planHook struct {
	mu               sync.Mutex
	uploads, deletes []string
}

func (h *planHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h *planHook) Fire(e *logrus.Entry) error {
	key, _ := e.Data["key"].(string)
	h.mu.Lock()
	defer h.mu.Unlock()
	switch e.Message {
	case "would upload":
		h.uploads = append(h.uploads, key)
	case "would delete":
		h.deletes = append(h.deletes, key)
	}
	return nil
}

// holdPoint picks a request of a pending publish to kill the child in:
// the upload or deletion of a key, or the state's write. It returns the
// key, whether it is a deletion, and the revision the target must serve
// after a kill there.
func (k *killRig) holdPoint(w work) (key string, del bool, want string) {
	n := len(w.uploads) + len(w.deletes)
	if n == 0 {
		return StateKey, false, "N+1" // behind
	}
	i := k.rng.IntN(n)
	if i < len(w.uploads) {
		// Nothing is switched before every upload is done.
		return w.uploads[i], false, "N"
	}
	// Deletions come after the switch.
	return w.deletes[i-len(w.uploads)], true, "N+1"
}

// stateBehind reports whether the state does not record N+1 yet.
func (k *killRig) stateBehind() bool {
	k.t.Helper()
	st, err := ReadState(context.Background(), k.direct)
	if err != nil {
		k.t.Fatalf("read the state: %v", err)
	}
	return st.RepomdSHA256 != sha256Hex(k.r.repomdNext)
}

// readLock returns the lock object, if there is one.
func (k *killRig) readLock() (LockInfo, bool) {
	k.t.Helper()
	rc, err := k.direct.Open(context.Background(), LockKey)
	if errors.Is(err, storage.ErrNotExist) {
		return LockInfo{}, false
	}
	if err != nil {
		k.t.Fatalf("read the lock: %v", err)
	}
	defer rc.Close()
	var info LockInfo
	data, err := io.ReadAll(rc)
	if err == nil {
		err = json.Unmarshal(data, &info)
	}
	if err != nil {
		k.t.Fatalf("read the lock: %v (%q)", err, data)
	}
	return info, true
}

// holderPID returns the pid a lock's holder names (0 if none).
func holderPID(info LockInfo) int {
	_, rest, ok := strings.Cut(info.Holder, "(pid ")
	if !ok {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimRight(strings.SplitN(rest, ",", 2)[0], ")"))
	return n
}

// checkAfterKill checks the target after a kill: consistent, N or N+1
// (want, when not ""), and a lock, if any, that a dead child holds and
// that expires within the TTL. It returns the live revision and whether
// a lock was left behind.
func (k *killRig) checkAfterKill(what, want string) (string, bool) {
	k.t.Helper()
	live := checkConsistent(k.t, k.direct, k.r, what)
	if want != "" && live != want {
		k.t.Errorf("%s: the target serves %s, want %s", what, live, want)
	}
	info, held := k.readLock()
	if held {
		pid := holderPID(info)
		if !k.killed[pid] {
			k.t.Errorf("%s: the lock is held by %q, not by a killed publisher", what, info.Holder)
		}
		if left := time.Until(info.Expires); left > killLockTTL+time.Second {
			k.t.Errorf("%s: the dead publisher's lock expires in %v, more than the TTL %v", what, left.Round(time.Millisecond), killLockTTL)
		}
	}
	return live, held
}

// converge runs rpmirror publish twice without faults after the kills:
// the first must take over any lock left behind within the TTL and
// publish N+1, the second must find nothing to do.
func (k *killRig) converge(lockLeft bool) {
	k.t.Helper()
	c := k.run(8)
	k.finish(c)
	took := time.Since(c.start)
	if code := c.state.ExitCode(); code != 0 {
		k.t.Fatalf("final publish: exit %d:\n%s", code, c.stderr)
	}
	k.t.Logf("final publish took %v (lock left by a killed publisher: %v)", took.Round(time.Millisecond), lockLeft)
	if lockLeft {
		if len(c.logged("took over an expired publish lock (its holder stopped without releasing it)")) == 0 {
			k.t.Errorf("final publish: no lock takeover logged:\n%s", c.stderr)
		}
		// The lock expires at most a TTL after the kill; the child polls
		// every second.
		if took > killLockTTL+10*time.Second {
			k.t.Errorf("final publish took %v: the dead publisher's lock blocked it beyond its TTL", took)
		}
	}
	if live := checkConsistent(k.t, k.direct, k.r, "after the final publish"); live != "N+1" {
		k.t.Errorf("after the final publish the target serves %s, want N+1", live)
	}
	if _, held := k.readLock(); held {
		k.t.Error("the lock was not released by the final publish")
	}
	if k.stateBehind() {
		k.t.Error("the state does not record N+1 after the final publish")
	}
	c = k.run(8)
	k.finish(c)
	if code := c.state.ExitCode(); code != 0 {
		k.t.Fatalf("third publish: exit %d:\n%s", code, c.stderr)
	}
	if e := c.logged("target already up to date; repomd.xml left as it was"); len(e) != 1 || e[0]["uploaded"] != 0.0 {
		k.t.Errorf("third publish did something:\n%s", c.stderr)
	}
}

func childEnv(t *testing.T, extra ...string) []string {
	home := t.TempDir()
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TMPDIR=" + home}, extra...)
}

// killModes returns n modes, a seeded shuffle of holds and delays.
func killModes(rng *rand.Rand, n int) []string {
	modes := make([]string, n)
	for i := range modes {
		modes[i] = "hold"
		if i >= (n+1)/2 {
			modes[i] = "delay"
		}
	}
	rng.Shuffle(n, func(i, j int) { modes[i], modes[j] = modes[j], modes[i] })
	return modes
}

// killRound is what one kill does: the child it ran, where it was meant
// to die, the revision the target must serve after it ("" for either),
// and whether the kill must have happened (a run that finished first
// fails the test).
type killRound struct {
	c      *child
	point  string
	want   string
	strict bool
}

// killAll runs the kills: in rounds, each on a fresh target (newTarget)
// where N is published first; a round ends when its kills are done or a
// child finished the publish before its kill (nothing is left to kill),
// and then the target must converge. killOne runs and kills one child.
func (k *killRig) killAll(newTarget func(round int), killOne func(i int, mode string, w work, parallel int) killRound) {
	modes := killModes(k.rng, killPoints)
	hits := 0
	for round, i := 0, 0; i < len(modes); round++ {
		newTarget(round)
		// Rounds alternate: no grace period (N's objects are deleted
		// right after the switch, kills can land among the deletions),
		// then the default one.
		k.grace = []time.Duration{0, DefaultOptions().GracePeriod}[round%2]
		if _, err := Publish(context.Background(), k.r.n, k.direct, DefaultOptions(), testLogger(k.t)); err != nil {
			k.t.Fatalf("round %d: publish N: %v", round, err)
		}
		k.checkAfterKill(fmt.Sprintf("round %d: after publishing N", round), "N")
		lockLeft := false
		for ; i < len(modes); i++ {
			w := k.pending()
			if w.none() {
				break // published already: a new round
			}
			parallel := []int{1, 2, 4, 8}[k.rng.IntN(4)]
			kr := killOne(i, modes[i], w, parallel)
			killed := k.kill(kr.c)
			if k.afterKill != nil {
				k.afterKill()
			}
			if !killed {
				if code := kr.c.state.ExitCode(); code != 0 {
					k.t.Fatalf("kill %d: rpmirror exited with %d before the kill at %s:\n%s", i, code, kr.point, kr.c.stderr)
				}
				if kr.strict {
					k.t.Errorf("kill %d: rpmirror finished before the kill at %s:\n%s", i, kr.point, kr.c.stderr)
				}
				kr.point += ", but it had finished"
			} else {
				hits++
			}
			var live string
			live, lockLeft = k.checkAfterKill(fmt.Sprintf("after kill %d", i), kr.want)
			k.t.Logf("round %d, kill %d: --grace-period %v --parallel %d, %d uploads and %d deletions pending, state behind %v; killed at %s, %v after the start: the target serves %s, lock left %v",
				round, i, k.grace, parallel, len(w.uploads), len(w.deletes), w.behind, kr.point, time.Since(kr.c.start).Round(time.Millisecond), live, lockLeft)
			if kr.strict && killed && !lockLeft {
				k.t.Errorf("kill %d: no lock left by a publisher killed while it held it", i)
			}
		}
		k.converge(lockLeft)
	}
	if hits < len(modes)/2+1 {
		k.t.Errorf("only %d of %d children were killed mid-publish: the test tests little", hits, len(modes))
	}
}

func testKilledMinIO(t *testing.T, bin string, r twoRevisions, seed uint64) {
	srv := minioServer(t)
	bucket := srv.Bucket(t)
	p := faultproxy.Start(t, srv.Endpoint, faultproxy.Options{Seed: seed, Logf: func(string, ...any) {}})
	k := &killRig{
		t: t, bin: bin, r: r,
		env:    childEnv(t, "AWS_ACCESS_KEY_ID="+srv.AccessKey, "AWS_SECRET_ACCESS_KEY="+srv.SecretKey),
		rng:    rand.New(rand.NewPCG(seed, 0x4b494c4c)),
		killed: map[int]bool{},
	}
	prefix := ""
	newTarget := func(round int) {
		prefix = fmt.Sprintf("el9-%d", round)
		k.spec = p.S3Target(bucket, prefix, srv.Region)
		k.direct = openS3Spec(t, srv, directSpec(srv, bucket, prefix), fastRetry)
	}
	killOne := func(i int, mode string, w work, parallel int) killRound {
		var kr killRound
		var rule faultproxy.Rule
		if mode == "hold" {
			key, del, want := k.holdPoint(w)
			rule = faultproxy.Rule{Name: "hold", Method: http.MethodPut, Key: prefix + "/" + key, Times: 1, Fault: faultproxy.Slow(time.Hour)}
			if del {
				rule.Method = http.MethodDelete
			}
			kr.want = want
			if key == repomdKey && k.rng.IntN(2) == 0 {
				rule.Fault = rule.Fault.AfterUpstream()
				kr.want = "N+1"
			}
			kr.strict = true
			kr.point = fmt.Sprintf("held %s %s (%s)", rule.Method, key,
				map[bool]string{false: "before MinIO", true: "after MinIO"}[rule.Fault.Upstream])
		} else {
			// Every request on the target's objects is slowed, so that
			// the publish lasts long enough for a short random delay to
			// land inside it.
			rule = faultproxy.Rule{Name: "stretch", PathContains: "/" + bucket + "/" + prefix + "/",
				Fault: faultproxy.Slow(time.Duration(20+k.rng.IntN(40)) * time.Millisecond)}
		}
		p.Add(rule)
		k.afterKill = p.Clear
		kr.c = k.run(parallel)
		c := kr.c
		if mode == "hold" {
			ctx, cancel := context.WithTimeout(context.Background(), killWait+20*time.Second)
			defer cancel()
			go func() {
				select {
				case <-c.done:
					cancel()
				case <-ctx.Done():
				}
			}()
			if err := p.WaitInjected(ctx, "hold", p.InjectedRule("hold")+1); err != nil {
				k.kill(c)
				t.Fatalf("kill %d: %s never happened: %v; rpmirror exited with %v:\n%s", i, kr.point, err, c.state, c.stderr)
			}
			if rule.Fault.Upstream {
				// The object reaches MinIO after the fault is counted.
				deadline := time.Now().Add(10 * time.Second)
				for k.r.which(liveRepomd(t, k.direct)) != "N+1" && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
			}
			return kr
		}
		// Half of the delays count from the start (the kill may land
		// while the child waits for a dead publisher's lock), half from
		// the moment the child holds the lock.
		delay := time.Duration(k.rng.IntN(1000)) * time.Millisecond
		if k.rng.IntN(2) == 0 {
			kr.point = fmt.Sprintf("%v after the lock was taken", delay)
			deadline := time.Now().Add(killWait)
			for !c.exited() && time.Now().Before(deadline) {
				if info, ok := k.readLock(); ok && holderPID(info) == c.pid() {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
		} else {
			kr.point = fmt.Sprintf("%v after the start", delay)
		}
		select {
		case <-time.After(delay):
		case <-c.done:
		}
		return kr
	}
	k.killAll(newTarget, killOne)
}

func testKilledFS(t *testing.T, bin string, r twoRevisions, seed uint64) {
	k := &killRig{
		t: t, bin: bin, r: r, env: childEnv(t),
		rng:    rand.New(rand.NewPCG(seed, 0x46534b4c)),
		killed: map[int]bool{},
	}
	var dirs []string
	newTarget := func(round int) {
		dir := filepath.Join(t.TempDir(), "www", "el9")
		b, err := fs.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		k.spec, k.direct = dir, b
		dirs = append(dirs, dir)
	}
	killOne := func(i int, mode string, w work, parallel int) killRound {
		var kr killRound
		dir := k.spec
		// cond is checked while the child is stopped; true kills it. ours
		// says the child holds the lock.
		var cond func(ours bool) bool
		if mode == "hold" {
			key, del, want := k.holdPoint(w)
			name := filepath.Join(dir, filepath.FromSlash(key))
			switch {
			case key == StateKey:
				kr.point = "the state written"
				cond = func(bool) bool { return !k.stateBehind() }
			case del:
				kr.point = key + " deleted"
				cond = func(bool) bool {
					_, err := os.Stat(name)
					return errors.Is(err, os.ErrNotExist)
				}
			default:
				src := readFile(t, filepath.Join(k.r.next, filepath.FromSlash(key)))
				kr.point = key + " written"
				cond = func(bool) bool {
					got, err := os.ReadFile(name)
					return err == nil && bytes.Equal(got, src)
				}
			}
			// A file appears when it is complete, and the child goes on
			// until it is stopped: after an upload the switch may have
			// followed within the step, so either revision is right.
			// Deletions and the state come after the switch. A step is
			// about a millisecond, more on a loaded machine: the child
			// may finish before it is stopped (not strict; killAll
			// counts the kills that did land).
			if del || key == StateKey {
				kr.want = want
			}
		} else {
			steps := k.rng.IntN(12)
			kr.point = fmt.Sprintf("%d steps after the lock was taken", steps)
			n := 0
			cond = func(ours bool) bool {
				if ours {
					n++
				}
				return n > steps
			}
		}
		kr.c = k.run(parallel)
		if !k.stepUntil(kr.c, cond) && kr.strict && !kr.c.exited() {
			t.Fatalf("kill %d: stopped before %s", i, kr.point)
		}
		return kr
	}
	k.killAll(newTarget, killOne)

	var stray []string
	for _, dir := range dirs {
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && strings.HasPrefix(d.Name(), ".rpmirror-tmp") {
				stray = append(stray, p)
			}
			return nil
		})
	}
	t.Logf("temporary files left by the killed publishers: %d %v", len(stray), stray)
}

// stepUntil runs the child in slices of about a millisecond, stopping it
// (SIGSTOP) after each, and checks cond while it is stopped. It returns true, with the child stopped, when cond
// holds, and false when the child exits first. While the child can only
// be waiting for a dead publisher's lock to expire, the slices are longer.
func (k *killRig) stepUntil(c *child, cond func(ours bool) bool) bool {
	k.t.Helper()
	deadline := time.Now().Add(killWait + 20*time.Second)
	for time.Now().Before(deadline) {
		slice := time.Millisecond
		info, held := k.readLock()
		ours := held && holderPID(info) == c.pid()
		if held && !ours && k.killed[holderPID(info)] && time.Until(info.Expires) > 200*time.Millisecond {
			slice = 50 * time.Millisecond
		}
		if cond(ours) {
			return true
		}
		if err := syscall.Kill(c.pid(), syscall.SIGCONT); err != nil {
			return false
		}
		time.Sleep(slice)
		if err := syscall.Kill(c.pid(), syscall.SIGSTOP); err != nil || !waitStopped(c) {
			return false
		}
	}
	k.t.Fatalf("the child neither reached the kill point nor exited in time:\n%s", c.stderr)
	return false
}

// waitStopped waits until every thread of the child is stopped; false if
// it exited.
func waitStopped(c *child) bool {
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if c.exited() {
			return false
		}
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", c.pid()))
		stopped := len(tasks) > 0
		for _, f := range tasks {
			b, err := os.ReadFile(f)
			if err != nil {
				continue // the thread ended
			}
			// "pid (comm) S ...": the state follows the last ')'.
			i := bytes.LastIndexByte(b, ')')
			if i < 0 || i+2 >= len(b) || (b[i+2] != 'T' && b[i+2] != 't') {
				stopped = false
				break
			}
		}
		if stopped {
			return true
		}
		time.Sleep(100 * time.Microsecond)
	}
	return !c.exited()
}
