package koji

import (
	"fmt"
	"strings"
)

// rpmInfo is what List uses of one row of listTaggedRPMS.
type rpmInfo struct {
	id                           int64
	name, version, release, arch string
	epoch                        string
	buildID, size, buildTime     int64
	metadataOnly                 bool
	sigkeys                      []string // "" is Koji's unsigned
	build                        *buildInfo
}

type buildInfo struct {
	name, version, release, volume string
}

// parseTagged turns listTaggedRPMS's [rpms, builds] into one rpmInfo per
// RPM, its signatures merged and its build attached, in hub order.
func parseTagged(v any) ([]*rpmInfo, error) {
	pair, ok := v.([]any)
	if !ok || len(pair) != 2 {
		return nil, fmt.Errorf("%w: got %s, want [rpms, builds]", ErrResponse, describeValue(v))
	}
	rpmList, ok1 := pair[0].([]any)
	buildList, ok2 := pair[1].([]any)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: got [%s, %s], want two arrays", ErrResponse, describeValue(pair[0]), describeValue(pair[1]))
	}
	builds := map[int64]*buildInfo{}
	for i, e := range buildList {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: build %d is %s, want a struct", ErrResponse, i, describeValue(e))
		}
		b, id, err := parseBuild(row(m))
		if err != nil {
			return nil, fmt.Errorf("build %d: %w", i, err)
		}
		builds[id] = b
	}
	byID := map[int64]*rpmInfo{}
	var rpms []*rpmInfo
	for i, e := range rpmList {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: rpm %d is %s, want a struct", ErrResponse, i, describeValue(e))
		}
		r, sig, hasSig, err := parseRPM(row(m))
		if err != nil {
			return nil, fmt.Errorf("rpm %d: %w", i, err)
		}
		if prev, ok := byID[r.id]; ok {
			r = prev
		} else {
			b, ok := builds[r.buildID]
			if !ok {
				return nil, fmt.Errorf("%w: rpm %d (%s) belongs to build %d, which is not in the build list", ErrResponse, i, r.name, r.buildID)
			}
			r.build = b
			byID[r.id] = r
			rpms = append(rpms, r)
		}
		if hasSig && !contains(r.sigkeys, sig) {
			r.sigkeys = append(r.sigkeys, sig)
		}
	}
	return rpms, nil
}

func parseBuild(m row) (*buildInfo, int64, error) {
	id, ok, err := m.optInt("build_id")
	if err != nil {
		return nil, 0, err
	}
	if !ok {
		if id, err = m.int("id"); err != nil {
			return nil, 0, err
		}
	}
	b := &buildInfo{}
	// "name" is the package name in readTaggedBuilds; "package_name" is
	// the same, and the only one in some older hubs.
	if b.name, ok, err = m.optStr("name"); err != nil {
		return nil, 0, err
	} else if !ok {
		if b.name, err = m.str("package_name"); err != nil {
			return nil, 0, err
		}
	}
	if b.version, err = m.str("version"); err != nil {
		return nil, 0, err
	}
	if b.release, err = m.str("release"); err != nil {
		return nil, 0, err
	}
	if b.volume, _, err = m.optStr("volume_name"); err != nil {
		return nil, 0, err
	}
	return b, id, nil
}

func parseRPM(m row) (r *rpmInfo, sig string, hasSig bool, err error) {
	r = &rpmInfo{}
	if r.id, err = m.int("id"); err != nil {
		return nil, "", false, err
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"name", &r.name}, {"version", &r.version}, {"release", &r.release}, {"arch", &r.arch}} {
		if *f.dst, err = m.str(f.key); err != nil {
			return nil, "", false, err
		}
	}
	epoch, ok, err := m.optInt("epoch")
	if err != nil {
		return nil, "", false, err
	}
	r.epoch = "0"
	if ok {
		r.epoch = fmt.Sprint(epoch)
	}
	if r.buildID, err = m.int("build_id"); err != nil {
		return nil, "", false, err
	}
	if r.size, err = m.int("size"); err != nil {
		return nil, "", false, err
	}
	if r.size < 0 {
		return nil, "", false, fmt.Errorf("%w: negative size %d", ErrResponse, r.size)
	}
	if r.buildTime, _, err = m.optInt("buildtime"); err != nil {
		return nil, "", false, err
	}
	if r.metadataOnly, err = m.optBool("metadata_only"); err != nil {
		return nil, "", false, err
	}
	// Present with rpmsigs=True: a key ID, "" (Koji's record of an
	// unsigned copy) or nil (no signature recorded at all).
	sig, hasSig, err = m.optStr("sigkey")
	if err != nil {
		return nil, "", false, err
	}
	return r, strings.ToLower(sig), hasSig, nil
}

// row reads typed fields of a struct from the hub, with errors naming
// the field.
type row map[string]any

func (m row) str(k string) (string, error) {
	s, ok, err := m.optStr(k)
	if err == nil && !ok {
		err = fmt.Errorf("%w: field %q is missing or nil", ErrResponse, k)
	}
	return s, err
}

func (m row) optStr(k string) (string, bool, error) {
	switch v := m[k].(type) {
	case nil:
		return "", false, nil
	case string:
		return v, true, nil
	default:
		return "", false, fmt.Errorf("%w: field %q is %s, want a string", ErrResponse, k, describeValue(v))
	}
}

func (m row) int(k string) (int64, error) {
	n, ok, err := m.optInt(k)
	if err == nil && !ok {
		err = fmt.Errorf("%w: field %q is missing or nil", ErrResponse, k)
	}
	return n, err
}

func (m row) optInt(k string) (int64, bool, error) {
	switch v := m[k].(type) {
	case nil:
		return 0, false, nil
	case int64:
		return v, true, nil
	default:
		return 0, false, fmt.Errorf("%w: field %q is %s, want an integer", ErrResponse, k, describeValue(v))
	}
}

func (m row) optBool(k string) (bool, error) {
	switch v := m[k].(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	default:
		return false, fmt.Errorf("%w: field %q is %s, want a boolean", ErrResponse, k, describeValue(v))
	}
}

func describeValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "nil"
	case []any:
		return fmt.Sprintf("an array of %d", len(v))
	case map[string]any:
		return "a struct"
	case string:
		return fmt.Sprintf("string %.40q", v)
	}
	return fmt.Sprintf("%T %v", v, v)
}
