// Package xmlrpc is the XML-RPC codec the Koji source talks to a Koji hub
// with: methodCall encoding, methodResponse and fault decoding, and the
// two extensions Koji's Python marshaller uses (<nil/>, also spelled
// <ex:nil/>, and <i8>).
//
// Why not a library: the Go XML-RPC client most projects use,
// github.com/kolo/xmlrpc, has had no commit since 2022 and gets Koji
// wrong in ways that matter here: it encodes a Go nil as an empty
// <value/>, which Koji reads as the string "" (so event=None and
// arch=None cannot be sent), it returns <base64> undecoded, and it reads
// a response of any size into reflection-driven structs with no limit
// on size or nesting. What Koji needs is small (a dozen element types),
// so we keep it here, decoding into plain Go values and fuzzing the
// decoder.
//
// Values map to Go as follows, both ways:
//
//	<int>, <i4>, <i8>     int64 (int and int32 are accepted when encoding)
//	<boolean>             bool
//	<string>, untyped     string
//	<double>              float64
//	<base64>              []byte
//	<dateTime.iso8601>    time.Time
//	<nil/>, <ex:nil/>     nil
//	<array>               []any ([]string is accepted when encoding)
//	<struct>              map[string]any (encoded with sorted keys)
package xmlrpc

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrMalformed is wrapped by every error about a message that is not
// well-formed XML-RPC.
var ErrMalformed = errors.New("xmlrpc: malformed message")

// MaxDepth is how deeply arrays and structs may nest in a decoded
// message; deeper input is rejected rather than recursed into.
const MaxDepth = 64

// Fault is an XML-RPC fault response, returned as an error.
type Fault struct {
	Code   int64
	String string
}

func (f *Fault) Error() string {
	return fmt.Sprintf("XML-RPC fault %d: %s", f.Code, f.String)
}

// EncodeCall returns the methodCall document for method and params.
func EncodeCall(method string, params ...any) ([]byte, error) {
	if method == "" || !validText(method) {
		return nil, fmt.Errorf("xmlrpc: invalid method name %q", method)
	}
	var b bytes.Buffer
	b.WriteString("<?xml version='1.0'?>\n<methodCall>\n<methodName>")
	xml.EscapeText(&b, []byte(method))
	b.WriteString("</methodName>\n<params>\n")
	for i, p := range params {
		b.WriteString("<param>\n")
		if err := writeValue(&b, p, 0); err != nil {
			return nil, fmt.Errorf("xmlrpc: param %d: %w", i, err)
		}
		b.WriteString("</param>\n")
	}
	b.WriteString("</params>\n</methodCall>\n")
	return b.Bytes(), nil
}

// EncodeResponse returns the methodResponse document carrying v, laid
// out as Python's xmlrpc.client writes it.
func EncodeResponse(v any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n")
	if err := writeValue(&b, v, 0); err != nil {
		return nil, fmt.Errorf("xmlrpc: %w", err)
	}
	b.WriteString("</param>\n</params>\n</methodResponse>\n")
	return b.Bytes(), nil
}

// EncodeFault returns the methodResponse document carrying f.
func EncodeFault(f *Fault) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("<?xml version='1.0'?>\n<methodResponse>\n<fault>\n")
	if err := writeValue(&b, map[string]any{"faultCode": f.Code, "faultString": f.String}, 0); err != nil {
		return nil, fmt.Errorf("xmlrpc: %w", err)
	}
	b.WriteString("</fault>\n</methodResponse>\n")
	return b.Bytes(), nil
}

func writeValue(b *bytes.Buffer, v any, depth int) error {
	if depth > MaxDepth {
		return errors.New("nested too deeply")
	}
	switch v := v.(type) {
	case nil:
		b.WriteString("<value><nil/></value>\n")
	case bool:
		if v {
			b.WriteString("<value><boolean>1</boolean></value>\n")
		} else {
			b.WriteString("<value><boolean>0</boolean></value>\n")
		}
	case int:
		writeInt(b, int64(v))
	case int32:
		writeInt(b, int64(v))
	case int64:
		writeInt(b, v)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("double %v has no XML-RPC form", v)
		}
		b.WriteString("<value><double>")
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		b.WriteString("</double></value>\n")
	case string:
		if !validText(v) {
			return fmt.Errorf("string %q is not valid XML text", v)
		}
		b.WriteString("<value><string>")
		xml.EscapeText(b, []byte(v))
		b.WriteString("</string></value>\n")
	case []byte:
		b.WriteString("<value><base64>\n")
		b.WriteString(base64.StdEncoding.EncodeToString(v))
		b.WriteString("\n</base64></value>\n")
	case time.Time:
		b.WriteString("<value><dateTime.iso8601>")
		b.WriteString(v.Format("20060102T15:04:05"))
		b.WriteString("</dateTime.iso8601></value>\n")
	case []string:
		b.WriteString("<value><array><data>\n")
		for _, e := range v {
			if err := writeValue(b, e, depth+1); err != nil {
				return err
			}
		}
		b.WriteString("</data></array></value>\n")
	case []any:
		b.WriteString("<value><array><data>\n")
		for _, e := range v {
			if err := writeValue(b, e, depth+1); err != nil {
				return err
			}
		}
		b.WriteString("</data></array></value>\n")
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("<value><struct>\n")
		for _, k := range keys {
			if !validText(k) {
				return fmt.Errorf("member name %q is not valid XML text", k)
			}
			b.WriteString("<member>\n<name>")
			xml.EscapeText(b, []byte(k))
			b.WriteString("</name>\n")
			if err := writeValue(b, v[k], depth+1); err != nil {
				return err
			}
			b.WriteString("</member>\n")
		}
		b.WriteString("</struct></value>\n")
	default:
		return fmt.Errorf("cannot encode %T", v)
	}
	return nil
}

