package meta

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/chzyer/readline"
)

// TestShellComplete: tab completes command names first, then paths of the
// tree, relative or absolute, directories with a trailing slash.
func TestShellComplete(t *testing.T) {
	_, l, st := fixtureImage(t)
	sh := newShell(BuildTree(st, l), false, io.Discard, io.Discard)
	c := completer{sh}
	for _, tc := range []struct {
		line string
		want []string
		n    int
	}{
		{"p", []string{"wd "}, 1},
		{"c", []string{"at ", "d "}, 1},
		{"ls /im", []string{"age/"}, 2},
		{"cat /image/topics/byName/or", []string{"ders/"}, 2},
		{"ls /image/topics/byName/", []string{"orders/", "payments/"}, 0},
		{"cat /image/topics/byName/orders/i", []string{"d "}, 1},
		{"ls /nope/x", nil, 1},
	} {
		got, n := c.Do([]rune(tc.line), len([]rune(tc.line)))
		var gs []string
		for _, g := range got {
			gs = append(gs, string(g))
		}
		if !reflect.DeepEqual(gs, tc.want) || n != tc.n {
			t.Errorf("complete %q = %q, %d; want %q, %d", tc.line, gs, n, tc.want, tc.n)
		}
	}
	sh.cwd = "/image/topics"
	if got, _ := c.Do([]rune("cd by"), 5); len(got) != 2 || string(got[0]) != "Id/" || string(got[1]) != "Name/" {
		t.Errorf("relative completion from %s: %q", sh.cwd, got)
	}
}

// TestShellLineEditor drives the terminal line editor through a pipe:
// tab completion, Ctrl-C cancelling a line, up-arrow recalling history,
// Ctrl-D exiting.
func TestShellLineEditor(t *testing.T) {
	_, l, st := fixtureImage(t)
	var out, errOut syncBuffer
	sh := newShell(BuildTree(st, l), false, &out, &errOut)
	pr, pw := io.Pipe()
	ed, err := newEditLines(sh, pr, &out, func(c *readline.Config) {
		c.FuncIsTerminal = func() bool { return true }
		c.FuncMakeRaw = func() error { return nil }
		c.FuncExitRaw = func() error { return nil }
		c.FuncGetWidth = func() int { return 200 }
		c.FuncOnWidthChanged = func(func()) {}
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sh.repl(ed) }()
	// Type, one key at a time, as a terminal sends them.
	for _, keys := range []string{
		"pw\t\r",                 // completes to "pwd "
		"cd /image/topics/byN\t", // completes to byName/
		"\r",
		"ls\r",
		"cat nope\x03",   // Ctrl-C: the line is dropped
		"\x1b[A\x1b[A\r", // up twice: past "ls" to the cd
		"\x04",           // Ctrl-D on an empty line: exit
	} {
		// A pipe write returns once the editor has read the keys.
		if _, err := pw.Write([]byte(keys)); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("repl: %v", err)
	}
	pw.Close()
	want := []string{"pwd", "cd /image/topics/byName/", "ls", "cd /image/topics/byName/"}
	if !reflect.DeepEqual(sh.history, want) {
		t.Errorf("history %q, want %q (output:\n%s)", sh.history, want, out.String())
	}
	if strings.Contains(errOut.String(), "nope") {
		t.Errorf("the cancelled line ran: %s", errOut.String())
	}
	if !strings.Contains(out.String(), "orders") {
		t.Errorf("ls in byName printed no topics:\n%s", out.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the editor's and the shell's writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
