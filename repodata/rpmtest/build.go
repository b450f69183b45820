package rpmtest

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/rpmpack"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// Build returns the bytes of the RPM file that s describes.
//
// rpmpack writes the payload and the file and general tags; Build then
// rewrites the main header with what rpmpack cannot say (tags it cannot
// delete, such as SOURCERPM of a source package; dependency flags; weak
// and legacy dependencies; changelogs; epoch in the self-provide; raw
// tags) and writes the lead and signature header itself, so that the
// signature digests and OpenPGP signatures cover the final header.
//
// Build is safe for concurrent use.
func Build(s Spec) ([]byte, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	raw, err := buildWithRPMPack(s)
	if err != nil {
		return nil, fmt.Errorf("rpmtest: build %s: %w", s.Name, err)
	}
	lay, err := ParseLayout(raw)
	if err != nil {
		return nil, fmt.Errorf("rpmtest: build %s: parse rpmpack output: %w", s.Name, err)
	}
	h, _, err := decodeHeader(raw[lay.HeaderStart:])
	if err != nil {
		return nil, fmt.Errorf("rpmtest: build %s: parse rpmpack header: %w", s.Name, err)
	}
	payload := raw[lay.PayloadStart:]

	if err := s.fillHeader(h); err != nil {
		return nil, fmt.Errorf("rpmtest: build %s: %w", s.Name, err)
	}
	hb := h.encode(tagHeaderImmutable)

	var comp string
	if e, ok := h[tagPayloadComp]; ok && len(e.strings()) == 1 {
		comp = e.strings()[0]
	}
	payloadSize, err := uncompressedSize(comp, payload)
	if err != nil {
		return nil, fmt.Errorf("rpmtest: build %s: read back payload: %w", s.Name, err)
	}
	sig, err := signatureHeader(hb, payload, payloadSize, s.Signer)
	if err != nil {
		return nil, fmt.Errorf("rpmtest: build %s: %w", s.Name, err)
	}

	var out bytes.Buffer
	out.Write(lead(s.nevr(), s.Source))
	out.Write(sig)
	out.Write(make([]byte, (8-len(sig)%8)%8))
	out.Write(hb)
	out.Write(payload)
	return out.Bytes(), nil
}

// WriteFile builds s and writes it to dir/s.RelPath(), creating
// subdirectories as needed and replacing an existing file. The file's
// modification time is set to s.BuildTime (when not zero), so that the
// file times in generated metadata are reproducible too.
func WriteFile(dir string, s Spec) (path string, err error) {
	b, err := Build(s)
	if err != nil {
		return "", err
	}
	path = filepath.Join(dir, filepath.FromSlash(s.RelPath()))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("rpmtest: %w", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return "", fmt.Errorf("rpmtest: %w", err)
	}
	if !s.BuildTime.IsZero() {
		if err := os.Chtimes(path, s.BuildTime, s.BuildTime); err != nil {
			return "", fmt.Errorf("rpmtest: %w", err)
		}
	}
	return path, nil
}

