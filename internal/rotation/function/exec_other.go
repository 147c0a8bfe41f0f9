//go:build !unix

package function

import "os/exec"

// ownGroup does nothing outside Unix: a cancel kills the process alone.
func ownGroup(*exec.Cmd) {}
