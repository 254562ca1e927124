package main

import (
	"strings"
	"testing"

	"github.com/sdekit/sdekit/sde"
)

// The command line's own parsers take any input: a value or an error,
// never a panic. CI fuzzes each briefly, e.g.
//
//	go test -run '^$' -fuzz '^FuzzMixtureFile$' -fuzztime 10s ./cmd/sdesample

func FuzzMixtureFile(f *testing.F) {
	for _, s := range []string{`{"weights":[1],"means":[[0,0]],"stds":[[1,1]]}`,
		`{"weights":[0.5,0.5],"means":[[0],[1]],"stds":[[1],[2]]}`, `{"weights":[1],"means":[[0]],"stds":[[0]]}`,
		`{"weights":[-1],"means":[[0]],"stds":[[1]]}`, `{"weights":[1],"means":[[0,1]],"stds":[[1]]}`, `{}`, `[]`, ``,
		`{"weights":[1e308,1e308],"means":[[0],[0]],"stds":[[1e-308],[1]]}`, `{"weights":[1],"means":[[0]],"stds":[[1]],"x":1}`} {
		f.Add([]byte(s))
	}
	vp := sde.NewVP()
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMixture(b, "fuzz.json", vp)
		if err != nil {
			return
		}
		x := make([]float64, m.Dim())
		dst := make([]float64, m.Dim())
		m.ScoreTo(dst, x, []float64{0.5}) // a mixture that loads can be evaluated
	})
}

func FuzzRunRecord(f *testing.F) {
	f.Add([]byte(`{"tool":"sdesample","format":1,"command":"sample","flags":{"n":"10"}}`))
	f.Add([]byte(`{"tool":"sdesample","format":99,"command":"sample","flags":{}}`))
	f.Add([]byte(`{"tool":"other"}`))
	f.Add([]byte(`not json`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseRecord(b, "fuzz.json")
		if err == nil && (r.Tool != "sdesample" || r.Command == "" || r.Flags == nil) {
			t.Fatalf("accepted a record without tool, command or flags: %+v", r)
		}
	})
}

func FuzzShardSpec(f *testing.F) {
	for _, s := range []string{"", "0/1", "3/4", "auto/8", "4/4", "-1/2", "1/0", "a/b", "1/2/3", "99999999999999999999/2", " 1/2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		sh, err := parseShard(spec)
		if err != nil || strings.HasPrefix(spec, "auto/") {
			return
		}
		if sh.Count < 1 || sh.Index < 0 || sh.Index >= sh.Count {
			t.Fatalf("%q parsed to shard %d of %d", spec, sh.Index, sh.Count)
		}
	})
}
