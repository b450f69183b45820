// Package koji is a source.Source that offers the RPMs tagged in a Koji
// tag (e.g. a CentOS SIG's tag on cbs.centos.org), read from the hub's
// XML-RPC API and fetched from its file tree (topurl).
//
// Listing: one listTaggedRPMS(tag, latest=..., inherit=..., arch=[...],
// rpmsigs=...) call. Koji lays files out by *build*, not by RPM name:
//
//	<topurl>[/vol/<volume>]/packages/<build name>/<version>/<release>/<arch>/<nvra>.rpm
//	<topurl>[/vol/<volume>]/packages/<build name>/<version>/<release>/data/signed/<sigkey>/<arch>/<nvra>.rpm
//
// (a python3-foo RPM of build foo lives under packages/foo/), the
// second path being the signed copy, which exists only once someone ran
// "koji write-signed-rpm" for it.
//
// Candidates are published at Config.Layout, by default
// "Packages/<first letter of the name, lower case>/<nvra>.rpm", Fedora's
// layout. They carry Koji's name, epoch ("0" when Koji has none),
// version, release, arch and build time, and the file URL as Origin.
// Checksum is always zero: the only digest Koji keeps (payloadhash) is
// the MD5 of the header and payload, not of the file, and MD5 verifies
// nothing; the caller hashes what it downloads. Size is Koji's for
// unsigned copies and -1 (unknown) for signed copies, because Koji
// records the size of the file as it was built, before the signature
// was added.
//
// Access is anonymous and read-only: the hub and topurl must not need
// authentication (cbs.centos.org does not).
package koji

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rpmirror/rpmirror/mirror/source"
	"github.com/rpmirror/rpmirror/mirror/source/koji/internal/xmlrpc"
	"github.com/rpmirror/rpmirror/repodata"
)

// Errors callers may act on.
var (
	// ErrResponse: the hub answered with well-formed XML-RPC that is not
	// shaped like Koji's answer (a missing field, a wrong type).
	ErrResponse = errors.New("koji: unexpected hub response")
	// ErrNotFound: topurl has no file where Koji says the package is
	// (HTTP 404 or 410). For a signed copy it usually means the copy was
	// never written back. Errors wrapping it also wrap fs.ErrNotExist.
	ErrNotFound = errors.New("koji: file not found under topurl")
	// ErrMalformed: the hub's answer is not well-formed XML-RPC.
	ErrMalformed = xmlrpc.ErrMalformed
)

// Fault is an XML-RPC fault returned by the hub (faultCode 1000 is
// Koji's GenericError, e.g. "No such tagInfo"); find it with errors.As.
type Fault = xmlrpc.Fault

// faultServerOffline is koji.ServerOffline's faultCode: the hub is up but
// refuses calls for now (maintenance), worth retrying.
const faultServerOffline = 1014

// DefaultLayout is Config.Layout's default.
const DefaultLayout = "Packages/{first}/{nvra}.rpm"

