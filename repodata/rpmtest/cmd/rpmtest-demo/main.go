// Command rpmtest-demo writes the demo packages of package rpmtest into a
// directory, for the README's offline demo:
//
//	go run ./repodata/rpmtest/cmd/rpmtest-demo DIR
package main

import (
	"fmt"
	"os"

	"github.com/rpmirror/rpmirror/repodata/rpmtest"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: rpmtest-demo DIR")
		os.Exit(64)
	}
	dir := os.Args[1]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	paths, err := rpmtest.WriteAll(dir, rpmtest.Demo())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, p := range paths {
		fmt.Println(p)
	}
}
