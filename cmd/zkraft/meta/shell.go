package meta

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// shell runs kafka-metadata-shell's commands over one tree. It is used
// both by `zkraft meta shell` (a REPL) and `zkraft meta COMMAND` (one command).
type shell struct {
	root    *Node
	cwd     string
	json    bool
	out     io.Writer
	errOut  io.Writer
	history []string
}

func newShell(root *Node, jsonOut bool, out, errOut io.Writer) *shell {
	return &shell{root: root, cwd: "/", json: jsonOut, out: out, errOut: errOut}
}

const shellHelp = `Commands (paths may be relative to the working directory and may use * ? [..] globs):
  cat <targets+>      show the value of leaves
  cd [target]         change the working directory (default /)
  exit                leave the shell
  find [paths*]       every path below the given ones (default: working directory)
  help                this text
  history [N]         the last N commands (default all)
  ls [targets*]       list directories
  pwd                 print the working directory
  tree <targets+>     show directories and values, indented
`

// errExit ends the REPL.
var errExit = errors.New("exit")

// exec runs one command line. Errors are returned for the caller to print
// (the REPL goes on, a one-shot run exits non-zero).
func (s *shell) exec(args []string) error {
	if len(args) == 0 {
		return nil
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "ls":
		return s.ls(args)
	case "cd":
		return s.cd(args)
	case "pwd":
		if s.json {
			return s.emit(map[string]string{"path": s.cwd})
		}
		fmt.Fprintln(s.out, s.cwd)
		return nil
	case "cat":
		return s.cat(args)
	case "tree":
		return s.tree(args)
	case "find":
		return s.find(args)
	case "history":
		return s.showHistory(args)
	case "help", "man":
		fmt.Fprint(s.out, shellHelp)
		return nil
	case "exit", "quit":
		return errExit
	}
	return cmdErr(ErrUsage, "%s: unknown command (try help)", cmd)
}