// Config says which tag to mirror from which Koji.
type Config struct {
	// Hub is the XML-RPC endpoint, e.g. https://cbs.centos.org/kojihub.
	Hub string
	// TopURL is the base URL of the file tree, e.g.
	// https://cbs.centos.org/kojifiles.
	TopURL string
	// Tag is the tag's name, e.g. "hyperscale9s-packages-main-release".
	Tag string
	// Arches are the RPM arches to list ("x86_64", "aarch64", "src",
	// ...); empty lists every arch. "noarch" is added whenever a binary
	// arch is listed, since every arch's repository carries the noarch
	// packages; ask for "src" explicitly to get source RPMs.
	Arches []string
	// SigKey is the signing key's ID as Koji names it: 8 hex digits, the
	// low 32 bits of the key ID (16 hex digits are accepted and cut to
	// their last 8; case does not matter). When set, every package is
	// fetched from its signed copy, and a package Koji has no signature
	// of that key for is reported in the log and left out. When empty,
	// the unsigned files are fetched.
	SigKey string
	// Latest lists only the latest build of each package in the tag, as
	// Koji's repositories do. DefaultConfig sets it; false lists every
	// build tagged.
	Latest bool
	// Inherit follows the tag's inheritance.
	Inherit bool
	// Layout is where candidates are published, relative to the
	// repository root, with placeholders {name}, {version}, {release},
	// {arch}, {nvra} (name-version-release.arch), {first} (the name's
	// first character, lower case) and {build} (the name of the build,
	// i.e. of the source package). Default DefaultLayout.
	Layout string
	// HTTPClient makes every request; nil uses one with connection and
	// TLS handshake bounded by Timeout. Its own Timeout, if any, bounds
	// whole transfers: leave it zero.
	HTTPClient *http.Client
	// Timeout is the longest the source waits for the hub or file server
	// to make progress: to connect, to answer, or to send more of a
	// response. Default 2 minutes (listTaggedRPMS on a large tag takes
	// the hub tens of seconds before the first byte).
	Timeout time.Duration
	// Retries is how many times a failed hub call or download is tried
	// again after the first attempt, for failures that may pass: network
	// errors, stalls, HTTP 5xx/408/429, a hub that is offline. Default 4;
	// negative means none.
	Retries int
	// RetryWait is the wait before the first retry, doubled for each
	// further one (up to a minute). Default 1 second.
	RetryWait time.Duration
}

// DefaultConfig returns a Config with Latest set and the default layout,
// timeout and retries; the caller fills in Hub, TopURL, Tag and the rest.
func DefaultConfig() Config {
	return Config{Latest: true, Layout: DefaultLayout, Timeout: 2 * time.Minute, Retries: 4, RetryWait: time.Second}
}

// Source lists a Koji tag and fetches its packages. It is safe for
// concurrent use.
type Source struct {
	cfg      Config // normalized
	hub      string
	top      *url.URL // path ends in '/'
	arches   []string // sorted, noarch added; nil for all
	layout   []layoutPart
	client   *http.Client
	log      logrus.FieldLogger
	cfgPrint string

	mu      sync.Mutex
	skipped int // packages the last List left out for want of a signature
}

var _ source.Source = (*Source)(nil)

// New checks cfg and returns a Source. It makes no request. Zero
// Timeout, Retries, RetryWait and Layout take their DefaultConfig
// values; Latest is taken as given. log may be nil.
func New(cfg Config, log logrus.FieldLogger) (*Source, error) {
	def := DefaultConfig()
	if cfg.Timeout <= 0 {
		cfg.Timeout = def.Timeout
	}
	if cfg.Retries == 0 {
		cfg.Retries = def.Retries
	} else if cfg.Retries < 0 {
		cfg.Retries = 0
	}
	if cfg.RetryWait <= 0 {
		cfg.RetryWait = def.RetryWait
	}
	if cfg.Layout == "" {
		cfg.Layout = def.Layout
	}
	if cfg.Tag == "" || !printable(cfg.Tag) {
		return nil, fmt.Errorf("koji: invalid tag %q", cfg.Tag)
	}
	hub, err := parseBaseURL("hub", cfg.Hub)
	if err != nil {
		return nil, err
	}
	top, err := parseBaseURL("topurl", cfg.TopURL)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(top.Path, "/") {
		top.Path += "/"
		if top.RawPath != "" {
			top.RawPath += "/"
		}
	}
	key, err := normalizeSigKey(cfg.SigKey)
	if err != nil {
		return nil, err
	}
	cfg.SigKey = key
	arches, err := normalizeArches(cfg.Arches)
	if err != nil {
		return nil, err
	}
	cfg.Arches = arches
	layout, err := parseLayout(cfg.Layout)
	if err != nil {
		return nil, err
	}
	client := cfg.HTTPClient
	if client == nil {
		dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
		client = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         dialer.DialContext,
			TLSHandshakeTimeout: cfg.Timeout,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     90 * time.Second,
			// Package bytes must arrive as they are stored; hub
			// responses ask for gzip themselves.
			DisableCompression: true,
			ForceAttemptHTTP2:  true,
		}}
	}
	if log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		log = l
	}
	s := &Source{
		cfg: cfg, hub: hub.String(), top: top, arches: arches, layout: layout, client: client,
		log: log.WithField("source", "koji:"+cfg.Tag),
	}
	// Everything that changes what List returns is part of the
	// fingerprint, so that a changed configuration is a change.
	h := sha256.New()
	fmt.Fprintf(h, "hub=%s\ntopurl=%s\ntag=%s\narches=%s\nsigkey=%s\nlatest=%t\ninherit=%t\nlayout=%s\n",
		s.hub, top.String(), cfg.Tag, strings.Join(arches, ","), key, cfg.Latest, cfg.Inherit, cfg.Layout)
	s.cfgPrint = hex.EncodeToString(h.Sum(nil))[:16]
	return s, nil
}

