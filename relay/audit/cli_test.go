package audit

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestRunVerifyCLI(t *testing.T) {
	e := rotatingLog(t)
	files := e.files()
	pub := e.cfg.KeyPath + ".pub"
	shuffled := slices.Clone(files)
	slices.Reverse(shuffled)

	tampered := newEnv(t)
	_, ls := baseLog(t)
	ls[7] = strings.Replace(ls[7], `"packets":21000`, `"packets":1`, 1)
	writeLines(t, tampered.cfg.Path, ls)

	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   []string
		stderr   string
		noStdout string
	}{
		{"ok", append([]string{"--pubkey", pub}, files...), 0,
			[]string{"OK: ", " records verified in ", "checkpoints; last at seq"}, "", "WARNING"},
		{"any order, flag last", append(shuffled, "--pubkey", pub), 0, []string{"OK: "}, "", ""},
		{"no key", files, 0, []string{"OK: ", "WARNING: no --pubkey"}, "", ""},
		{"tampered", []string{"--pubkey", pub, tampered.cfg.Path}, 1,
			[]string{"FAIL: " + tampered.cfg.Path + ":8: record altered", "7 records verified before the failure"}, "", ""},
		{"missing middle file", append([]string{"--pubkey", pub}, slices.Delete(slices.Clone(files), 1, 2)...), 1,
			[]string{"FAIL: " + files[2] + ":1: seq jumps"}, "", ""},
		{"no files", []string{"--pubkey", pub}, 2, nil, "usage:", ""},
		{"unreadable file", []string{filepath.Join(e.dir, "nope")}, 2, nil, "no such file", ""},
		{"bad key file", []string{"--pubkey", files[0], files[0]}, 2, nil, "public key", ""},
		{"unknown flag", []string{"--frobnicate", files[0]}, 2, nil, "flag provided but not defined", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := RunVerifyCLI(tc.args, &out, &errb)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errb.String())
			}
			for _, s := range tc.stdout {
				if !strings.Contains(out.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, out.String())
				}
			}
			if tc.noStdout != "" && strings.Contains(out.String(), tc.noStdout) {
				t.Errorf("stdout has %q:\n%s", tc.noStdout, out.String())
			}
			if !strings.Contains(errb.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, errb.String())
			}
		})
	}
}
