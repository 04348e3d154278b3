//go:build race

package main

// raceFactor widens CPU bounds under the race detector, which slows
// instrumented code by roughly 5-10x.
const raceFactor = 10
