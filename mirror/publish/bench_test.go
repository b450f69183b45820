package publish

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

// BenchmarkPublish publishes the repository in $RPMIRROR_BENCH_PUBLISH_SRC
// (a directory createrepo has indexed; .ci/bench-publish makes one of
// 5,000 packages) to a MinIO server on 127.0.0.1:
//
//   - Full/parallel=N: into an empty bucket with N uploads in flight,
//     reporting objects/s and MB/s;
//   - NoChange: again into a bucket that already holds it, reporting
//     the time and checking that nothing is uploaded.
//
// Run it with -benchtime 1x (a full publish is one iteration).
func BenchmarkPublish(b *testing.B) {
	src := os.Getenv("RPMIRROR_BENCH_PUBLISH_SRC")
	if src == "" {
		b.Skip("RPMIRROR_BENCH_PUBLISH_SRC is not set (.ci/bench-publish sets it)")
	}
	srv := minioServer(b)
	log := logrus.New()
	log.SetLevel(logrus.WarnLevel)
	log.SetOutput(os.Stderr)
	ctx := context.Background()

	for _, par := range []int{1, 4, 8, 16} {
		b.Run(fmt.Sprintf("Full/parallel=%d", par), func(b *testing.B) {
			var objects int
			var bytes int64
			var elapsed time.Duration
			for b.Loop() {
				b.StopTimer()
				tg := s3Target(b, srv)
				opt := DefaultOptions()
				opt.Parallelism = par
				b.StartTimer()
				start := time.Now()
				res, err := Publish(ctx, src, tg.b, opt, log)
				elapsed += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				objects += res.Uploaded
				bytes += res.BytesUploaded
			}
			b.ReportMetric(float64(objects)/elapsed.Seconds(), "objects/s")
			b.ReportMetric(float64(bytes)/1e6/elapsed.Seconds(), "MB/s")
		})
	}

	b.Run("NoChange", func(b *testing.B) {
		tg := s3Target(b, srv)
		if _, err := Publish(ctx, src, tg.b, DefaultOptions(), log); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			res, err := Publish(ctx, src, tg.b, DefaultOptions(), log)
			if err != nil {
				b.Fatal(err)
			}
			if res.Uploaded != 0 || res.RepomdChanged || res.StateWritten {
				b.Fatalf("unchanged republish: %+v", res)
			}
			b.ReportMetric(float64(res.Objects), "objects")
		}
	})
}
