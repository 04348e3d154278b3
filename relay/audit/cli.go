package audit

import (
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// RunVerifyCLI implements `srtpgw audit verify [--pubkey F] FILES...` and
// returns the exit status: 0 verified, 1 verification failed, 2 usage or
// I/O error. Files may be given in any order (a shell glob is fine):
// rotated files (NAME.<20-digit seq>) are put in seq order, other files
// (the active file) after them in the order given.
func RunVerifyCLI(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("srtpgw audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pubPath := fs.String("pubkey", "", "checkpoint public key `file` (PEM PUBLIC KEY or 64 hex digits); without it signatures are NOT checked")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: srtpgw audit verify [--pubkey FILE] LOGFILE...")
		fs.PrintDefaults()
	}
	// Accept flags before or after the file names.
	var files []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		files = append(files, rest[0])
		rest = rest[1:]
	}
	if len(files) == 0 {
		fs.Usage()
		return 2
	}
	var pub ed25519.PublicKey
	if *pubPath != "" {
		var err error
		if pub, err = LoadPublicKey(*pubPath); err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
	}
	res, err := Verify(orderFiles(files), pub)
	var ve *VerifyError
	switch {
	case err != nil && !errors.As(err, &ve):
		fmt.Fprintln(stderr, err)
		return 2
	case err != nil:
		fmt.Fprintf(stdout, "FAIL: %v\n", err)
		fmt.Fprintf(stdout, "%d records verified before the failure\n", res.Records)
		return 1
	}
	fmt.Fprintf(stdout, "OK: %d records verified in %d files (seq 1..%d, head %s)\n",
		res.Records, res.Files, res.LastSeq, res.Head)
	if res.Checkpoints > 0 {
		fmt.Fprintf(stdout, "%d checkpoints; last at seq %d, %s\n", res.Checkpoints,
			res.LastCheckpointSeq, res.LastCheckpointTime.Format(tsLayout))
	}
	if !res.Signed {
		fmt.Fprintln(stdout, "WARNING: no --pubkey: checkpoint signatures were NOT checked, only the hash chain")
	}
	if res.Unsigned > 0 {
		fmt.Fprintf(stdout, "note: the last %d records follow the last checkpoint and are chain-checked only\n", res.Unsigned)
	}
	return 0
}

// orderFiles puts rotated files in seq order, then the rest in the order
// given.
func orderFiles(files []string) []string {
	type named struct {
		name string
		seq  uint64
		rot  bool
	}
	ns := make([]named, 0, len(files))
	for _, f := range files {
		n := named{name: f}
		base := filepath.Base(f)
		if i := strings.LastIndexByte(base, '.'); i >= 0 && len(base)-i-1 == 20 {
			if seq, err := strconv.ParseUint(base[i+1:], 10, 64); err == nil {
				n.seq, n.rot = seq, true
			}
		}
		ns = append(ns, n)
	}
	slices.SortStableFunc(ns, func(a, b named) int {
		switch {
		case a.rot && b.rot:
			return cmpUint(a.seq, b.seq)
		case a.rot:
			return -1
		case b.rot:
			return 1
		}
		return 0
	})
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.name
	}
	return out
}
