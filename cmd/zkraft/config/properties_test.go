package config

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []Property // Source "f" is implied
	}{
		{"equals", "a=b", []Property{{Key: "a", Value: "b", Line: 1}}},
		{"colon", "a: b", []Property{{Key: "a", Value: "b", Line: 1}}},
		{"space", "a   b c", []Property{{Key: "a", Value: "b c", Line: 1}}},
		{"tab and equals", "a\t=\tb", []Property{{Key: "a", Value: "b", Line: 1}}},
		{"space before separator", "a = b", []Property{{Key: "a", Value: "b", Line: 1}}},
		{"second separator is value", "a==b", []Property{{Key: "a", Value: "=b", Line: 1}}},
		{"key only", "a", []Property{{Key: "a", Value: "", Line: 1}}},
		{"empty value", "a=", []Property{{Key: "a", Value: "", Line: 1}}},
		{"trailing whitespace trimmed", "a = b  \t", []Property{{Key: "a", Value: "b", Line: 1}}},
		{"leading whitespace", "   \t a=b", []Property{{Key: "a", Value: "b", Line: 1}}},
		{"comments and blanks", "# x=y\n! z=w\n\n   \n  # indented\na=b", []Property{{Key: "a", Value: "b", Line: 6}}},
		{"hash inside value", "a=b#c", []Property{{Key: "a", Value: "b#c", Line: 1}}},
		{"continuation", "a=b,\\\n    c,\\\n  d\ne=f", []Property{{Key: "a", Value: "b,c,d", Line: 1}, {Key: "e", Value: "f", Line: 4}}},
		{"escaped backslash is no continuation", "a=b\\\\\nc=d", []Property{{Key: "a", Value: `b\`, Line: 1}, {Key: "c", Value: "d", Line: 2}}},
		{"continuation at end of input", "a=b\\", []Property{{Key: "a", Value: "b", Line: 1}}},
		{"comment is never continued", "# a \\\nb=c", []Property{{Key: "b", Value: "c", Line: 2}}},
		{"escapes", `a=x\ty\nz\\w\u0041\q`, []Property{{Key: "a", Value: "x\ty\nz\\wAq", Line: 1}}},
		{"escaped separators in key", `a\=b\:c\ d=e`, []Property{{Key: "a=b:c d", Value: "e", Line: 1}}},
		{"escaped separators in value", `a=b\=c\:d`, []Property{{Key: "a", Value: "b=c:d", Line: 1}}},
		{"unicode escape pair", `a=\uD83D\uDE00`, []Property{{Key: "a", Value: "\U0001F600", Line: 1}}},
		{"lone surrogate", `a=\uD83Dx`, []Property{{Key: "a", Value: "\uFFFDx", Line: 1}}},
		{"crlf and cr", "a=b\r\nc=d\re=f", []Property{{Key: "a", Value: "b", Line: 1}, {Key: "c", Value: "d", Line: 2}, {Key: "e", Value: "f", Line: 3}}},
		{"duplicates kept in order", "a=1\na=2", []Property{{Key: "a", Value: "1", Line: 1}, {Key: "a", Value: "2", Line: 2}}},
		{"utf-8 passes through", "a=héllo", []Property{{Key: "a", Value: "héllo", Line: 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in), "f")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				w := tc.want[i]
				w.Source = "f"
				if got[i] != w {
					t.Fatalf("property %d: got %+v, want %+v", i, got[i], w)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`a=\u12`, `f line 1: key "a": malformed \uxxxx escape "\\u12"`},
		{"x=1\n" + `a\uZZZZ=b`, `f line 2: malformed \uxxxx escape "\\uZZZZ"`},
	} {
		_, err := Parse([]byte(tc.in), "f")
		if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("a=b\n# c\nd: e \\\n  f\n"))
	f.Add([]byte(`k\=ey=\u0041\uD83D\uDE00\t`))
	f.Add(defaultProperties)
	f.Add([]byte(kraftSample))
	f.Add([]byte(zkSample))
	f.Fuzz(func(t *testing.T, data []byte) {
		props, err := Parse(data, "fuzz")
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error without ErrSyntax: %v", err)
			}
			return
		}
		for _, p := range props {
			if p.Line < 1 || p.Key != strings.TrimSpace(p.Key) || p.Value != strings.TrimSpace(p.Value) {
				t.Fatalf("bad property %+v", p)
			}
		}
		// Building a Config from anything must not panic either.
		c, err := FromProperties(props)
		if err == nil && c.Validate() != nil {
			t.Fatalf("accepted config fails Validate: %v", c.Validate())
		}
	})
}
