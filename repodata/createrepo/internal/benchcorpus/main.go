// Command benchcorpus writes a corpus of realistic binary RPM packages for
// benchmarking createrepo implementations (.ci/bench-createrepo runs it):
//
//	go run ./repodata/createrepo/internal/benchcorpus -n 5000 -size-mb 1700 -seed 1 -out DIR
//
// The packages look like a distribution's: source packages split into
// lib*, *-devel, python3-*, perl-*, *-doc and *-data subpackages with
// versions, releases and epochs; 5–60 requires and provides (versioned,
// rich, sonames with symbol versions, libc.so.6(GLIBC_2.x)(64bit),
// rpmlib(), scriptlet requires); weak dependencies; heavy-tailed file lists
// (directories, symbolic links, config, doc, license and ghost files);
// 0–40 changelog entries; text with XML-special characters and UTF-8.
// File contents are pseudo-random bytes, so the zstd payload does not
// shrink and the total size of the files is close to -size-mb (10^6
// bytes): the headers are estimated first and the payload bytes share
// what is left, in proportion to heavy-tailed package weights.
//
// The output is a function of the flags other than -workers (and of the
// rpmpack and klauspost/compress versions go.mod pins): the same -n,
// -size-mb, -seed and -layout give the same bytes and the same file
// modification times (each package's build time), however many workers
// write them. rpm -qp, rpm -K and createrepo_c read the packages, and
// rpm -i --nodeps installs them, but they are not signed and their files
// hold random bytes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"time"

	"golang.org/x/sync/errgroup"
)

type config struct {
	n       int
	sizeMB  float64
	seed    uint64
	out     string
	layout  string
	workers int
	force   bool
	cpuprof string
}

func main() {
	var c config
	flag.IntVar(&c.n, "n", 1000, "number of packages")
	flag.Float64Var(&c.sizeMB, "size-mb", 100, "approximate total size of the RPM files, in MB (10^6 bytes)")
	flag.Uint64Var(&c.seed, "seed", 1, "seed of the pseudo-random generators")
	flag.StringVar(&c.out, "out", "", "output directory (created; must be empty unless -force)")
	flag.StringVar(&c.layout, "layout", "flat", "flat: DIR/*.rpm; letter: DIR/Packages/<first letter of the name>/*.rpm")
	flag.IntVar(&c.workers, "workers", runtime.GOMAXPROCS(0), "packages built in parallel (does not change the output)")
	flag.BoolVar(&c.force, "force", false, "write into a non-empty output directory (files of the same name are replaced, others kept)")
	flag.StringVar(&c.cpuprof, "cpuprofile", "", "write a CPU profile of the generator to this file")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: benchcorpus -n N -size-mb MB [-seed S] [-layout flat|letter] -out DIR\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}

	// Every package's buffers are garbage once it is written and the live
	// heap stays small: collect less often (GC was ~10% of the CPU).
	debug.SetGCPercent(400)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if c.cpuprof != "" {
		f, err := os.Create(c.cpuprof)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchcorpus:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(ctx, c, os.Stdout); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "benchcorpus:", err)
		os.Exit(1)
	}
}

func (c config) validate() error {
	switch {
	case c.out == "":
		return errors.New("-out is required")
	case c.n < 1:
		return errors.New("-n must be at least 1")
	case c.sizeMB <= 0:
		return errors.New("-size-mb must be positive")
	case c.layout != "flat" && c.layout != "letter":
		return fmt.Errorf("-layout must be flat or letter, not %q", c.layout)
	case c.workers < 1:
		return errors.New("-workers must be at least 1")
	}
	return nil
}

func run(ctx context.Context, c config, stdout io.Writer) error {
	if err := c.validate(); err != nil {
		return err
	}
	if err := prepareOut(c.out, c.force); err != nil {
		return err
	}
	start := time.Now()

	p := newPlan(c.n, c.seed)

	// Pass 1: build every package's description (cheap, no contents) to
	// estimate its header and cpio overhead, so that the payload bytes can
	// be shared out to hit the target total.
	overhead := make([]int64, c.n)
	minPayload := make([]int64, c.n)
	err := forEach(ctx, c.n, c.workers, func(i int) error {
		s := p.spec(i)
		overhead[i] = s.overhead()
		minPayload[i] = s.minPayload()
		return nil
	})
	if err != nil {
		return err
	}
	target := int64(c.sizeMB * 1e6)
	payload, short := p.sharePayload(target, overhead, minPayload)
	if short {
		fmt.Fprintf(os.Stderr, "benchcorpus: %d packages need about %.0f MB of headers and minimal files; the total will exceed -size-mb\n",
			c.n, float64(sum(overhead)+sum(minPayload))/1e6)
	}

	if err := p.makeDirs(c.out, c.layout); err != nil {
		return err
	}

	// Pass 2: build and write. Each package depends only on the plan and
	// its index, so the order the workers take them in does not matter.
	sizes := make([]int64, c.n)
	err = forEach(ctx, c.n, c.workers, func(i int) error {
		s := p.spec(i)
		s.shareFiles(payload[i])
		n, err := s.write(p.path(c.out, c.layout, i))
		sizes[i] = n
		return err
	})
	if err != nil {
		return err
	}

	total := sum(sizes)
	d := time.Since(start)
	fmt.Fprintf(stdout, "%d packages, %d bytes (%.1f MB; -size-mb %g) in %s (%.0f MB/s, %.0f packages/s)\n",
		c.n, total, float64(total)/1e6, c.sizeMB, d.Round(10*time.Millisecond),
		float64(total)/1e6/d.Seconds(), float64(c.n)/d.Seconds())
	return nil
}

// prepareOut creates dir, or checks that it is empty.
func prepareOut(dir string, force bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if force {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if names, _ := f.Readdirnames(1); len(names) > 0 {
		return fmt.Errorf("%s is not empty (remove it, or pass -force)", dir)
	}
	return nil
}

// forEach calls fn(i) for i in [0, n) on up to workers goroutines and
// returns the first error; after an error or cancellation no new call
// starts.
func forEach(ctx context.Context, n, workers int, fn func(i int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for i := range n {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return fn(i) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

func sum(xs []int64) int64 {
	var t int64
	for _, x := range xs {
		t += x
	}
	return t
}
