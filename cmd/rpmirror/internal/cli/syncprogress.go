package cli

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/schollz/progressbar/v3"

	"github.com/rpmirror/rpmirror/mirror/syncer"
)

// syncBars shows one progress bar per repository while it downloads,
// on a terminal. Log lines are written through it (see Write), so that a
// line never lands in the middle of the bar.
type syncBars struct {
	w io.Writer

	mu  sync.Mutex
	bar *progressbar.ProgressBar // the current one, nil between fetches
}

var _ syncer.Progress = (*syncBars)(nil)

func newSyncBars(w io.Writer) *syncBars { return &syncBars{w: w} }

// Write writes a log line: the bar is cleared first and redrawn at its
// next update.
func (b *syncBars) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bar != nil {
		b.bar.Clear()
	}
	return b.w.Write(p)
}

// Start implements syncer.Progress.
func (b *syncBars) Start(repo string, n int, bytes int64) syncer.ProgressTask {
	t := &syncTask{bars: b, repo: repo, n: n}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bar = progressbar.NewOptions64(bytes,
		progressbar.OptionSetWriter(b.w),
		progressbar.OptionSetDescription(t.describe()),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100e6),
		progressbar.OptionSetPredictTime(true),
	)
	t.bar = b.bar
	return t
}

type syncTask struct {
	bars       *syncBars
	bar        *progressbar.ProgressBar
	repo       string
	n          int
	done, fail atomic.Int64
}

func (t *syncTask) describe() string {
	s := fmt.Sprintf("%s %d/%d", t.repo, t.done.Load(), t.n)
	if f := t.fail.Load(); f > 0 {
		s += fmt.Sprintf(" (%d failed)", f)
	}
	return s
}

func (t *syncTask) Add(n int64) {
	t.bars.mu.Lock()
	defer t.bars.mu.Unlock()
	t.bar.Add64(n)
}

func (t *syncTask) Done(ok bool) {
	t.done.Add(1)
	if !ok {
		t.fail.Add(1)
	}
	t.bars.mu.Lock()
	defer t.bars.mu.Unlock()
	t.bar.Describe(t.describe())
}

func (t *syncTask) Finish() {
	t.bars.mu.Lock()
	defer t.bars.mu.Unlock()
	t.bar.Finish()
	t.bar.Clear()
	if t.bars.bar == t.bar {
		t.bars.bar = nil
	}
}
