package main

import (
	"context"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rpmirror/rpmirror/repodata/createrepo"
)

func main() {
	f, _ := os.Create(os.Args[3])
	pprof.StartCPUProfile(f)
	o := createrepo.DefaultOptions(os.Args[1])
	o.OutputDir = os.Args[2]
	o.Workers = 2
	l := logrus.New()
	l.SetOutput(io.Discard)
	if len(os.Args) > 4 {
		runtime.MemProfileRate = 4096
		go func() {
			d, _ := time.ParseDuration(os.Getenv("PROF_HEAP_AT"))
			time.Sleep(max(d, 600*time.Millisecond))
			h, _ := os.Create(os.Args[4])
			pprof.Lookup("heap").WriteTo(h, 0)
			h.Close()
		}()
	}
	_, err := createrepo.Run(context.Background(), o, l, nil)
	pprof.StopCPUProfile()
	if err != nil {
		panic(err)
	}
}
