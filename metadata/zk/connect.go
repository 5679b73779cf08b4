package zk

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// DefaultPort is the port of a connect-string server given without one
// (ZooKeeper's client port).
const DefaultPort = "2181"

// ParseConnect parses a ZooKeeper connect string as Kafka's
// zookeeper.connect and `zkraft migrate --zookeeper` take it:
//
//	host[:port][,host[:port]]...[/chroot]
//
// Servers are trimmed of spaces and returned as host:port (port 2181 when
// missing; an IPv6 host in brackets, "[::1]" or "[::1]:2182"). The chroot
// starts at the first '/'; "/" alone means none (""), otherwise it must be a
// ZooKeeper path: no trailing '/', no empty component, no ',' or space.
// Errors wrap ErrInvalidConnect and name the whole value and the part that
// is wrong; the empty string is an error (no server).
func ParseConnect(s string) (servers []string, chroot string, err error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidConnect, s, fmt.Sprintf(format, args...))
	}
	hosts := s
	if i := strings.IndexByte(s, '/'); i >= 0 {
		hosts, chroot = s[:i], s[i:]
		if chroot == "/" {
			chroot = ""
		}
		if strings.HasSuffix(chroot, "/") || strings.Contains(chroot, "//") || strings.ContainsAny(chroot, ", ") {
			return nil, "", bad("bad chroot %q", s[i:])
		}
	}
	if strings.TrimSpace(hosts) == "" {
		return nil, "", bad("no server")
	}
	for _, e := range strings.Split(hosts, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			return nil, "", bad("empty server in list")
		}
		// Without a port: "host", "[::1]" (a bracketed IPv6 host has its
		// last ':' inside the brackets).
		if !strings.Contains(strings.TrimPrefix(strings.TrimSuffix(e, "]"), "["), ":") || strings.HasSuffix(e, "]") {
			e = net.JoinHostPort(strings.Trim(e, "[]"), DefaultPort)
		}
		host, port, err := net.SplitHostPort(e)
		if err != nil {
			return nil, "", bad("server %q is not host:port", e)
		}
		if host == "" {
			return nil, "", bad("server %q: empty host", e)
		}
		if strings.ContainsAny(host, "/@, ") {
			return nil, "", bad("server %q: bad host %q", e, host)
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return nil, "", bad("server %q: bad port %q", e, port)
		}
		servers = append(servers, e)
	}
	return servers, chroot, nil
}
