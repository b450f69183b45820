package xmlrpc

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"
)

// FuzzDecodeResponse: the decoder must never panic or hang, must classify
// every failure, and what it accepts must survive an encode/decode round
// trip unchanged.
func FuzzDecodeResponse(f *testing.F) {
	for _, name := range []string{"getLastEvent.xml", "listTaggedRPMS.xml", "fault.xml", "base64.xml"} {
		f.Add(readGolden(f, name))
	}
	f.Add([]byte("<methodResponse><params><param><value><ex:nil/></value></param></params></methodResponse>"))
	f.Add([]byte("<methodResponse><params><param><value><struct><member><name>a</name><value><i8>1</i8></value></member></struct></value></param></params></methodResponse>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := DecodeResponse(bytes.NewReader(data))
		if err != nil {
			var fault *Fault
			if !errors.Is(err, ErrMalformed) && !errors.As(err, &fault) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if hasNonFinite(v) {
			return // NaN and Inf decode but have no XML-RPC form
		}
		b, err := EncodeResponse(v)
		if err != nil {
			t.Fatalf("decoded %#v but cannot encode it: %v", v, err)
		}
		w, err := DecodeResponse(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		if !reflect.DeepEqual(v, w) {
			t.Fatalf("round trip changed %#v into %#v", v, w)
		}
	})
}

func hasNonFinite(v any) bool {
	switch v := v.(type) {
	case float64:
		return math.IsNaN(v) || math.IsInf(v, 0)
	case []any:
		for _, e := range v {
			if hasNonFinite(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range v {
			if hasNonFinite(e) {
				return true
			}
		}
	}
	return false
}
