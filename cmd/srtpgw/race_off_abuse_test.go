//go:build !race

package main

// raceFactor widens CPU bounds under the race detector; 1 without it.
const raceFactor = 1
