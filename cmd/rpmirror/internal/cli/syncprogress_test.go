package cli

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// Log lines written while a bar is shown start on a cleared line and
// stay whole; the bar counts packages and failures.
func TestSyncBars(t *testing.T) {
	var buf bytes.Buffer
	bars := newSyncBars(&buf)
	task := bars.Start("base-x86_64", 4, 4000)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			task.Add(1000)
			task.Done(i != 2)
		}()
	}
	wg.Wait()
	if got := task.(*syncTask).describe(); got != "base-x86_64 4/4 (1 failed)" {
		t.Errorf("description %q", got)
	}
	buf.Reset()
	bars.Write([]byte("level=error msg=\"package not mirrored\"\n"))
	out := buf.String()
	if !strings.HasPrefix(out, "\r") || !strings.HasSuffix(out, "\rlevel=error msg=\"package not mirrored\"\n") {
		t.Errorf("log line through an active bar: %q", out)
	}
	task.Finish()
	buf.Reset()
	bars.Write([]byte("after\n"))
	if buf.String() != "after\n" {
		t.Errorf("log line after the bar: %q", buf.String())
	}
}
