//go:build !linux

package main

import "os/exec"

// setDeathSignal does nothing where the kernel has no parent-death signal:
// the deferred stops and the global timeout end the children.
func setDeathSignal(*exec.Cmd) {}
