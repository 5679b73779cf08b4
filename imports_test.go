package zkraft

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/zkraft/zkraft"

// rule forbids packages matching from to reach packages matching to.
type rule struct {
	why  string
	from func(pkg string) bool
	to   func(pkg string) bool
}

// under is pkg or a package below it (rel is relative to the module root;
// "" is the root itself).
func under(rel string) func(string) bool {
	p := module + "/" + rel
	return func(pkg string) bool { return pkg == p || strings.HasPrefix(pkg, p+"/") }
}

func exactly(rel string) func(string) bool {
	p := module + "/" + rel
	return func(pkg string) bool { return pkg == p }
}

func ours(pkg string) bool { return pkg == module || strings.HasPrefix(pkg, module+"/") }

func anyOf(fs ...func(string) bool) func(string) bool {
	return func(pkg string) bool {
		return slices.ContainsFunc(fs, func(f func(string) bool) bool { return f(pkg) })
	}
}

// rules are STYLE.md's dependency direction.
var rules = []rule{
	{"metadata imports nothing of ours", exactly("metadata"), func(pkg string) bool { return ours(pkg) && pkg != module+"/metadata" }},
	{"broker/... never imports quorum, migrate or metadata/zk", under("broker"), anyOf(under("quorum"), under("migrate"), under("metadata/zk"))},
	{"quorum never imports broker/...", under("quorum"), under("broker")},
}

// listed is the part of `go list -json` this test reads.
type listed struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// violations checks every rule over pkgs, for each package's own imports and
// for its tests' (the closure over the module's packages: a package outside
// the module cannot import one inside it). It returns one line per broken
// rule and package, naming the path that breaks it.
func violations(pkgs []listed, rules []rule) []string {
	imports := make(map[string][]string, len(pkgs))
	for _, p := range pkgs {
		imports[p.ImportPath] = p.Imports
	}
	// via finds a path from roots to a package matching bad; nil if none.
	via := func(roots []string, bad func(string) bool) []string {
		parent := map[string]string{}
		queue := []string{}
		for _, r := range roots {
			if _, seen := parent[r]; !seen && ours(r) {
				parent[r] = ""
				queue = append(queue, r)
			}
		}
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			if bad(p) {
				path := []string{p}
				for q := parent[p]; q != ""; q = parent[q] {
					path = append([]string{q}, path...)
				}
				return path
			}
			for _, i := range imports[p] {
				if _, seen := parent[i]; !seen && ours(i) {
					parent[i] = p
					queue = append(queue, i)
				}
			}
		}
		return nil
	}
	var out []string
	for _, p := range pkgs {
		for _, r := range rules {
			if !r.from(p.ImportPath) {
				continue
			}
			if path := via(p.Imports, r.to); path != nil {
				out = append(out, r.why+": "+p.ImportPath+" -> "+strings.Join(path, " -> "))
				continue
			}
			tests := append(append(slices.Clone(p.TestImports), p.XTestImports...), p.Imports...)
			// An external test package imports the package under test; that
			// is not an arrow out of it.
			tests = slices.DeleteFunc(tests, func(i string) bool { return i == p.ImportPath })
			if path := via(tests, r.to); path != nil {
				out = append(out, r.why+" (in tests): "+p.ImportPath+" -> "+strings.Join(path, " -> "))
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestImportBoundaries runs `go list` over the whole module and fails on any
// arrow STYLE.md forbids.
func TestImportBoundaries(t *testing.T) {
	cmd := exec.Command("go", "list", "-e", "-json", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []listed
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	for _, want := range []string{"metadata", "broker", "quorum"} {
		if !slices.ContainsFunc(pkgs, func(p listed) bool { return p.ImportPath == module+"/"+want }) {
			t.Fatalf("go list did not list %s/%s; the rules would check nothing", module, want)
		}
	}
	for _, v := range violations(pkgs, rules) {
		t.Error(v)
	}
}

// TestViolations checks the checker on made-up trees: each forbidden arrow,
// direct, transitive and test-only, is reported, and allowed ones are not.
func TestViolations(t *testing.T) {
	m := func(rel string) string { return module + "/" + rel }
	tests := []struct {
		name string
		pkgs []listed
		want int
	}{
		{"allowed arrows", []listed{
			{ImportPath: m("metadata"), Imports: []string{"errors", "github.com/twmb/franz-go/pkg/kerr"}},
			{ImportPath: m("metadata/network"), Imports: []string{m("metadata")}},
			{ImportPath: m("broker"), Imports: []string{m("metadata"), m("metadata/network"), m("broker/storage")}},
			{ImportPath: m("broker/storage"), Imports: []string{m("metadata")}},
			{ImportPath: m("quorum"), Imports: []string{m("metadata"), m("metadata/network")}},
			{ImportPath: m("migrate"), Imports: []string{m("quorum"), m("metadata/zk")}},
			{ImportPath: m("metadata/zk"), Imports: []string{m("metadata")}},
			{ImportPath: m("broker/replica"), XTestImports: []string{m("broker/replica"), m("broker")}},
		}, 0},
		{"metadata imports ours", []listed{
			{ImportPath: m("metadata"), Imports: []string{m("metadata/network")}},
			{ImportPath: m("metadata/network")},
		}, 1},
		{"metadata test imports ours", []listed{
			{ImportPath: m("metadata"), TestImports: []string{m("metadata/zk")}},
		}, 1},
		{"broker imports quorum", []listed{
			{ImportPath: m("broker"), Imports: []string{m("quorum")}},
			{ImportPath: m("quorum")},
		}, 1},
		{"broker/group reaches metadata/zk/zktest through a helper", []listed{
			{ImportPath: m("broker/group"), Imports: []string{m("cmd/x")}},
			{ImportPath: m("cmd/x"), Imports: []string{m("metadata/zk/zktest")}},
			{ImportPath: m("metadata/zk/zktest")},
		}, 1},
		{"broker test imports migrate", []listed{
			{ImportPath: m("broker/replica"), XTestImports: []string{m("migrate")}},
			{ImportPath: m("migrate")},
		}, 1},
		{"quorum imports broker/storage", []listed{
			{ImportPath: m("quorum"), Imports: []string{m("broker/storage")}},
			{ImportPath: m("broker/storage")},
		}, 1},
		{"brokerage is not broker", []listed{
			{ImportPath: m("quorum"), Imports: []string{m("brokerage")}},
			{ImportPath: m("brokerage")},
		}, 0},
	}
	for _, tc := range tests {
		got := violations(tc.pkgs, rules)
		if len(got) != tc.want {
			t.Errorf("%s: violations = %q, want %d", tc.name, got, tc.want)
		}
	}
}

// TestTopLevelFolders: the top level is fixed (../shared/DESIGN.md):
// quorum, metadata, broker, migrate, cmd and docs, with .ci/ and the
// module's files; a new package goes below one of them.
func TestTopLevelFolders(t *testing.T) {
	out, err := exec.Command("git", "ls-files").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v (this test reads the tracked files of a git checkout)", err)
	}
	allowed := []string{"quorum", "metadata", "broker", "migrate", "cmd", "docs", ".ci"}
	for _, f := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		dir, _, nested := strings.Cut(f, "/")
		if nested && !slices.Contains(allowed, dir) {
			t.Errorf("%s: top-level folder %q is not one of %v", f, dir, allowed)
		}
	}
}