// writeInt uses <int> where it fits 32 bits, as the XML-RPC spec wants,
// and Koji's <i8> extension beyond.
func writeInt(b *bytes.Buffer, v int64) {
	tag := "int"
	if v > math.MaxInt32 || v < math.MinInt32 {
		tag = "i8"
	}
	b.WriteString("<value><" + tag + ">")
	b.WriteString(strconv.FormatInt(v, 10))
	b.WriteString("</" + tag + "></value>\n")
}

// validText reports whether s can be carried in XML 1.0 character data.
func validText(s string) bool {
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			return false // invalid UTF-8 (a literal U+FFFD is allowed by XML, but never sent by us)
		case r == '\t' || r == '\n' || r == '\r':
		case r < 0x20, r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
			return false
		}
	}
	return true
}

// DecodeResponse reads a methodResponse document and returns its value.
// A fault response is returned as a *Fault error; every other error wraps
// ErrMalformed or is an error of r.
func DecodeResponse(r io.Reader) (any, error) {
	d := newDecoder(r)
	if err := d.root("methodResponse"); err != nil {
		return nil, err
	}
	t, err := d.start()
	if err != nil {
		return nil, err
	}
	var v any
	var fault *Fault
	switch t.Name.Local {
	case "params":
		if err := d.open("param"); err != nil {
			return nil, err
		}
		if v, err = d.valueElem(); err != nil {
			return nil, err
		}
		if err := d.close("param"); err != nil {
			return nil, err
		}
		if err := d.close("params"); err != nil {
			return nil, err
		}
	case "fault":
		fv, err := d.valueElem()
		if err != nil {
			return nil, err
		}
		if fault, err = toFault(fv); err != nil {
			return nil, err
		}
		if err := d.close("fault"); err != nil {
			return nil, err
		}
	default:
		return nil, d.errorf("<%s> in <methodResponse>, want <params> or <fault>", t.Name.Local)
	}
	if err := d.close("methodResponse"); err != nil {
		return nil, err
	}
	if err := d.eof(); err != nil {
		return nil, err
	}
	if fault != nil {
		return nil, fault
	}
	return v, nil
}

// DecodeCall reads a methodCall document (a Koji hub's side of the
// conversation; tests use it to play the hub).
func DecodeCall(r io.Reader) (method string, params []any, err error) {
	d := newDecoder(r)
	if err := d.root("methodCall"); err != nil {
		return "", nil, err
	}
	if err := d.open("methodName"); err != nil {
		return "", nil, err
	}
	if method, err = d.text("methodName"); err != nil {
		return "", nil, err
	}
	params = []any{}
	t, err := d.next()
	if err != nil {
		return "", nil, err
	}
	if s, ok := t.(xml.StartElement); ok {
		if s.Name.Local != "params" {
			return "", nil, d.errorf("<%s> in <methodCall>, want <params>", s.Name.Local)
		}
		for {
			t, err := d.next()
			if err != nil {
				return "", nil, err
			}
			if _, ok := t.(xml.EndElement); ok {
				break
			}
			if s, ok := t.(xml.StartElement); !ok || s.Name.Local != "param" {
				return "", nil, d.errorf("unexpected %s in <params>", describe(t))
			}
			v, err := d.valueElem()
			if err != nil {
				return "", nil, err
			}
			if err := d.close("param"); err != nil {
				return "", nil, err
			}
			params = append(params, v)
		}
		t, err = d.next()
		if err != nil {
			return "", nil, err
		}
	}
	if e, ok := t.(xml.EndElement); !ok || e.Name.Local != "methodCall" {
		return "", nil, d.errorf("unexpected %s in <methodCall>", describe(t))
	}
	if err := d.eof(); err != nil {
		return "", nil, err
	}
	return method, params, nil
}

