package interop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWorkDir(t *testing.T) {
	base := t.TempDir()
	t.Setenv(LogDirEnv, base)
	d := WorkDir(t)
	if !strings.HasPrefix(d, base+string(filepath.Separator)) || !strings.HasSuffix(d, "-"+t.Name()) {
		t.Errorf("WorkDir = %q, want <time>-%s under %s", d, t.Name(), base)
	}
	if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
		t.Errorf("WorkDir not created: %v", err)
	}
	t.Setenv(LogDirEnv, "")
	if d2 := WorkDir(t); strings.HasPrefix(d2, base) {
		t.Errorf("without %s: %q is under the log dir", LogDirEnv, d2)
	}
}

func TestModuleRoot(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if filepath.Join(root, "deploy", "interop") != wd {
		t.Errorf("ModuleRoot = %q from %q", root, wd)
	}
}
