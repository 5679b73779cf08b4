package meta

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/chzyer/readline"
)

// lineReader reads the shell's command lines. ReadLine returns
// errInterrupted when the user cancelled the line (Ctrl-C) and io.EOF at
// the end (Ctrl-D, or the end of non-terminal input).
type lineReader interface {
	ReadLine(prompt string) (string, error)
	Close() error
}

var errInterrupted = errors.New("interrupted")

// scanLines reads lines from a non-terminal stdin (a pipe, a file): the
// prompt is printed and, with echo, the command after it, so that a
// transcript reads like a session.
type scanLines struct {
	sc   *bufio.Scanner
	out  io.Writer
	echo bool
}

func newScanLines(in io.Reader, out io.Writer, echo bool) *scanLines {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	return &scanLines{sc: sc, out: out, echo: echo}
}

func (s *scanLines) ReadLine(prompt string) (string, error) {
	fmt.Fprint(s.out, prompt)
	if !s.sc.Scan() {
		fmt.Fprintln(s.out)
		if err := s.sc.Err(); err != nil {
			return "", err
		}
		return "", io.EOF
	}
	line := s.sc.Text()
	if s.echo {
		fmt.Fprintln(s.out, strings.TrimSpace(line))
	}
	return line, nil
}

func (s *scanLines) Close() error { return nil }

// editLines is the terminal line editor (github.com/chzyer/readline): line
// editing, history recall (up/down, Ctrl-R; kept for the session only),
// and tab completion of commands and tree paths. Ctrl-C cancels the line,
// Ctrl-D on an empty line exits.
type editLines struct {
	rl *readline.Instance
}

// newEditLines opens the editor on stdin/stdout; cfg may override the
// terminal hooks (tests drive it without a terminal).
func newEditLines(sh *shell, stdin io.ReadCloser, stdout io.Writer, tweak func(*readline.Config)) (*editLines, error) {
	cfg := &readline.Config{
		Stdin:                  stdin,
		Stdout:                 stdout,
		Stderr:                 stdout,
		AutoComplete:           completer{sh},
		HistoryLimit:           1000,
		DisableAutoSaveHistory: false,
		InterruptPrompt:        "^C",
		EOFPrompt:              "exit",
		// A terminal that reports no size (a bare pty) would disable
		// completion: assume 80 columns then.
		FuncGetWidth: func() int {
			if w := readline.GetScreenWidth(); w > 0 {
				return w
			}
			return 80
		},
	}
	if tweak != nil {
		tweak(cfg)
	}
	rl, err := readline.NewEx(cfg)
	if err != nil {
		return nil, fmt.Errorf("meta: shell: line editor: %w", err)
	}
	return &editLines{rl: rl}, nil
}

func (e *editLines) ReadLine(prompt string) (string, error) {
	e.rl.SetPrompt(prompt)
	line, err := e.rl.Readline()
	if errors.Is(err, readline.ErrInterrupt) {
		return "", errInterrupted
	}
	return line, err
}

// Close closes the editor and its stdin. chzyer/readline's input loop
// then hands the EOF of the closed stdin to a channel of size one that its
// Close may already have filled, and would block there for good: one more
// read, with output and raw-mode switching disabled, takes the value so
// that the loop ends.
func (e *editLines) Close() error {
	err := e.rl.Close()
	cfg := e.rl.Operation.GetConfig()
	cfg.Stdout, cfg.Stderr = io.Discard, io.Discard
	cfg.FuncMakeRaw, cfg.FuncExitRaw = func() error { return nil }, func() error { return nil }
	e.rl.SetConfig(cfg)
	_, _ = e.rl.Operation.Runes()
	return err
}

// shellCommands are what the first word completes to.
var shellCommands = []string{"cat", "cd", "exit", "find", "help", "history", "ls", "pwd", "tree"}

// completer completes the word before the cursor: a command name as the
// first word, else a path of the tree (relative to the working directory
// or absolute), directories with a trailing "/".
type completer struct{ sh *shell }

func (c completer) Do(line []rune, pos int) ([][]rune, int) {
	before := string(line[:pos])
	start := strings.LastIndexAny(before, " \t") + 1
	word := before[start:]
	prefix := word // what the candidates extend
	var cands []string
	if strings.TrimSpace(before[:start]) == "" {
		for _, cmd := range shellCommands {
			if strings.HasPrefix(cmd, word) {
				cands = append(cands, cmd+" ")
			}
		}
	} else {
		prefix = word[strings.LastIndex(word, "/")+1:]
		cands = c.paths(word)
	}
	out := make([][]rune, 0, len(cands))
	for _, cand := range cands {
		out = append(out, []rune(cand[len(prefix):]))
	}
	return out, len([]rune(prefix))
}

// paths lists the children of word's directory that start with its last
// element, each as that full last element (+ "/" for a directory).
func (c completer) paths(word string) []string {
	dir, prefix := "", word
	if i := strings.LastIndex(word, "/"); i >= 0 {
		dir, prefix = word[:i+1], word[i+1:]
	}
	abs := c.sh.cwd
	if dir != "" {
		abs = c.sh.abs(dir)
	}
	n, ok := c.sh.lookup(abs)
	if !ok {
		return nil
	}
	var out []string
	for _, ch := range n.Children {
		if !strings.HasPrefix(ch.Name, prefix) {
			continue
		}
		if ch.Dir {
			out = append(out, ch.Name+"/")
		} else {
			out = append(out, ch.Name+" ")
		}
	}
	sort.Strings(out)
	return out
}

// openLines picks the line reader for stdin: the editor on a terminal,
// plain lines otherwise (as before: tests and scripts pipe commands in).
func openLines(sh *shell, stdin io.Reader, stdout io.Writer) (lineReader, error) {
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		return newEditLines(sh, f, stdout, nil)
	}
	return newScanLines(stdin, stdout, true), nil
}
