//go:build !linux

package bench

import "os/exec"

// dieWithParent has no portable equivalent outside Linux; children are stopped by stop().
func dieWithParent(cmd *exec.Cmd) {}
