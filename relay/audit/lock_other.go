//go:build !unix

package audit

// lockLog is a no-op where flock(2) does not exist; srtpgw targets Linux.
func lockLog(string) (func(), error) { return func() {}, nil }
