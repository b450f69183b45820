package repo

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// maxMirrorListLine bounds one line of a mirrorlist.
const maxMirrorListLine = 16 << 10

// MirrorList is what rpmirror uses of a mirrorlist document.
type MirrorList struct {
	// Bases are the usable mirrors' base URLs, in document order, without
	// duplicates, each ending in "/".
	Bases []string
	// Skipped are the URLs that are not usable, with the reason.
	Skipped []SkippedURL
}

// ParseMirrorList reads a mirrorlist as dnf (librepo) does: one base URL
// per line, leading and trailing blanks ignored, blank lines and lines
// starting with "#" skipped. expand, when not nil, is applied to each URL
// line first: it is the configuration layer's substitution of $releasever,
// $basearch and the like, which dnf also applies to mirrorlist lines.
//
// It is stricter than librepo, which silently drops any line without
// "://": a line that is not a URL (an HTML error page served with status
// 200, say) is an error wrapping ErrMirrorList, naming the line. So is a
// line longer than 16 KiB, an http(s) URL without a host or with a
// fragment, and a document without a usable URL. URLs of other schemes
// (ftp, rsync, file, local paths) and lines still holding a $variable are
// skipped and listed in Skipped.
//
// ParseMirrorList does not bound its input; callers reading from the
// network limit it.
func ParseMirrorList(r io.Reader, expand func(string) string) (*MirrorList, error) {
	ml, err := parseMirrorList(r, expand)
	if err != nil {
		return nil, fmt.Errorf("%w: mirrorlist: %w", ErrMirrorList, err)
	}
	return ml, nil
}

func parseMirrorList(r io.Reader, expand func(string) string) (*MirrorList, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxMirrorListLine)
	ml := &MirrorList{}
	seen := map[string]bool{}
	for n := 1; sc.Scan(); n++ {
		line := strings.Trim(sc.Text(), " \t\r\ufeff")
		if line == "" || line[0] == '#' {
			continue
		}
		if expand != nil {
			line = expand(line)
		}
		if strings.HasPrefix(line, "/") {
			ml.Skipped = append(ml.Skipped, SkippedURL{line, "a local path"})
			continue
		}
		if !strings.Contains(line, "://") {
			return nil, fmt.Errorf("line %d: %q is not a URL", n, truncate(line, 80))
		}
		if hasVariable(line) {
			ml.Skipped = append(ml.Skipped, SkippedURL{line, "holds an unexpanded $variable"})
			continue
		}
		u, reason := parseMirrorURL(line)
		if reason != "" {
			if isHTTP(line) {
				return nil, fmt.Errorf("line %d: %q: %s", n, truncate(line, 80), reason)
			}
			ml.Skipped = append(ml.Skipped, SkippedURL{line, reason})
			continue
		}
		if b := u.String(); !seen[b] {
			seen[b] = true
			ml.Bases = append(ml.Bases, b)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("a line is longer than %d bytes", maxMirrorListLine)
		}
		return nil, err
	}
	if len(ml.Bases) == 0 {
		if len(ml.Skipped) > 0 {
			return nil, fmt.Errorf("no usable mirror URL (%d skipped, first %q: %s)", len(ml.Skipped), ml.Skipped[0].URL, ml.Skipped[0].Reason)
		}
		return nil, errors.New("no mirror URL")
	}
	return ml, nil
}

// isHTTP reports whether s starts with an http or https scheme.
func isHTTP(s string) bool {
	scheme, _, _ := strings.Cut(s, "://")
	scheme = strings.ToLower(scheme)
	return scheme == "http" || scheme == "https"
}

// hasVariable reports whether s holds a dnf variable reference ($name or
// ${name}) that nobody expanded.
func hasVariable(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '$' {
			continue
		}
		c := s[i+1]
		if c == '{' || c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') {
			return true
		}
	}
	return false
}

// parseMirrorURL parses a repository base URL: absolute, http or https,
// with a host, without a fragment; its path is made to end in "/" so that
// hrefs resolve below it. It returns the reason when s is not usable.
func parseMirrorURL(s string) (*url.URL, string) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, "not a valid URL: " + strings.TrimPrefix(err.Error(), "parse "+fmt.Sprintf("%q", s)+": ")
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		u.Scheme = strings.ToLower(u.Scheme)
	case "":
		return nil, "not an absolute URL"
	default:
		return nil, fmt.Sprintf("scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" || u.Opaque != "" {
		return nil, "no host"
	}
	if u.Fragment != "" || strings.HasSuffix(s, "#") {
		return nil, "has a fragment"
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u, ""
}
