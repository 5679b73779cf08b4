//go:build !linux

package network

import "net"

// sendRegion copies r through a pooled buffer where sendfile with an
// explicit offset is not wired up.
func sendRegion(c *net.TCPConn, r FileRegion) error { return copyRegion(c, r) }

// cork does nothing where TCP_CORK is not wired up.
func cork(*net.TCPConn, bool) error { return nil }
