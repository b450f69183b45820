package xmlrpc

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func readGolden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The golden files are written by Python's xmlrpc.client (testdata/gen.py),
// the marshaller a Koji hub answers with.
func TestDecodeGolden(t *testing.T) {
	v, err := DecodeResponse(bytes.NewReader(readGolden(t, "getLastEvent.xml")))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]any{"id": int64(3412345), "ts": 1717171717.123456}; !reflect.DeepEqual(v, want) {
		t.Errorf("getLastEvent = %#v, want %#v", v, want)
	}

	v, err = DecodeResponse(bytes.NewReader(readGolden(t, "listTaggedRPMS.xml")))
	if err != nil {
		t.Fatal(err)
	}
	pair := v.([]any)
	rpms, builds := pair[0].([]any), pair[1].([]any)
	if len(rpms) != 6 || len(builds) != 2 {
		t.Fatalf("%d rpms, %d builds", len(rpms), len(builds))
	}
	r0 := rpms[0].(map[string]any)
	for k, want := range map[string]any{
		"name": "acme", "arch": "x86_64", "epoch": nil, "size": int64(12345), "draft": false,
		"sigkey": "8483c65d", "extra": nil, "build_id": int64(11), "buildtime": int64(1717000101),
	} {
		if got, ok := r0[k]; !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("rpms[0][%q] = %#v (present %v), want %#v", k, got, ok, want)
		}
	}
	if got := rpms[1].(map[string]any)["sigkey"]; got != "" {
		t.Errorf("unsigned row sigkey = %#v", got)
	}
	if got := rpms[3].(map[string]any)["size"]; got != int64(3<<30) {
		t.Errorf("i8 size = %#v", got)
	}
	if got := rpms[4].(map[string]any)["extra"]; !reflect.DeepEqual(got, map[string]any{"source": map[string]any{"original_url": "git+https://example.invalid/clock"}}) {
		t.Errorf("extra = %#v", got)
	}
	b1 := builds[1].(map[string]any)
	if b1["volume_name"] != "archive" || b1["promotion_time"] != nil || b1["epoch"] != int64(2) || b1["name"] != "clock" {
		t.Errorf("builds[1] = %#v", b1)
	}

	v, err = DecodeResponse(bytes.NewReader(readGolden(t, "base64.xml")))
	if err != nil {
		t.Fatal(err)
	}
	want := []any{bytes.Repeat([]byte("\x00\xffkoji"), 20), int64(7), int64(-1 << 40), 1.5, true, "<&>"}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("base64.xml = %#v", v)
	}

	_, err = DecodeResponse(bytes.NewReader(readGolden(t, "fault.xml")))
	var f *Fault
	if !errors.As(err, &f) || f.Code != 1000 || f.String != "No such tagInfo: 'nope'" {
		t.Fatalf("fault.xml: %v", err)
	}
	if errors.Is(err, ErrMalformed) {
		t.Error("a fault is not a malformed message")
	}
}