// repl reads commands from in until EOF or exit, printing a prompt before
// each; echo repeats each command after the prompt (for piped input).
func (s *shell) repl(lines lineReader) error {
	defer lines.Close()
	for {
		line, err := lines.ReadLine(fmt.Sprintf("[ %s ] >> ", s.cwd))
		switch {
		case errors.Is(err, errInterrupted):
			continue // Ctrl-C cancels the line, not the shell
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		s.history = append(s.history, line)
		args, err := splitArgs(line)
		if err == nil {
			err = s.exec(args)
		}
		if errors.Is(err, errExit) {
			return nil
		}
		if err != nil {
			fmt.Fprintln(s.errOut, err)
		}
	}
}

// splitArgs splits a command line on white space; '...' and "..." quote.
func splitArgs(line string) ([]string, error) {
	var args []string
	var cur strings.Builder
	var quote rune
	inArg := false
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inArg = r, true
		case r == ' ' || r == '\t':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(r)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, cmdErr(ErrUsage, "unterminated %c quote", quote)
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}

func (s *shell) emit(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(s.out, "%s\n", b)
	return err
}

func (s *shell) abs(p string) string {
	if !strings.HasPrefix(p, "/") {
		p = s.cwd + "/" + p
	}
	return path.Clean(p)
}

func (s *shell) lookup(abs string) (*Node, bool) {
	n := s.root
	for _, c := range strings.Split(strings.Trim(abs, "/"), "/") {
		if c == "" {
			continue
		}
		if !n.Dir {
			return nil, false
		}
		next, ok := n.Child(c)
		if !ok {
			return nil, false
		}
		n = next
	}
	return n, true
}

type target struct {
	path string
	node *Node
}

// expand resolves one argument, with globs, to the nodes it names.
func (s *shell) expand(cmd, arg string) ([]target, error) {
	abs := s.abs(arg)
	if !strings.ContainsAny(abs, "*?[") {
		n, ok := s.lookup(abs)
		if !ok {
			return nil, cmdErr(ErrNotFound, "%s: %s: no such node", cmd, arg)
		}
		return []target{{abs, n}}, nil
	}
	comps := strings.Split(strings.Trim(abs, "/"), "/")
	var out []target
	var walk func(n *Node, p string, i int) error
	walk = func(n *Node, p string, i int) error {
		if i == len(comps) {
			out = append(out, target{p, n})
			return nil
		}
		if !n.Dir {
			return nil
		}
		for _, c := range n.Children {
			ok, err := path.Match(comps[i], c.Name)
			if err != nil {
				return cmdErr(ErrUsage, "%s: %s: %v", cmd, arg, err)
			}
			if ok {
				if err := walk(c, strings.TrimSuffix(p, "/")+"/"+c.Name, i+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(s.root, "/", 0); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, cmdErr(ErrNotFound, "%s: %s: no such node", cmd, arg)
	}
	return out, nil
}

// expandAll resolves every argument; it reports every bad one and returns
// the good ones, so that one missing path does not hide the others.
func (s *shell) expandAll(cmd string, args []string) ([]target, error) {
	var out []target
	var errs []error
	for _, a := range args {
		ts, err := s.expand(cmd, a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, ts...)
	}
	return out, errors.Join(errs...)
}

func (s *shell) ls(args []string) error {
	if len(args) == 0 {
		args = []string{"."}
	}
	ts, err := s.expandAll("ls", args)
	for i, t := range ts {
		if s.json {
			v := map[string]any{"path": t.path}
			if t.node.Dir {
				names := make([]string, 0, len(t.node.Children))
				for _, c := range t.node.Children {
					names = append(names, c.Name)
				}
				v["children"] = names
			} else {
				v["leaf"] = true
			}
			if e := s.emit(v); e != nil {
				return e
			}
			continue
		}
		if !t.node.Dir {
			fmt.Fprintln(s.out, path.Base(t.path))
			continue
		}
		if len(ts) > 1 {
			if i > 0 {
				fmt.Fprintln(s.out)
			}
			fmt.Fprintf(s.out, "%s:\n", t.path)
		}
		names := make([]string, 0, len(t.node.Children))
		for _, c := range t.node.Children {
			names = append(names, c.Name)
		}
		printColumns(s.out, names, 80)
	}
	return err
}

// printColumns prints names column by column (as ls does), in as many
// columns as fit in width.
func printColumns(w io.Writer, names []string, width int) {
	if len(names) == 0 {
		return
	}
	colw := 0
	for _, n := range names {
		colw = max(colw, len(n)+2)
	}
	cols := max(1, width/colw)
	rows := (len(names) + cols - 1) / cols
	for r := 0; r < rows; r++ {
		var line strings.Builder
		for c := 0; c < cols; c++ {
			i := c*rows + r
			if i >= len(names) {
				break
			}
			fmt.Fprintf(&line, "%-*s", colw, names[i])
		}
		fmt.Fprintln(w, strings.TrimRight(line.String(), " "))
	}
}

func (s *shell) cd(args []string) error {
	if len(args) > 1 {
		return cmdErr(ErrUsage, "cd: too many arguments")
	}
	p := "/"
	if len(args) == 1 {
		p = args[0]
	}
	ts, err := s.expand("cd", p)
	if err != nil {
		return err
	}
	if len(ts) != 1 {
		return cmdErr(ErrUsage, "cd: %s: names %d nodes", p, len(ts))
	}
	if !ts[0].node.Dir {
		return cmdErr(ErrNotDir, "cd: %s: not a directory", p)
	}
	s.cwd = ts[0].path
	return nil
}

func (s *shell) cat(args []string) error {
	if len(args) == 0 {
		return cmdErr(ErrUsage, "cat: give at least one target")
	}
	ts, err := s.expandAll("cat", args)
	var errs []error
	for _, t := range ts {
		if t.node.Dir {
			errs = append(errs, cmdErr(ErrIsDir, "cat: %s: Is a directory", t.path))
			continue
		}
		if s.json {
			if e := s.emit(map[string]any{"path": t.path, "value": t.node.JSON}); e != nil {
				return e
			}
			continue
		}
		fmt.Fprintln(s.out, t.node.Text)
	}
	return errors.Join(append([]error{err}, errs...)...)
}

func (s *shell) tree(args []string) error {
	if len(args) == 0 {
		args = []string{"."}
	}
	ts, err := s.expandAll("tree", args)
	for _, t := range ts {
		if s.json {
			if e := s.emit(map[string]any{"path": t.path, "tree": treeJSON(t.node)}); e != nil {
				return e
			}
			continue
		}
		name := t.path
		var walk func(n *Node, name, indent string)
		walk = func(n *Node, name, indent string) {
			if !n.Dir {
				fmt.Fprintf(s.out, "%s%s: %s\n", indent, name, n.Text)
				return
			}
			fmt.Fprintf(s.out, "%s%s:\n", indent, name)
			for _, c := range n.Children {
				walk(c, c.Name, indent+"  ")
			}
		}
		walk(t.node, name, "")
	}
	return err
}

func treeJSON(n *Node) any {
	if !n.Dir {
		return n.JSON
	}
	m := make(map[string]any, len(n.Children))
	for _, c := range n.Children {
		m[c.Name] = treeJSON(c)
	}
	return m
}

func (s *shell) find(args []string) error {
	if len(args) == 0 {
		args = []string{"."}
	}
	ts, err := s.expandAll("find", args)
	var paths []string
	for _, t := range ts {
		var walk func(n *Node, p string)
		walk = func(n *Node, p string) {
			paths = append(paths, p)
			for _, c := range n.Children {
				walk(c, strings.TrimSuffix(p, "/")+"/"+c.Name)
			}
		}
		walk(t.node, t.path)
	}
	if s.json {
		if paths == nil {
			paths = []string{}
		}
		if e := s.emit(paths); e != nil {
			return e
		}
		return err
	}
	for _, p := range paths {
		fmt.Fprintln(s.out, p)
	}
	return err
}

func (s *shell) showHistory(args []string) error {
	n := len(s.history)
	if len(args) > 0 {
		var k int
		if _, err := fmt.Sscanf(args[0], "%d", &k); err != nil || k < 0 {
			return cmdErr(ErrUsage, "history: %q is not a count", args[0])
		}
		n = min(k, n)
	}
	start := len(s.history) - n
	if s.json {
		type item struct {
			N       int    `json:"n"`
			Command string `json:"command"`
		}
		items := []item{}
		for i := start; i < len(s.history); i++ {
			items = append(items, item{i + 1, s.history[i]})
		}
		return s.emit(items)
	}
	for i := start; i < len(s.history); i++ {
		fmt.Fprintf(s.out, "% 5d  %s\n", i+1, s.history[i])
	}
	return nil
}

// cmdError is a shell command's error: its text is what the user sees
// (as kafka-metadata-shell prints it); errors.Is still finds the sentinel.
type cmdError struct {
	msg  string
	kind error
}

func (e *cmdError) Error() string { return e.msg }
func (e *cmdError) Unwrap() error { return e.kind }

func cmdErr(kind error, format string, args ...any) error {
	return &cmdError{msg: fmt.Sprintf(format, args...), kind: kind}
}
