package publish

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rpmirror/rpmirror/storage"
)

func TestState(t *testing.T) {
	ctx := context.Background()
	tg := fsTarget(t)
	s, err := ReadState(ctx, tg.b)
	if err != nil || len(s.Current) != 0 || len(s.Retired) != 0 || s.Version != StateVersion {
		t.Fatalf("state of an empty target: %+v, %v", s, err)
	}
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s.RepomdSHA256 = sha256Hex([]byte("x"))
	s.Current["repodata/repomd.xml"] = Entry{Size: 1, SHA256: s.RepomdSHA256}
	s.Retired["Packages/a.rpm"] = Retired{Size: 2, SHA256: sha256Hex([]byte("ab")), Since: since, Reason: ReasonSuperseded}
	s.Updated = since
	if err := writeState(ctx, tg.b, s); err != nil {
		t.Fatal(err)
	}
	got, err := ReadState(ctx, tg.b)
	if err != nil || !got.sameAs(s) || !got.Updated.Equal(since) {
		t.Errorf("read back %+v, %v", got, err)
	}
	got.Updated = since.Add(time.Hour)
	if !got.sameAs(s) {
		t.Error("sameAs looks at Updated")
	}
	r := got.Retired["Packages/a.rpm"]
	r.Since = r.Since.Add(time.Second)
	got.Retired["Packages/a.rpm"] = r
	if got.sameAs(s) {
		t.Error("sameAs ignores Since")
	}

	for _, tc := range []struct{ doc, want string }{
		{`{"version": 2, "current": {}}`, "version 2"},
		{`{"version": 0}`, "version 0"},
		{`not json`, "invalid character"},
	} {
		if err := putBytes(ctx, tg.b, StateKey, []byte(tc.doc), storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadState(ctx, tg.b); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.doc, err)
		}
	}
}
