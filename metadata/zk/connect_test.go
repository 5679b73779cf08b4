package zk

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestParseConnect: Kafka's zookeeper.connect form (ZooKeeper's
// ConnectStringParser: default port 2181, chroot after the first '/').
func TestParseConnect(t *testing.T) {
	ok := []struct {
		in      string
		servers []string
		chroot  string
	}{
		{"zk:2181", []string{"zk:2181"}, ""},
		{"zk", []string{"zk:2181"}, ""},
		{"a:2181, b ,[::1]:2182/kafka/prod", []string{"a:2181", "b:2181", "[::1]:2182"}, "/kafka/prod"},
		{"[::1]", []string{"[::1]:2181"}, ""},
		{"127.0.0.1:1/", []string{"127.0.0.1:1"}, ""},
		{"h1:1,h2:2/kafka", []string{"h1:1", "h2:2"}, "/kafka"},
	}
	for _, tc := range ok {
		servers, chroot, err := ParseConnect(tc.in)
		if err != nil || !slices.Equal(servers, tc.servers) || chroot != tc.chroot {
			t.Errorf("ParseConnect(%q) = %q, %q, %v; want %q, %q", tc.in, servers, chroot, err, tc.servers, tc.chroot)
		}
	}

	bad := []struct{ in, want string }{
		{"", "no server"},
		{"/kafka", "no server"},
		{"a:1,,b:2", "empty server in list"},
		{"a:1,", "empty server in list"},
		{"a:1/x/", `bad chroot "/x/"`},
		{"a:1/x//y", `bad chroot "/x//y"`},
		{"a:1/x y", `bad chroot "/x y"`},
		{"a:b", `server "a:b": bad port "b"`},
		{"a:0", `server "a:0": bad port "0"`},
		{"a:65536", `server "a:65536": bad port "65536"`},
		{":2181", `server ":2181": empty host`},
		{"a@b:1", `server "a@b:1": bad host "a@b"`},
		{"a:1:2", `server "a:1:2" is not host:port`},
	}
	for _, tc := range bad {
		_, _, err := ParseConnect(tc.in)
		if !errors.Is(err, ErrInvalidConnect) {
			t.Errorf("ParseConnect(%q): err = %v, want ErrInvalidConnect", tc.in, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tc.want) || !strings.Contains(msg, `"`+tc.in+`"`) {
			t.Errorf("ParseConnect(%q): %q does not name the value and say %q", tc.in, msg, tc.want)
		}
	}
}
