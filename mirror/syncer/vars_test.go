package syncer

import (
	"reflect"
	"testing"
)

func TestVars(t *testing.T) {
	used := VarsUsed("hs-$stream-${basearch}", "https://x/$stream/$basearch/", "$$nothing")
	if !reflect.DeepEqual(used, []string{"basearch", "nothing", "stream"}) {
		t.Errorf("VarsUsed = %v", used)
	}
	combos, err := Combinations([]string{"stream", "basearch"}, map[string][]string{
		"stream": {"9-stream", "10-stream"}, "basearch": {"x86_64", "aarch64"}})
	if err != nil || len(combos) != 4 || combos[1]["basearch"] != "aarch64" || combos[2]["stream"] != "10-stream" {
		t.Fatalf("Combinations = %v, %v", combos, err)
	}
	s, err := Expand("hs-$stream-${basearch}", combos[3])
	if err != nil || s != "hs-10-stream-aarch64" {
		t.Errorf("Expand = %q, %v", s, err)
	}
	if _, err := Expand("$releasever", combos[0]); err == nil {
		t.Error("undefined variable accepted")
	}
	if _, err := Combinations([]string{"arch"}, nil); err == nil {
		t.Error("variable without values accepted")
	}
}
