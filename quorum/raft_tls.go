package quorum

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/zkraft/zkraft/metadata/network"
)

// Raft over TLS: when the controller listener is TLS (Config.RaftTLS, its
// ssl.* settings), raft connections between voters are TLS too, after the
// plaintext connRaft byte that sorts them on the shared port:
//
//	raft over TLS:  | 0xA1 | TLS handshake | hashicorp raft NetworkTransport stream ...
//
// Both sides authenticate: the accepting voter requires a client
// certificate verified against the truststore, whatever ssl.client.auth
// says (raft has no other authentication), and the dialling voter verifies
// the accepting one's certificate as any TLS client does. The accepting
// side's handshake runs on raft's first read, in the transport's
// per-connection goroutine, so it never blocks the mux.

// raftTLS is the pair of configurations a voter's raft stream uses.
type raftTLS struct {
	server, client *tls.Config
}

// newRaftTLS builds them from the controller listener's settings (nil:
// plaintext raft).
func newRaftTLS(st *network.TLSSettings) (*raftTLS, error) {
	if st == nil {
		return nil, nil
	}
	s := *st
	s.ClientAuth = network.ClientAuthRequired
	server, err := s.Server()
	if err != nil {
		return nil, fmt.Errorf("quorum: raft over tls (the controller listener's ssl.* keys; raft requires client certificates): %w", err)
	}
	client, err := st.Client()
	if err != nil {
		return nil, fmt.Errorf("quorum: raft over tls (the controller listener's ssl.* keys): %w", err)
	}
	return &raftTLS{server: server, client: client}, nil
}

// wrapAccepted makes an accepted raft connection the server side of TLS.
func (t *raftTLS) wrapAccepted(c net.Conn) net.Conn {
	if t == nil {
		return c
	}
	return tls.Server(c, t.server)
}

// wrapDialled runs the client handshake on a dialled raft connection
// (after its connRaft byte), bounded by timeout.
func (t *raftTLS) wrapDialled(c net.Conn, addr string, timeout time.Duration) (net.Conn, error) {
	if t == nil {
		return c, nil
	}
	cfg := t.client.Clone()
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("quorum: raft dial %s: %w", addr, err)
		}
		cfg.ServerName = host
	}
	tc := tls.Client(c, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("quorum: raft tls handshake with %s: %w", addr, err)
	}
	return tc, nil
}
