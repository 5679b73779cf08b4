package quorum

import (
	"crypto/x509/pkix"
	"io"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata/network"
	"github.com/zkraft/zkraft/metadata/network/tlstest"
)

// TestRaftOverTLS: with the controller listener's TLS settings, a raft
// connection is TLS after its connRaft byte, both ways authenticated; a
// voter without a certificate of the truststore's CA, or dialling in
// plaintext, gets no raft stream.
func TestRaftOverTLS(t *testing.T) {
	ca, err := tlstest.NewCA("raft-ca")
	if err != nil {
		t.Fatal(err)
	}
	chain, key, err := ca.Issue(pkix.Name{CommonName: "controller"}, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	st := &network.TLSSettings{CertChainPEM: chain, KeyPEM: key, TrustPEM: ca.CertPEM}
	rt, err := newRaftTLS(st)
	if err != nil {
		t.Fatal(err)
	}
	m, err := newMux("127.0.0.1:0", zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.close()
	rs := &raftStream{muxListener: m.raft, tls: rt}

	// A voter with the CA's certificate: a raft stream both ways.
	accepted := make(chan error, 1)
	go func() {
		c, err := rs.Accept()
		if err != nil {
			accepted <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil {
			accepted <- err
			return
		}
		_, err = c.Write(buf)
		accepted <- err
	}()
	c, err := rs.Dial(raftAddr(m), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("raft")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "raft" {
		t.Fatalf("echo %q, %v", buf, err)
	}
	c.Close()
	if err := <-accepted; err != nil {
		t.Fatalf("accepting side: %v", err)
	}

	// A voter without a client certificate, and one dialling plaintext raft.
	noCert, err := network.TLSSettings{TrustPEM: ca.CertPEM}.Client()
	if err != nil {
		t.Fatal(err)
	}
	for name, dialer := range map[string]*raftStream{
		"no client certificate": {muxListener: m.raft, tls: &raftTLS{client: noCert}},
		"plaintext raft":        {muxListener: m.raft},
	} {
		t.Run(name, func(t *testing.T) {
			go func() {
				c, err := rs.Accept()
				if err != nil {
					accepted <- err
					return
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_, err = io.ReadFull(c, make([]byte, 4))
				accepted <- err
			}()
			c, err := dialer.Dial(raftAddr(m), 5*time.Second)
			if err == nil {
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_, _ = c.Write([]byte("raft"))
				_, _ = io.ReadFull(c, make([]byte, 1))
				c.Close()
			}
			if err := <-accepted; err == nil {
				t.Fatal("the accepting voter read a raft stream from a peer it cannot authenticate")
			}
		})
	}
}