func toFault(v any) (*Fault, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: fault value is %T, want a struct", ErrMalformed, v)
	}
	code, ok := m["faultCode"].(int64)
	if !ok {
		return nil, fmt.Errorf("%w: fault has no integer faultCode", ErrMalformed)
	}
	s, ok := m["faultString"].(string)
	if !ok {
		return nil, fmt.Errorf("%w: fault has no faultString", ErrMalformed)
	}
	return &Fault{Code: code, String: s}, nil
}

// decoder walks the token stream of one message. Whitespace between
// elements, comments and processing instructions are skipped.
type decoder struct {
	x     *xml.Decoder
	src   *srcReader
	depth int
}

func newDecoder(r io.Reader) *decoder {
	src := &srcReader{r: r}
	// Only UTF-8 (and its ASCII subset): what Koji and Python send. Any
	// other declared encoding fails in encoding/xml.
	return &decoder{x: xml.NewDecoder(src), src: src}
}

// srcReader remembers the first error of the underlying reader other
// than EOF, so that an I/O error (which a caller may retry) is told
// apart from a malformed document (which it should not).
type srcReader struct {
	r   io.Reader
	err error
}

func (s *srcReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// tokenError classifies an error of xml.Decoder.Token.
func (d *decoder) tokenError(err error) error {
	if d.src.err != nil {
		return d.src.err
	}
	return fmt.Errorf("%w: %w", ErrMalformed, err)
}

func (d *decoder) errorf(format string, args ...any) error {
	line, col := d.x.InputPos()
	return fmt.Errorf("%w: line %d column %d: %s", ErrMalformed, line, col, fmt.Sprintf(format, args...))
}

// rawNext returns the next token that is not a comment, processing
// instruction or directive, copied so it survives the next call.
func (d *decoder) rawNext() (xml.Token, error) {
	for {
		t, err := d.x.Token()
		if err != nil {
			if err == io.EOF {
				return nil, d.errorf("unexpected end of document")
			}
			return nil, d.tokenError(err)
		}
		switch t.(type) {
		case xml.Comment, xml.ProcInst, xml.Directive:
			continue
		}
		return xml.CopyToken(t), nil
	}
}

// next is rawNext without whitespace-only character data; other
// character data between elements is an error.
func (d *decoder) next() (xml.Token, error) {
	for {
		t, err := d.rawNext()
		if err != nil {
			return nil, err
		}
		if c, ok := t.(xml.CharData); ok {
			if len(bytes.TrimSpace(c)) != 0 {
				return nil, d.errorf("unexpected text %q", truncate(string(c)))
			}
			continue
		}
		return t, nil
	}
}

func (d *decoder) start() (xml.StartElement, error) {
	t, err := d.next()
	if err != nil {
		return xml.StartElement{}, err
	}
	s, ok := t.(xml.StartElement)
	if !ok {
		return xml.StartElement{}, d.errorf("unexpected %s, want an element", describe(t))
	}
	return s, nil
}

func (d *decoder) root(name string) error {
	s, err := d.start()
	if err != nil {
		return err
	}
	if s.Name.Local != name {
		return d.errorf("root element <%s>, want <%s>", s.Name.Local, name)
	}
	return nil
}

func (d *decoder) open(name string) error {
	s, err := d.start()
	if err != nil {
		return err
	}
	if s.Name.Local != name {
		return d.errorf("<%s>, want <%s>", s.Name.Local, name)
	}
	return nil
}

func (d *decoder) close(name string) error {
	t, err := d.next()
	if err != nil {
		return err
	}
	if e, ok := t.(xml.EndElement); !ok || e.Name.Local != name {
		return d.errorf("unexpected %s, want </%s>", describe(t), name)
	}
	return nil
}

// eof checks that nothing but whitespace, comments and processing
// instructions follows the root element.
func (d *decoder) eof() error {
	for {
		t, err := d.x.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return d.tokenError(err)
		}
		switch t := t.(type) {
		case xml.Comment, xml.ProcInst, xml.Directive:
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return d.errorf("text after the root element")
			}
		default:
			return d.errorf("%s after the root element", describe(t))
		}
	}
}

// text reads character data up to the end of element name; child
// elements are an error.
func (d *decoder) text(name string) (string, error) {
	var b []byte
	for {
		t, err := d.rawNext()
		if err != nil {
			return "", err
		}
		switch t := t.(type) {
		case xml.CharData:
			b = append(b, t...)
		case xml.EndElement:
			return string(b), nil
		default:
			return "", d.errorf("unexpected %s in <%s>", describe(t), name)
		}
	}
}

