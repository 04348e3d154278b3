package audit

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
)

// Record types (FORMAT.md).
const (
	typeLogOpen         = "log_open"
	typeCheckpoint      = "checkpoint"
	typeRotate          = "rotate"
	typeRecordsLost     = "records_lost"
	typeStartup         = "startup"
	typeShutdown        = "shutdown"
	typeCallStart       = "call_start"
	typeDTLSEstablished = "dtls_established"
	typeDTLSFailed      = "dtls_failed"
	typeCallEnd         = "call_end"
	typeSecurity        = "security"
	typeControlRejected = "control_rejected"
)

// Checkpoint reasons.
const (
	cpPeriodic = "periodic"
	cpOpen     = "open"
	cpRotate   = "rotate"
	cpShutdown = "shutdown"
)

// log_open "previous" values.
const (
	prevNone    = "none"
	prevClean   = "clean"
	prevCrashed = "crashed"
)

// maxLine bounds one record. The largest legitimate record is a rotate
// header listing every open call (~500 bytes each).
const maxLine = 16 << 20

var zeroHash [32]byte

// record is the part of a line the verifier and recovery need. seq, ts,
// type, prev and sig are read at their fixed positions (the format is
// frozen), the rest through encoding/json.
type record struct {
	seq    uint64
	ts     time.Time
	typ    string
	prev   [32]byte
	sig    []byte // checkpoint only
	signed []byte // checkpoint only: the line bytes the signature covers
	f      recordFields
}

// recordFields are the type-specific fields the verifier looks at.
type recordFields struct {
	Reason          string `json:"reason"`
	Key             string `json:"key"`
	Previous        string `json:"previous"`
	CheckpointEvery *int64 `json:"checkpoint_every_ms"`
	EndReason       string `json:"end_reason"`
}

const (
	prevSuffixLen = len(`,"prev":"`) + 64 + len(`"}`)
	sigSuffixLen  = len(`","sig":"`) + 128 + len(`"}`)
)

// parseLine checks one line (without its newline) against the frozen
// layout and returns its chain fields. Errors describe the first problem.
func parseLine(b []byte) (record, error) {
	var r record
	if !utf8.Valid(b) {
		return r, errors.New("not valid UTF-8")
	}
	rest, ok := bytes.CutPrefix(b, []byte(`{"seq":`))
	if !ok {
		return r, errors.New(`does not start with {"seq"`)
	}
	i := bytes.IndexByte(rest, ',')
	if i <= 0 || rest[0] == '0' {
		return r, errors.New("bad seq")
	}
	seq, err := strconv.ParseUint(string(rest[:i]), 10, 64)
	if err != nil || seq == 0 {
		return r, errors.New("bad seq")
	}
	r.seq = seq
	rest, ok = bytes.CutPrefix(rest[i:], []byte(`,"ts":"`))
	if !ok || len(rest) < len(tsLayout)+1 || rest[len(tsLayout)] != '"' {
		return r, errors.New("bad ts")
	}
	tsText := rest[:len(tsLayout)]
	r.ts, err = time.Parse(tsLayout, string(tsText))
	if err != nil || string(r.ts.AppendFormat(nil, tsLayout)) != string(tsText) {
		return r, errors.New("bad ts (want RFC 3339 UTC with 6 fractional digits)")
	}
	rest, ok = bytes.CutPrefix(rest[len(tsLayout)+1:], []byte(`,"type":"`))
	if !ok {
		return r, errors.New("missing type")
	}
	i = bytes.IndexByte(rest, '"')
	if i <= 0 || i > maxShort || name(string(rest[:i]), true) != string(rest[:i]) {
		return r, errors.New("bad type")
	}
	r.typ = string(rest[:i])

	tail := b
	if r.typ == typeCheckpoint {
		if len(b) < sigSuffixLen+prevSuffixLen {
			return r, errors.New("checkpoint without prev and sig")
		}
		sigPart := b[len(b)-sigSuffixLen:]
		if !bytes.HasPrefix(sigPart, []byte(`","sig":"`)) || !bytes.HasSuffix(sigPart, []byte(`"}`)) {
			return r, errors.New("checkpoint does not end with sig")
		}
		r.sig, err = hex.DecodeString(string(sigPart[len(`","sig":"`) : len(sigPart)-2]))
		if err != nil || !lowerHex(sigPart[len(`","sig":"`):len(sigPart)-2]) {
			return r, errors.New("bad sig encoding")
		}
		// The signed body is the line up to the closing quote of prev.
		r.signed = b[:len(b)-sigSuffixLen+1]
		tail = append(b[:len(b)-sigSuffixLen+1:len(b)-sigSuffixLen+1], '}')
	}
	if len(tail) < prevSuffixLen {
		return r, errors.New("missing prev")
	}
	prevPart := tail[len(tail)-prevSuffixLen:]
	if !bytes.HasPrefix(prevPart, []byte(`,"prev":"`)) || !bytes.HasSuffix(prevPart, []byte(`"}`)) {
		return r, errors.New("does not end with prev")
	}
	hexPrev := prevPart[len(`,"prev":"`) : len(prevPart)-2]
	if _, err := hex.Decode(r.prev[:], hexPrev); err != nil || !lowerHex(hexPrev) {
		return r, errors.New("bad prev encoding")
	}
	if err := checkObject(b); err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r.f); err != nil {
		return r, fmt.Errorf("bad field: %v", err)
	}
	return r, nil
}

func lowerHex(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// checkObject requires one JSON object with unique top-level keys and
// nothing after it. Duplicate keys would let two readers see different
// values in the same hashed bytes.
func checkObject(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	seen := make(map[string]struct{}, 16)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return errors.New("invalid JSON")
		}
		k, _ := tok.(string)
		if _, dup := seen[k]; dup {
			return fmt.Errorf("duplicate field %q", k)
		}
		seen[k] = struct{}{}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return errors.New("invalid JSON")
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return errors.New("invalid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}

// lineReader yields newline-terminated lines of at most maxLine bytes.
type lineReader struct {
	br   *bufio.Reader
	buf  []byte
	line int // 1-based number of the line last returned
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10)}
}

// errNoNewline marks a final line without its newline: a torn write
// (power loss mid-append) or truncation.
var errNoNewline = errors.New("incomplete record: no trailing newline")

var errLineTooLong = fmt.Errorf("record longer than %d bytes", maxLine)

// next returns the next line without its newline, or io.EOF at a clean
// end. The slice is valid until the following call.
func (lr *lineReader) next() ([]byte, error) {
	lr.buf = lr.buf[:0]
	for {
		frag, err := lr.br.ReadSlice('\n')
		if len(lr.buf)+len(frag) > maxLine+1 {
			lr.line++
			return nil, errLineTooLong
		}
		lr.buf = append(lr.buf, frag...)
		switch {
		case err == nil:
			lr.line++
			return lr.buf[:len(lr.buf)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(lr.buf) == 0:
			return nil, io.EOF
		case errors.Is(err, io.EOF):
			lr.line++
			return lr.buf, errNoNewline
		default:
			lr.line++
			return nil, err
		}
	}
}
