package meta

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Change is one difference between two trees, by leaf path.
type Change struct {
	Path string `json:"path"`
	Op   string `json:"op"` // "added", "removed", "changed"
	From any    `json:"from,omitempty"`
	To   any    `json:"to,omitempty"`
	// Expected, when set, says why the difference is expected and not
	// drift (zk-diff); WriteChanges labels the line with it.
	Expected string `json:"expected,omitempty"`

	fromText, toText string
}

// DiffTrees compares the leaves of two trees below /image, ignoring
// /image/provenance (it always differs) and paths for which skip is true.
func DiffTrees(a, b *Node, skip func(path string) bool) []Change {
	fa, fb := imageLeaves(a), imageLeaves(b)
	var out []Change
	for p, na := range fa {
		if skip != nil && skip(p) {
			continue
		}
		nb, ok := fb[p]
		switch {
		case !ok:
			out = append(out, Change{Path: p, Op: "removed", From: na.JSON, fromText: na.Text})
		case na.Text != nb.Text:
			out = append(out, Change{Path: p, Op: "changed", From: na.JSON, To: nb.JSON, fromText: na.Text, toText: nb.Text})
		}
	}
	for p, nb := range fb {
		if skip != nil && skip(p) {
			continue
		}
		if _, ok := fa[p]; !ok {
			out = append(out, Change{Path: p, Op: "added", To: nb.JSON, toText: nb.Text})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func imageLeaves(root *Node) map[string]*Node {
	img, ok := root.Child("image")
	if !ok {
		return map[string]*Node{}
	}
	m := Flatten(img, "/image")
	delete(m, "/image/provenance")
	return m
}

// WriteChanges prints changes as aligned lines ("+ path  value",
// "- path  value", "~ path  old -> new") or one JSON object per line.
func WriteChanges(w io.Writer, changes []Change, jsonOut bool) error {
	if jsonOut {
		for _, c := range changes {
			b, err := json.Marshal(c)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(w, "%s\n", b); err != nil {
				return err
			}
		}
		return nil
	}
	wp := 0
	for _, c := range changes {
		wp = max(wp, len(c.Path))
	}
	for _, c := range changes {
		var line string
		switch c.Op {
		case "added":
			line = fmt.Sprintf("+ %-*s  %s", wp, c.Path, c.toText)
		case "removed":
			line = fmt.Sprintf("- %-*s  %s", wp, c.Path, c.fromText)
		default:
			line = fmt.Sprintf("~ %-*s  %s -> %s", wp, c.Path, c.fromText, c.toText)
		}
		line = strings.TrimRight(line, " ")
		if c.Expected != "" {
			line += "  (expected: " + c.Expected + ")"
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}
