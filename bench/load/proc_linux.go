package main

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the kernel kill the child if this program dies
// without stopping it, so no server outlives a killed run.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
