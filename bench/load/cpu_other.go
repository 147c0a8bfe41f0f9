//go:build !linux

package main

import "time"

// processCPU is unavailable here: the table shows "-".
func processCPU(int) (time.Duration, bool) { return 0, false }

// loadAverage is unavailable here.
func loadAverage() string { return "" }