func parseBaseURL(what, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("koji: %s URL: %w", what, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("koji: %s URL %q: want http or https", what, u.Redacted())
	case u.Host == "":
		return nil, fmt.Errorf("koji: %s URL %q has no host", what, u.Redacted())
	case u.User != nil:
		return nil, fmt.Errorf("koji: %s URL: credentials in URLs are not supported (logs would show them)", what)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("koji: %s URL %q: no query or fragment allowed", what, u.Redacted())
	}
	return u, nil
}

func normalizeSigKey(k string) (string, error) {
	k = strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(k, "0x"), "0X"))
	if k == "" {
		return "", nil
	}
	if len(k) == 16 {
		k = k[8:]
	}
	if _, err := hex.DecodeString(k); err != nil || len(k) != 8 {
		return "", fmt.Errorf("koji: SigKey %q: want the key ID as 8 (or 16) hex digits, as Koji shows it", k)
	}
	return k, nil
}

func normalizeArches(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	set := map[string]bool{}
	binary := false
	for _, a := range in {
		if !validSegment(a) {
			return nil, fmt.Errorf("koji: invalid arch %q", a)
		}
		set[a] = true
		if a != "src" && a != "nosrc" {
			binary = true
		}
	}
	if binary {
		set["noarch"] = true
	}
	out := make([]string, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	return out, nil
}

// Incomplete reports whether the last List left out packages the tag
// has, because Koji holds no signature by SigKey for them. Signing a
// build creates no Koji event, so Fingerprint cannot see it happen: a
// syncer must not record a fingerprint as synced after an incomplete
// List, or those packages wait for an unrelated event on the hub.
func (s *Source) Incomplete() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.skipped > 0
}

// Fingerprint returns the hub's last event id with the tag and a digest
// of the configuration. Any change on the hub (in any tag) makes a new
// event, so the fingerprint changes more often than the tag does, never
// less, with one exception: signing a package and writing its signed
// copy create no event (see Incomplete).
func (s *Source) Fingerprint(ctx context.Context) (string, error) {
	v, err := s.call(ctx, "getLastEvent")
	if err != nil {
		return "", err
	}
	ev, ok := v.(map[string]any)
	if !ok {
		return "", fmt.Errorf("%w: getLastEvent returned %T, want a struct", ErrResponse, v)
	}
	id, err := row(ev).int("id")
	if err != nil {
		return "", fmt.Errorf("getLastEvent: %w", err)
	}
	return fmt.Sprintf("koji tag=%s event=%d config=%s", s.cfg.Tag, id, s.cfgPrint), nil
}

// List calls listTaggedRPMS and returns the candidates sorted by Href.
func (s *Source) List(ctx context.Context) ([]source.Candidate, error) {
	opts := map[string]any{"__starstar": true, "latest": s.cfg.Latest, "inherit": s.cfg.Inherit}
	if s.arches != nil {
		arches := make([]any, len(s.arches))
		for i, a := range s.arches {
			arches[i] = a
		}
		opts["arch"] = arches
	}
	if s.cfg.SigKey != "" {
		// One row per (rpm, signature): how we learn which are signed.
		opts["rpmsigs"] = true
	}
	v, err := s.call(ctx, "listTaggedRPMS", s.cfg.Tag, opts)
	if err != nil {
		return nil, err
	}
	out, skipped, err := s.candidates(v)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.skipped = skipped
	s.mu.Unlock()
	if skipped > 0 {
		s.log.WithField("key", s.cfg.SigKey).Warnf("%d packages left out: not signed with the configured key", skipped)
	}
	return out, nil
}

