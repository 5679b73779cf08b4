package main_test

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestE2EMigrateUsage (issue 16 part 5): `zkraft migrate` with no
// subcommand, or an unknown one, prints the migrate usage to stderr and
// exits 2 (the shell's "bad usage"); `zkraft migrate help` prints it to
// stdout and exits 0.
func TestE2EMigrateUsage(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		inStderr bool
	}{
		{[]string{"migrate"}, 2, true},
		{[]string{"migrate", "frobnicate"}, 2, true},
		{[]string{"migrate", "help"}, 0, false},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cmd := exec.Command(zkraftBinary(t), tc.args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code {
				t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout.String(), stderr.String())
			}
			out := stdout.String()
			if tc.inStderr {
				out = stderr.String()
			}
			for _, want := range []string{"zkraft migrate status", "zkraft migrate finalize", "zkraft migrate rollback"} {
				if !strings.Contains(out, want) {
					t.Fatalf("no %q in the usage:\n%s", want, out)
				}
			}
		})
	}
}
