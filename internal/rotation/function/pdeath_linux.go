package function

import "syscall"

// dieWithParent makes the kernel kill the function when coffer dies.
func dieWithParent(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
