package audit

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzVerify feeds arbitrary file contents to the verifier. It must never
// panic, must report every failure as a *VerifyError on a line that
// exists, and may only pass input in which every line is a record.
// Seeds: testdata/fuzz/FuzzVerify (valid logs and mutations of them).
func FuzzVerify(f *testing.F) {
	for _, g := range []string{"testdata/golden.jsonl", "testdata/golden-2.jsonl"} {
		data, err := os.ReadFile(g)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	pub := testPub()
	f.Fuzz(func(t *testing.T, data []byte) {
		v := newVerifier(pub)
		err := v.file("fuzz", bytes.NewReader(data), true)
		var res Result
		if err == nil {
			res, err = v.finish()
		}
		nl := bytes.Count(data, []byte("\n"))
		if err != nil {
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("error is not a VerifyError: %v", err)
			}
			if ve.Line < 0 || ve.Line > nl+1 {
				t.Fatalf("error at line %d of a %d-line input", ve.Line, nl)
			}
			return
		}
		if res.Records != nl || res.LastSeq != uint64(nl) || len(data) == 0 || data[len(data)-1] != '\n' {
			t.Fatalf("passed %d records, seq %d, for %d lines", res.Records, res.LastSeq, nl)
		}
	})
}