// candidates turns listTaggedRPMS's answer into candidates sorted by
// Href, and counts the packages left out for want of a signature.
func (s *Source) candidates(v any) ([]source.Candidate, int, error) {
	rpms, err := parseTagged(v)
	if err != nil {
		return nil, 0, fmt.Errorf("listTaggedRPMS(%s): %w", s.cfg.Tag, err)
	}
	var out []source.Candidate
	byHref := map[string]string{}
	skipped := 0
	for _, r := range rpms {
		nvra := r.name + "-" + r.version + "-" + r.release + "." + r.arch
		log := s.log.WithField("pkg", nvra)
		if r.metadataOnly {
			log.Debug("metadata-only RPM: Koji has no file for it")
			continue
		}
		if s.arches != nil && !contains(s.arches, r.arch) {
			continue // the hub filters; this is for hubs that ignore arch
		}
		signed := false
		if s.cfg.SigKey != "" {
			if !contains(r.sigkeys, s.cfg.SigKey) {
				skipped++
				log.WithFields(logrus.Fields{"key": s.cfg.SigKey, "signed_with": describeKeys(r.sigkeys)}).
					Warn("not signed with the configured key: left out")
				continue
			}
			signed = true
		}
		u, err := s.fileURL(r, signed)
		if err != nil {
			log.WithError(err).Warn("cannot make a URL for it: left out")
			continue
		}
		href := expandLayout(s.layout, r)
		if err := repodata.CheckHref(href); err != nil {
			log.WithError(err).Warn("left out")
			continue
		}
		if other, dup := byHref[href]; dup {
			return nil, 0, fmt.Errorf("koji: layout %q gives %s and %s the same path %s", s.cfg.Layout, other, nvra, href)
		}
		byHref[href] = nvra
		c := source.Candidate{
			Href: href, Name: r.name, Epoch: r.epoch, Version: r.version, Release: r.release, Arch: r.arch,
			BuildTime: r.buildTime, Size: r.size, Origin: u,
		}
		if signed {
			c.Size = -1 // Koji's size is the unsigned file's
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Href < out[j].Href })
	return out, skipped, nil
}

func describeKeys(keys []string) string {
	var ks []string
	for _, k := range keys {
		if k == "" {
			k = "(unsigned)"
		}
		ks = append(ks, k)
	}
	if len(ks) == 0 {
		return "(no signature recorded)"
	}
	return strings.Join(ks, ",")
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// fileURL is where Koji keeps r's file (see the package comment).
func (s *Source) fileURL(r *rpmInfo, signed bool) (string, error) {
	b := r.build
	segs := []string{}
	if b.volume != "" && b.volume != "DEFAULT" {
		segs = append(segs, "vol", b.volume)
	}
	segs = append(segs, "packages", b.name, b.version, b.release)
	if signed {
		segs = append(segs, "data", "signed", s.cfg.SigKey)
	}
	segs = append(segs, r.arch, r.name+"-"+r.version+"-"+r.release+"."+r.arch+".rpm")
	var p, raw strings.Builder
	for _, seg := range segs {
		if !validSegment(seg) {
			return "", fmt.Errorf("%w: path element %q", ErrResponse, seg)
		}
		p.WriteString(seg + "/")
		// '+' is a space to S3's HTTP interface; every server decodes %2B.
		raw.WriteString(strings.ReplaceAll(url.PathEscape(seg), "+", "%2B") + "/")
	}
	u := *s.top
	u.Path = s.top.Path + strings.TrimSuffix(p.String(), "/")
	u.RawPath = s.top.EscapedPath() + strings.TrimSuffix(raw.String(), "/")
	return u.String(), nil
}

// validSegment: one path element, nothing a URL or file system would
// read specially.
func validSegment(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\\") && printable(s)
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}