// valueElem reads a <value> element, start tag included.
func (d *decoder) valueElem() (any, error) {
	if err := d.open("value"); err != nil {
		return nil, err
	}
	return d.value()
}

// value reads what follows a <value> start tag, through </value>.
func (d *decoder) value() (any, error) {
	var text []byte
	for {
		t, err := d.rawNext()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.CharData:
			text = append(text, t...)
		case xml.EndElement:
			// An untyped value is a string, whitespace and all.
			return string(text), nil
		case xml.StartElement:
			if len(bytes.TrimSpace(text)) != 0 {
				return nil, d.errorf("text and <%s> mixed in <value>", t.Name.Local)
			}
			v, err := d.typed(t)
			if err != nil {
				return nil, err
			}
			if err := d.close("value"); err != nil {
				return nil, err
			}
			return v, nil
		}
	}
}

// typed reads the element t (its start tag already read) holding a
// value of type t.Name.Local, through its end tag. The namespace is
// ignored: Koji's <nil/> also comes as <ex:nil/>.
func (d *decoder) typed(t xml.StartElement) (any, error) {
	typ := t.Name.Local
	switch typ {
	case "struct", "array":
		d.depth++
		defer func() { d.depth-- }()
		if d.depth > MaxDepth {
			return nil, d.errorf("arrays and structs nested more than %d deep", MaxDepth)
		}
		if typ == "struct" {
			return d.structBody()
		}
		return d.arrayBody()
	case "nil":
		if err := d.close(typ); err != nil {
			return nil, err
		}
		return nil, nil
	}
	s, err := d.text(typ)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "string":
		return s, nil
	case "int", "i4", "i8":
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, d.errorf("<%s>%s</%s>: not a 64-bit integer", typ, truncate(s), typ)
		}
		return n, nil
	case "boolean":
		switch strings.TrimSpace(s) {
		case "0":
			return false, nil
		case "1":
			return true, nil
		}
		return nil, d.errorf("<boolean>%s</boolean>: want 0 or 1", truncate(s))
	case "double":
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, d.errorf("<double>%s</double>: not a number", truncate(s))
		}
		return f, nil
	case "base64":
		b, err := base64.StdEncoding.DecodeString(strings.Map(dropSpace, s))
		if err != nil {
			return nil, d.errorf("<base64>: %v", err)
		}
		return b, nil
	case "dateTime.iso8601":
		s = strings.TrimSpace(s)
		for _, layout := range []string{"20060102T15:04:05", "2006-01-02T15:04:05", "20060102T15:04:05Z07:00", "2006-01-02T15:04:05Z07:00"} {
			if tm, err := time.Parse(layout, s); err == nil {
				return tm, nil
			}
		}
		return nil, d.errorf("<dateTime.iso8601>%s</dateTime.iso8601>: unknown time format", truncate(s))
	}
	return nil, d.errorf("unknown value type <%s>", typ)
}

func dropSpace(r rune) rune {
	switch r {
	case ' ', '\t', '\n', '\r':
		return -1
	}
	return r
}

func (d *decoder) structBody() (map[string]any, error) {
	m := map[string]any{}
	for {
		t, err := d.next()
		if err != nil {
			return nil, err
		}
		if e, ok := t.(xml.EndElement); ok && e.Name.Local == "struct" {
			return m, nil
		}
		if s, ok := t.(xml.StartElement); !ok || s.Name.Local != "member" {
			return nil, d.errorf("unexpected %s in <struct>", describe(t))
		}
		if err := d.open("name"); err != nil {
			return nil, err
		}
		name, err := d.text("name")
		if err != nil {
			return nil, err
		}
		v, err := d.valueElem()
		if err != nil {
			return nil, err
		}
		if err := d.close("member"); err != nil {
			return nil, err
		}
		m[name] = v // a repeated name: the last one wins, as in Python
	}
}

func (d *decoder) arrayBody() ([]any, error) {
	if err := d.open("data"); err != nil {
		return nil, err
	}
	a := []any{}
	for {
		t, err := d.next()
		if err != nil {
			return nil, err
		}
		if e, ok := t.(xml.EndElement); ok && e.Name.Local == "data" {
			break
		}
		if s, ok := t.(xml.StartElement); !ok || s.Name.Local != "value" {
			return nil, d.errorf("unexpected %s in <data>", describe(t))
		}
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
	}
	if err := d.close("array"); err != nil {
		return nil, err
	}
	return a, nil
}

func describe(t xml.Token) string {
	switch t := t.(type) {
	case xml.StartElement:
		return "<" + t.Name.Local + ">"
	case xml.EndElement:
		return "</" + t.Name.Local + ">"
	case xml.CharData:
		return fmt.Sprintf("text %q", truncate(string(t)))
	}
	return fmt.Sprintf("%T", t)
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