// WriteAll writes every Spec with WriteFile and returns the paths in the
// order of specs. It fails if two Specs have the same RelPath.
func WriteAll(dir string, specs []Spec) ([]string, error) {
	seen := map[string]string{}
	paths := make([]string, 0, len(specs))
	for _, s := range specs {
		rel := s.RelPath()
		if other, ok := seen[rel]; ok {
			return nil, fmt.Errorf("rpmtest: %s and %s both write %s", other, s.NEVRA(), rel)
		}
		seen[rel] = s.NEVRA()
		p, err := WriteFile(dir, s)
		if err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func buildWithRPMPack(s Spec) ([]byte, error) {
	r, err := rpmpack.NewRPM(rpmpack.RPMMetaData{
		Name:        s.Name,
		Summary:     s.Summary,
		Description: s.Description,
		Version:     s.Version,
		Release:     s.Release,
		Arch:        s.arch(),
		Vendor:      s.Vendor,
		URL:         s.URL,
		Packager:    s.Packager,
		Group:       s.Group,
		Licence:     s.License,
		BuildHost:   s.BuildHost,
		Compressor:  s.Compressor,
		// The epoch is written by fillHeader: rpmpack cannot write
		// 4294967295, its NoEpoch sentinel.
		Epoch:     rpmpack.NoEpoch,
		BuildTime: s.BuildTime,
	})
	if err != nil {
		return nil, err
	}
	for _, f := range s.Files {
		mode, body := f.Mode, f.Content
		switch {
		case f.Dir:
			if mode == 0 {
				mode = 0o755
			}
			mode |= 0o40000
			body = nil
		case f.Symlink != "":
			if mode == 0 {
				mode = 0o777
			}
			mode |= 0o120000
			body = []byte(f.Symlink)
		default:
			if mode == 0 {
				mode = 0o644
			}
		}
		mtime := f.MTime
		if mtime.IsZero() {
			mtime = s.BuildTime
		}
		var mt uint32
		if !mtime.IsZero() {
			mt = uint32(mtime.Unix())
		}
		r.AddFile(rpmpack.RPMFile{
			Name:  f.Path,
			Body:  body,
			Mode:  uint(mode),
			Owner: orDefault(f.Owner, "root"),
			Group: orDefault(f.Group, "root"),
			MTime: mt,
			Type:  rpmpack.FileType(f.Flags),
		})
	}
	if s.Pre != "" {
		r.AddPrein(s.Pre)
	}
	if s.Post != "" {
		r.AddPostin(s.Post)
	}
	if s.PreUn != "" {
		r.AddPreun(s.PreUn)
	}
	if s.PostUn != "" {
		r.AddPostun(s.PostUn)
	}
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// depTags are the NAME, VERSION and FLAGS tags of each dependency list.
var depTags = []struct{ name, version, flags int }{
	{tagProvideName, tagProvideVersion, tagProvideFlags},
	{tagRequireName, tagRequireVersion, tagRequireFlags},
	{tagConflictName, tagConflictVersion, tagConflictFlags},
	{tagObsoleteName, tagObsoleteVersion, tagObsoleteFlags},
	{tagRecommendName, tagRecommendVersion, tagRecommendFlags},
	{tagSuggestName, tagSuggestVersion, tagSuggestFlags},
	{tagSupplementName, tagSupplementVersion, tagSupplementFlags},
	{tagEnhanceName, tagEnhanceVersion, tagEnhanceFlags},
}

// fillHeader turns rpmpack's header into the one s describes.
func (s Spec) fillHeader(h header) error {
	if s.Epoch != nil {
		h[tagEpoch] = int32Entry([]uint32{*s.Epoch})
	}

	// rpmbuild writes these as I18NSTRING (with the HEADERI18NTABLE
	// "C" that rpmpack writes too); readers must handle both types.
	for _, t := range []int{tagSummary, tagDescription, tagGroup} {
		if e, ok := h[t]; ok && e.typ == typeString {
			e.typ = typeI18NString
			h[t] = e
		}
	}

	// rpmpack writes its own self-provide, without the epoch, and knows
	// no flags beyond the comparisons and RPMLIB: replace all lists.
	lists := [][]Dep{s.HeaderProvides(), s.Requires, s.Conflicts, s.Obsoletes,
		s.Recommends, s.Suggests, s.Supplements, s.Enhances}
	for i, deps := range lists {
		t := depTags[i]
		delete(h, t.name)
		delete(h, t.version)
		delete(h, t.flags)
		if len(deps) == 0 {
			continue
		}
		names := make([]string, len(deps))
		versions := make([]string, len(deps))
		flags := make([]uint32, len(deps))
		for j, d := range deps {
			names[j], versions[j], flags[j] = d.Name, d.Version, uint32(d.Flags)
		}
		h[t.name] = stringArrayEntry(names)
		h[t.version] = stringArrayEntry(versions)
		h[t.flags] = int32Entry(flags)
	}

	if s.Source {
		delete(h, tagSourceRPM)
		h[tagSourcePackage] = int32Entry([]uint32{1})
	} else {
		src := s.SourceRPM
		if src == "" {
			src = fmt.Sprintf("%s-%s-%s.src.rpm", s.Name, s.Version, s.Release)
		}
		h[tagSourceRPM] = stringEntry(src)
	}

	if n := len(s.Changelogs); n > 0 {
		times := make([]uint32, n)
		names := make([]string, n)
		texts := make([]string, n)
		for i, c := range s.Changelogs {
			times[i], names[i], texts[i] = uint32(c.Time.Unix()), c.Author, c.Text
		}
		h[tagChangelogTime] = int32Entry(times)
		h[tagChangelogName] = stringArrayEntry(names)
		h[tagChangelogText] = stringArrayEntry(texts)
	}

	// rpmpack writes FILEDIGESTALGO once per file and FILERDEVS as 1;
	// rpmbuild writes one algorithm for the package and rdev 0.
	if e, ok := h[tagFileDigestAlgo]; ok && e.count > 1 {
		h[tagFileDigestAlgo] = int32Entry(e.uint32s()[:1])
	}
	if e, ok := h[tagFileRDevs]; ok {
		e.data = make([]byte, len(e.data))
		h[tagFileRDevs] = e
	}

	for _, rt := range s.RawTags {
		if rt.Value == nil {
			delete(h, rt.Tag)
			continue
		}
		e, err := rawEntry(rt.Value)
		if err != nil {
			return fmt.Errorf("raw tag %d: %w", rt.Tag, err)
		}
		h[rt.Tag] = e
	}
	return nil
}

const tagFileRDevs = 1033

func rawEntry(v any) (entry, error) {
	switch v := v.(type) {
	case string:
		return stringEntry(v), nil
	case I18NString:
		e := stringEntry(string(v))
		e.typ = typeI18NString
		return e, nil
	case []string:
		return stringArrayEntry(v), nil
	case []byte:
		return binEntry(v), nil
	case []uint16:
		b := make([]byte, 0, 2*len(v))
		for _, x := range v {
			b = binary.BigEndian.AppendUint16(b, x)
		}
		return entry{typ: typeInt16, count: uint32(len(v)), data: b}, nil
	case []int16:
		b := make([]byte, 0, 2*len(v))
		for _, x := range v {
			b = binary.BigEndian.AppendUint16(b, uint16(x))
		}
		return entry{typ: typeInt16, count: uint32(len(v)), data: b}, nil
	case []uint32:
		return int32Entry(v), nil
	case []int32:
		u := make([]uint32, len(v))
		for i, x := range v {
			u[i] = uint32(x)
		}
		return int32Entry(u), nil
	case []uint64:
		b := make([]byte, 0, 8*len(v))
		for _, x := range v {
			b = binary.BigEndian.AppendUint64(b, x)
		}
		return entry{typ: typeInt64, count: uint32(len(v)), data: b}, nil
	}
	return entry{}, fmt.Errorf("unsupported value type %T", v)
}

// uncompressedSize is the length of the cpio archive, which rpmbuild
// stores as the signature's PAYLOADSIZE (rpmpack stores the sum of the
// file sizes instead).
func uncompressedSize(comp string, payload []byte) (int64, error) {
	var r io.Reader
	var err error
	switch comp {
	case "gzip", "":
		r, err = gzip.NewReader(bytes.NewReader(payload))
	case "xz":
		r, err = xz.NewReader(bytes.NewReader(payload))
	case "lzma":
		r, err = lzma.NewReader(bytes.NewReader(payload))
	case "zstd":
		var d *zstd.Decoder
		d, err = zstd.NewReader(bytes.NewReader(payload), zstd.WithDecoderConcurrency(1))
		if err == nil {
			defer d.Close()
			r = d
		}
	default:
		return 0, fmt.Errorf("unknown compressor %q", comp)
	}
	if err != nil {
		return 0, err
	}
	return io.Copy(io.Discard, r)
}

// signatureHeader builds the signature header that rpmsign would: sizes,
// digests of the header (SHA1, SHA256) and of header+payload (MD5), and
// the OpenPGP signatures if sign is set.
func signatureHeader(hb, payload []byte, payloadSize int64, sign SignFunc) ([]byte, error) {
	if uint64(len(hb)+len(payload)) > 1<<31-1 || payloadSize > 1<<31-1 {
		return nil, errors.New("package too large for 32-bit size tags")
	}
	body := append(append(make([]byte, 0, len(hb)+len(payload)), hb...), payload...)
	sha1sum := sha1.Sum(hb)
	sha256sum := sha256.Sum256(hb)
	md5sum := md5.Sum(body)
	sh := header{
		sigTagSize:        int32Entry([]uint32{uint32(len(body))}),
		sigTagSHA1:        stringEntry(hex.EncodeToString(sha1sum[:])),
		sigTagSHA256:      stringEntry(hex.EncodeToString(sha256sum[:])),
		sigTagMD5:         binEntry(md5sum[:]),
		sigTagPayloadSize: int32Entry([]uint32{uint32(payloadSize)}),
	}
	if sign != nil {
		hsig, err := sign(hb)
		if err != nil {
			return nil, fmt.Errorf("sign header: %w", err)
		}
		bsig, err := sign(body)
		if err != nil {
			return nil, fmt.Errorf("sign header and payload: %w", err)
		}
		sh[sigTagRSA] = binEntry(hsig)
		sh[sigTagPGP] = binEntry(bsig)
	}
	return sh.encode(tagHeaderSignatures), nil
}