func TestDecodeForms(t *testing.T) {
	resp := func(value string) string {
		return "<?xml version='1.0'?><methodResponse><params><param>" + value + "</param></params></methodResponse>"
	}
	tests := []struct {
		name string
		doc  string
		want any
	}{
		{"untyped string keeps spaces", resp("<value> a b </value>"), " a b "},
		{"empty value", resp("<value></value>"), ""},
		{"empty self-closed value", resp("<value/>"), ""},
		{"empty string", resp("<value><string/></value>"), ""},
		{"i4", resp("<value><i4>-7</i4></value>"), int64(-7)},
		{"int with spaces", resp("<value><int> 42 </int></value>"), int64(42)},
		{"i8 max", resp("<value><i8>9223372036854775807</i8></value>"), int64(math.MaxInt64)},
		{"nil", resp("<value><nil/></value>"), nil},
		{"ex:nil declared", "<methodResponse xmlns:ex='http://ws.apache.org/xmlrpc/namespaces/extensions'><params><param><value><ex:nil/></value></param></params></methodResponse>", nil},
		{"ex:nil undeclared", resp("<value><ex:nil/></value>"), nil},
		{"boolean", resp("<value><boolean>0</boolean></value>"), false},
		{"double", resp("<value><double>-0.25</double></value>"), -0.25},
		{"base64 with newlines", resp("<value><base64>\naGk=\n</base64></value>"), []byte("hi")},
		{"dateTime", resp("<value><dateTime.iso8601>20240102T03:04:05</dateTime.iso8601></value>"), time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"empty array", resp("<value><array><data/></array></value>"), []any{}},
		{"empty struct", resp("<value><struct></struct></value>"), map[string]any{}},
		{"entities and CDATA", resp("<value><string>a&amp;b<![CDATA[<c>]]>&#233;</string></value>"), "a&b<c>é"},
		{"comments skipped", resp("<!-- x --><value><!-- y --><int>1</int><!-- z --></value>"), int64(1)},
		{"repeated member: last wins", resp("<value><struct><member><name>a</name><value><int>1</int></value></member><member><name>a</name><value><int>2</int></value></member></struct></value>"), map[string]any{"a": int64(2)}},
		{"no XML declaration", "<methodResponse><params><param><value><int>1</int></value></param></params></methodResponse>", int64(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeResponse(strings.NewReader(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestDecodeMalformed(t *testing.T) {
	resp := func(value string) string {
		return "<methodResponse><params><param>" + value + "</param></params></methodResponse>"
	}
	tests := map[string]string{
		"empty":                  "",
		"not XML":                "HTTP/1.1 502 Bad Gateway",
		"HTML error page":        "<html><body>Internal Server Error</body></html>",
		"truncated":              resp("<value><array><data><value><int>1</int></value>")[:60],
		"no params":              "<methodResponse></methodResponse>",
		"empty params":           "<methodResponse><params></params></methodResponse>",
		"two params":             "<methodResponse><params><param><value>a</value></param><param><value>b</value></param></params></methodResponse>",
		"bad int":                resp("<value><int>12x</int></value>"),
		"int overflow":           resp("<value><i8>9223372036854775808</i8></value>"),
		"bad boolean":            resp("<value><boolean>true</boolean></value>"),
		"bad double":             resp("<value><double>one</double></value>"),
		"bad base64":             resp("<value><base64>!!!</base64></value>"),
		"bad dateTime":           resp("<value><dateTime.iso8601>yesterday</dateTime.iso8601></value>"),
		"unknown type":           resp("<value><long>1</long></value>"),
		"two types":              resp("<value><int>1</int><int>2</int></value>"),
		"text and type":          resp("<value>x<int>1</int></value>"),
		"child in scalar":        resp("<value><string><b>x</b></string></value>"),
		"nil with content":       resp("<value><nil>x</nil></value>"),
		"member without value":   resp("<value><struct><member><name>a</name></member></struct></value>"),
		"member without name":    resp("<value><struct><member><value>1</value></member></struct></value>"),
		"array without data":     resp("<value><array><value>1</value></array></value>"),
		"junk in array":          resp("<value><array><data><int>1</int></data></array></value>"),
		"mismatched tags":        resp("<value><int>1</i4></value>"),
		"trailing element":       resp("<value>1</value>") + "<x/>",
		"trailing text":          resp("<value>1</value>") + "junk",
		"wrong root":             "<methodCall><methodName>x</methodName></methodCall>",
		"fault without code":     "<methodResponse><fault><value><struct><member><name>faultString</name><value>x</value></member></struct></value></fault></methodResponse>",
		"fault not a struct":     "<methodResponse><fault><value><int>1</int></value></fault></methodResponse>",
		"undefined entity":       resp("<value>&bogus;</value>"),
		"control character":      resp("<value>\x01</value>"),
		"invalid UTF-8":          resp("<value>\xff</value>"),
		"non-UTF-8 declaration":  "<?xml version='1.0' encoding='iso-8859-1'?>" + resp("<value>x</value>"),
		"nested too deep":        resp(strings.Repeat("<value><array><data>", MaxDepth+1) + strings.Repeat("</data></array></value>", MaxDepth+1)),
		"entity expansion (DTD)": "<!DOCTYPE m [<!ENTITY a \"aaaa\">]>" + resp("<value>&a;</value>"),
	}
	for name, doc := range tests {
		t.Run(name, func(t *testing.T) {
			v, err := DecodeResponse(strings.NewReader(doc))
			if err == nil {
				t.Fatalf("accepted, got %#v", v)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v does not wrap ErrMalformed", err)
			}
		})
	}
}

// An I/O error of the reader must come back as itself, not as a
// malformed message, so that callers can retry it.
func TestDecodeReaderError(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("<methodResponse><params><param><value><string>abc"), errReader{boom})
	_, err := DecodeResponse(r)
	if !errors.Is(err, boom) || errors.Is(err, ErrMalformed) {
		t.Fatalf("got %v", err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestEncodeCall(t *testing.T) {
	b, err := EncodeCall("listTaggedRPMS", "my-tag", map[string]any{
		"__starstar": true, "latest": true, "arch": []string{"noarch", "x86_64"},
		"event": nil, "size": int64(1 << 33), "n": 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"<methodName>listTaggedRPMS</methodName>",
		"<value><string>my-tag</string></value>",
		"<name>__starstar</name>\n<value><boolean>1</boolean></value>",
		"<name>event</name>\n<value><nil/></value>",
		"<name>size</name>\n<value><i8>8589934592</i8></value>",
		"<name>n</name>\n<value><int>3</int></value>",
		"<value><array><data>\n<value><string>noarch</string></value>\n<value><string>x86_64</string></value>\n</data></array></value>",
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("call lacks %q:\n%s", want, b)
		}
	}
	method, params, err := DecodeCall(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if method != "listTaggedRPMS" || len(params) != 2 || params[0] != "my-tag" {
		t.Fatalf("DecodeCall = %q %#v", method, params)
	}
	opts := params[1].(map[string]any)
	if opts["event"] != nil || opts["size"] != int64(1<<33) || !reflect.DeepEqual(opts["arch"], []any{"noarch", "x86_64"}) {
		t.Errorf("opts = %#v", opts)
	}

	for _, bad := range []any{"a\x00b", "\xff", math.NaN(), struct{}{}, map[string]any{"\x01": 1}} {
		if _, err := EncodeCall("m", bad); err == nil {
			t.Errorf("EncodeCall(%#v) succeeded", bad)
		}
	}
	if _, err := EncodeCall(""); err == nil {
		t.Error("empty method name accepted")
	}
	if b, err := EncodeCall("getLastEvent"); err != nil {
		t.Fatal(err)
	} else if m, p, err := DecodeCall(bytes.NewReader(b)); err != nil || m != "getLastEvent" || len(p) != 0 {
		t.Errorf("no params: %q %v %v", m, p, err)
	}
}

func TestRoundTrip(t *testing.T) {
	v := []any{
		map[string]any{"a": nil, "b": []any{int64(1), int64(-1 << 40), "x<&>\"'\t\r\n"}, "c": 2.5, "d": false},
		[]byte{0, 1, 2}, time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC), "", []any{},
	}
	b, err := EncodeResponse(v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeResponse(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, v) {
		t.Errorf("round trip:\n got %#v\nwant %#v", got, v)
	}
	b, err = EncodeFault(&Fault{Code: 1014, String: "server offline"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = DecodeResponse(bytes.NewReader(b))
	var f *Fault
	if !errors.As(err, &f) || f.Code != 1014 || f.Error() != "XML-RPC fault 1014: server offline" {
		t.Errorf("fault round trip: %v", err)
	}
}
