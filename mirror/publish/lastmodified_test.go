package publish

import (
	"context"
	"testing"
	"time"

	"github.com/rpmirror/rpmirror/repodata/rpmtest"
)

// Two publications within one second still give repomd.xml two
// different modification times to the second (HTTP Last-Modified): a
// client or CDN revalidating by date, or librepo caching by mtime, must
// see the second one. Seen before as dnf installing from the previous
// publication in TestDNFInstallFromMinIO, now and then.
func TestRepomdLastModifiedMoves(t *testing.T) {
	targets := map[string]func(t *testing.T) testTarget{
		"fs":    func(t *testing.T) testTarget { return fsTarget(t) },
		"minio": func(t *testing.T) testTarget { return s3Target(t, minioServer(t)) },
	}
	for name, mk := range targets {
		t.Run(name, func(t *testing.T) {
			tg := mk(t)
			src := t.TempDir()
			ctx := context.Background()
			var last time.Time
			for i, version := range []string{"1.0", "2.0", "3.0"} {
				writeRepo(t, src, []rpmtest.Spec{pkg("zulu", version, "1", 1000)})
				res := mustPublish(t, src, tg, DefaultOptions())
				if !res.RepomdChanged {
					t.Fatalf("publication %d did not switch", i+1)
				}
				o, err := tg.b.Stat(ctx, repomdKey)
				if err != nil {
					t.Fatal(err)
				}
				got := o.ModTime.Truncate(time.Second)
				if i > 0 && !got.After(last) {
					t.Errorf("publication %d: repomd.xml modified at %v, the previous one at %v", i+1, got, last)
				}
				last = got
				if tg.url != "" {
					_, h, err := tg.get(ctx, repomdKey)
					if err != nil {
						t.Fatal(err)
					}
					if lm, err := time.Parse(time.RFC1123, h.Get("Last-Modified")); err != nil || !lm.Equal(got) {
						t.Errorf("Last-Modified %q, want %v", h.Get("Last-Modified"), got)
					}
				}
			}
		})
	}
}
