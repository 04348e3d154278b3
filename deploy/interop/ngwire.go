package interop

// The ng datagram framing (ng-protocol.md b.1): "<cookie> <bencode>", where
// the cookie pairs a reply with its request.

import (
	"bytes"
	"errors"
)

// SplitNG splits an ng datagram into its cookie and bencode body.
func SplitNG(dgram []byte) (cookie string, body []byte, err error) {
	sp := bytes.IndexByte(dgram, ' ')
	if sp <= 0 {
		return "", nil, errors.New("ng: no cookie")
	}
	return string(dgram[:sp]), dgram[sp+1:], nil
}

// DecodeNG splits and decodes an ng datagram whose body must be a
// dictionary, as every ng request and reply is.
func DecodeNG(dgram []byte) (string, Value, error) {
	cookie, body, err := SplitNG(dgram)
	if err != nil {
		return "", Value{}, err
	}
	v, err := Decode(body)
	if err != nil {
		return "", Value{}, err
	}
	if v.Kind != 'd' {
		return "", Value{}, errors.New("ng: body is not a dictionary")
	}
	return cookie, v, nil
}
