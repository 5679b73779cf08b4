package network

import (
	"errors"
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// sendRegion sends r on c with sendfile(2) at an explicit offset (so the
// file's shared offset is never used and one file may serve many
// connections at once), waiting for writability through the runtime's
// poller and so honouring c's write deadline. A file that ends before the
// region does (truncated meanwhile) fails with ErrShortRegion.
func sendRegion(c *net.TCPConn, r FileRegion) error {
	sc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	fc, err := r.File.SyscallConn()
	if err != nil {
		return err
	}
	off, left := r.Off, r.Len
	var serr error
	cerr := fc.Control(func(ffd uintptr) {
		werr := sc.Write(func(sfd uintptr) bool {
			for left > 0 {
				n, err := unix.Sendfile(int(sfd), int(ffd), &off, int(min(left, 1<<30)))
				if n > 0 {
					left -= int64(n)
				}
				switch {
				case errors.Is(err, unix.EAGAIN):
					return false // wait until the socket is writable
				case errors.Is(err, unix.EINTR):
				case err != nil:
					serr = fmt.Errorf("sendfile: %w", err)
					return true
				case n == 0:
					serr = fmt.Errorf("%w: %s: %d bytes missing at %d", ErrShortRegion, r.File.Name(), left, off)
					return true
				}
			}
			return true
		})
		if serr == nil {
			serr = werr
		}
	})
	if cerr != nil {
		return cerr
	}
	return serr
}

// cork sets TCP_CORK on c: while on, the kernel sends only full segments,
// so a frame written as several pieces (framing writes and sendfile
// regions) leaves as few full packets once uncorked instead of one short
// packet per piece, each waking the reader again.
func cork(c *net.TCPConn, on bool) error {
	sc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	v := 0
	if on {
		v = 1
	}
	var serr error
	if err := sc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_CORK, v)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("setsockopt TCP_CORK=%d: %w", v, serr)
	}
	return nil
}
