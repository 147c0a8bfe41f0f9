//go:build unix

package function

import (
	"os/exec"
	"syscall"
)

// ownGroup runs cmd in a process group of its own and makes a cancel (the
// timeout) kill the whole group, so that children of the function die with
// it. Where the system can, the function also dies with coffer: a step must
// not go on running after a crash, when the restarted server resumes the
// rotation.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	dieWithParent(cmd.SysProcAttr)
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
