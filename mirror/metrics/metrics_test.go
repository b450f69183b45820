package metrics

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMetrics(t *testing.T) {
	errPartial := errors.New("partial")
	m := New(func(err error) bool { return errors.Is(err, errPartial) })
	m.PackageFetched("el9", 1000)
	m.PackageFetched("el9", 24)
	m.PackageFailed("el9")
	m.SyncFinished("el9", 2*time.Second, nil)
	m.SyncFinished("el9", time.Second, errPartial)
	m.SyncFinished("el10", time.Second, errors.New("boom"))
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	for _, want := range []string{
		`rpmirror_packages_fetched_total{repo="el9"} 2`,
		`rpmirror_fetched_bytes_total{repo="el9"} 1024`,
		`rpmirror_package_errors_total{repo="el9"} 1`,
		`rpmirror_sync_runs_total{repo="el9",result="ok"} 1`,
		`rpmirror_sync_runs_total{repo="el9",result="partial"} 1`,
		`rpmirror_sync_runs_total{repo="el10",result="error"} 1`,
		`rpmirror_sync_duration_seconds_count{repo="el9"} 2`,
		`rpmirror_last_success_timestamp_seconds{repo="el9"}`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, `rpmirror_last_success_timestamp_seconds{repo="el10"}`) {
		t.Error("a failed run set the last success time")
	}
}

// Repository names are label values: any of them, quotes and
// backslashes included, gives a valid exposition (the library panics
// on an invalid metric name).
func TestMetricsEscapeLabels(t *testing.T) {
	m := New(nil)
	name := `odd"repo\name`
	m.PackageFetched(name, 1)
	m.SyncFinished(name, time.Second, nil)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if want := `rpmirror_packages_fetched_total{repo="odd\"repo\\name"} 1`; !strings.Contains(string(b), want) {
		t.Errorf("metrics lack %s:\n%s", want, b)
	}
	if !strings.Contains(string(b), "# TYPE rpmirror_packages_fetched_total counter") {
		t.Error("no TYPE line")
	}
}
