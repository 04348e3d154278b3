package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite the configuration table in README.md")

const (
	tableStart = "<!-- config-table:start -->"
	tableEnd   = "<!-- config-table:end -->"
)

// configTable renders every flag as a README table row, from the same
// definitions the binary parses, so the README cannot drift from the code.
func configTable() string {
	cfg := DefaultConfig()
	cfg.AuditLog = "" // the default depends on the user; documented below the table
	fs := flag.NewFlagSet("srtpgw", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.bindFlags(fs)
	var b strings.Builder
	b.WriteString("| flag | env | default | meaning |\n|---|---|---|---|\n")
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		def := f.DefValue
		switch {
		case f.Name == "audit-log":
			def = "see below"
		case def == "":
			def = "(empty)"
		}
		arg := ""
		if name != "" {
			arg = " " + name
		}
		fmt.Fprintf(&b, "| `--%s%s` | `%s` | `%s` | %s |\n", f.Name, arg, envName(f.Name), def,
			strings.ReplaceAll(usage, "|", "\\|"))
	})
	return b.String()
}

func TestREADMEConfigTable(t *testing.T) {
	const path = "../../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, tableStart), strings.Index(s, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %s ... %s markers", tableStart, tableEnd)
	}
	want := tableStart + "\n" + configTable() + tableEnd
	got := s[i : j+len(tableEnd)]
	if got == want {
		return
	}
	if *updateReadme {
		if err := os.WriteFile(path, []byte(s[:i]+want+s[j+len(tableEnd):]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("README.md configuration table is stale; run: go test ./cmd/srtpgw -run TestREADMEConfigTable -update-readme\n--- want\n%s", want)
}

// TestREADMECommands keeps the two quickstart commands in the README.
func TestREADMECommands(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"go run ./cmd/srtpgw demo", "go test ./..."} {
		if !strings.Contains(string(b), cmd) {
			t.Errorf("README.md does not show %q", cmd)
		}
	}
}
