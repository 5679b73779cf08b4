package bench

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel SIGKILL a spawned broker if this process dies first, so an
// interrupted benchmark never leaves a broker behind.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
