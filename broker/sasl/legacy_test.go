package sasl

import (
	"crypto/hmac"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"

	"github.com/zkraft/zkraft/metadata"
)

// legacyClient plays librdkafka before 2.6.1 (confluentinc/librdkafka#4895):
// its client-final nonce is the client nonce followed by the server's
// whole nonce, and its proof is computed over that message.
func legacyClient(t *testing.T, srv *ScramServer, user, pass string) (string, error) {
	t.Helper()
	h := metadata.ScramHash(srv.Mechanism())
	const cnonce = "-~}[arA>:o@=Bj4U"
	c1b := "n=" + user + ",r=" + cnonce
	conv := srv.Start()
	s1b, _, err := conv.Step([]byte("n,," + c1b))
	if err != nil {
		t.Fatal(err)
	}
	s1 := string(s1b)
	var nonce, salt string
	var iters int
	for _, a := range strings.Split(s1, ",") {
		switch {
		case strings.HasPrefix(a, "r="):
			nonce = a[2:]
		case strings.HasPrefix(a, "s="):
			salt = a[2:]
		case strings.HasPrefix(a, "i="):
			iters, _ = strconv.Atoi(a[2:])
		}
	}
	rawSalt, _ := base64.StdEncoding.DecodeString(salt)
	sp, err := SaltedPassword(srv.Mechanism(), pass, rawSalt, int32(iters))
	if err != nil {
		t.Fatal(err)
	}
	mac := func(key []byte, msg string) []byte {
		m := hmac.New(h, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	clientKey := mac(sp, "Client Key")
	hh := h()
	hh.Write(clientKey)
	c2wop := "c=biws,r=" + cnonce + nonce // the bug: the client nonce twice
	sig := mac(hh.Sum(nil), c1b+","+s1+","+c2wop)
	for i := range sig {
		sig[i] ^= clientKey[i]
	}
	reply, done, err := conv.Step([]byte(c2wop + ",p=" + base64.StdEncoding.EncodeToString(sig)))
	if err != nil {
		return "", err
	}
	if want := "v=" + base64.StdEncoding.EncodeToString(mac(mac(sp, "Server Key"), c1b+","+s1+","+c2wop)); !done || string(reply) != want {
		t.Fatalf("server-final %q (done %v), want %q", reply, done, want)
	}
	return conv.Principal(), nil
}

// TestScramLibrdkafkaNonce: the nonce form of librdkafka < 2.6.1 (kcat
// 1.7) authenticates, as with Kafka 3.x; a wrong password and an unknown
// user in that form still fail.
func TestScramLibrdkafkaNonce(t *testing.T) {
	u := newUsers(t)
	for _, m := range metadata.ScramMechanisms {
		srv, err := NewScramServer(m, u.lookup)
		if err != nil {
			t.Fatal(err)
		}
		if p, err := legacyClient(t, srv, "alice", "alice-secret"); err != nil || p != "User:alice" {
			t.Fatalf("%s: principal %q, %v", m, p, err)
		}
		for _, bad := range [][2]string{{"alice", "wrong"}, {"mallory", "alice-secret"}} {
			if _, err := legacyClient(t, srv, bad[0], bad[1]); err == nil {
				t.Fatalf("%s: %s/%s authenticated", m, bad[0], bad[1])
			}
		}
	}
}
