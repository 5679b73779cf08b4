package sasl

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	kscram "github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/zkraft/zkraft/metadata"
)

// users is a credential store as the image would be.
type users map[string]map[metadata.ScramMechanism]*metadata.ScramCredential

func (u users) lookup(user string, m metadata.ScramMechanism) (*metadata.ScramCredential, bool) {
	c, ok := u[user][m]
	return c, ok
}

func newUsers(t *testing.T) users {
	t.Helper()
	u := users{}
	for _, p := range []struct{ user, pass string }{{"alice", "alice-secret"}, {"b,o=b", "pässwörd"}} {
		u[p.user] = map[metadata.ScramMechanism]*metadata.ScramCredential{}
		for _, m := range metadata.ScramMechanisms {
			c, err := CredentialFromPassword(m, p.user, p.pass, nil, 4096)
			if err != nil {
				t.Fatal(err)
			}
			u[p.user][m] = c
		}
	}
	return u
}

// authenticate drives franz-go's SCRAM client (pkg/sasl/scram, what kgo
// uses against Kafka) against a conversation, as SaslAuthenticate would
// carry the messages.
func authenticate(t *testing.T, srv *ScramServer, auth kscram.Auth) (principal string, err error) {
	t.Helper()
	mech := auth.AsSha256Mechanism()
	if srv.Mechanism() == metadata.ScramSHA512 {
		mech = auth.AsSha512Mechanism()
	}
	sess, msg, err := mech.Authenticate(context.Background(), "127.0.0.1:9092")
	if err != nil {
		t.Fatal(err)
	}
	conv := srv.Start()
	for i := 0; i < 4; i++ {
		reply, done, err := conv.Step(msg)
		if err != nil {
			if conv.Principal() != "" || !conv.Failed() {
				t.Fatalf("failed conversation has principal %q", conv.Principal())
			}
			return "", err
		}
		clientDone, next, err := sess.Challenge(reply)
		if err != nil {
			t.Fatalf("client refused the server's reply: %v", err)
		}
		if done {
			if !clientDone {
				t.Fatal("server done, client not")
			}
			return conv.Principal(), nil
		}
		msg = next
	}
	t.Fatal("conversation did not end")
	return "", nil
}

// TestScramFranzGoClient: RFC 5802/7677 SCRAM as Kafka clients speak it —
// franz-go's client authenticates with the right password for both
// mechanisms (it also verifies the server signature), and fails with a
// wrong password, an unknown user or a credential of the other mechanism.
func TestScramFranzGoClient(t *testing.T) {
	u := newUsers(t)
	for _, m := range metadata.ScramMechanisms {
		t.Run(m.String(), func(t *testing.T) {
			srv, err := NewScramServer(m, u.lookup)
			if err != nil {
				t.Fatal(err)
			}
			p, err := authenticate(t, srv, kscram.Auth{User: "alice", Pass: "alice-secret"})
			if err != nil || p != "User:alice" {
				t.Fatalf("right password: %q, %v", p, err)
			}
			// User names with ',' and '=' travel escaped (=2C, =3D); non-ASCII passwords as UTF-8.
			p, err = authenticate(t, srv, kscram.Auth{User: "b,o=b", Pass: "pässwörd"})
			if err != nil || p != "User:b,o=b" {
				t.Fatalf("escaped user: %q, %v", p, err)
			}
			var msgs []string
			for _, a := range []kscram.Auth{
				{User: "alice", Pass: "wrong"},
				{User: "mallory", Pass: "alice-secret"},
				{User: "alice", Pass: "alice-secret", Zid: "admin"},
			} {
				_, err := authenticate(t, srv, a)
				if !errors.Is(err, ErrAuthenticationFailed) {
					t.Fatalf("%+v: %v, want ErrAuthenticationFailed", a.User, err)
				}
				msgs = append(msgs, err.Error())
				if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "mallory") {
					t.Fatalf("error leaks: %v", err)
				}
			}
			// A wrong password and an unknown user are told apart by nothing.
			if msgs[0] != msgs[1] {
				t.Fatalf("wrong password %q vs unknown user %q", msgs[0], msgs[1])
			}
		})
	}
	// Only the mechanism's own credential counts.
	only256 := users{"carol": {metadata.ScramSHA256: u["alice"][metadata.ScramSHA256]}}
	srv, _ := NewScramServer(metadata.ScramSHA512, only256.lookup)
	if _, err := authenticate(t, srv, kscram.Auth{User: "carol", Pass: "alice-secret"}); !errors.Is(err, ErrAuthenticationFailed) {
		t.Fatalf("SHA-256 credential accepted by SCRAM-SHA-512: %v", err)
	}
}

// TestScramUnknownUserLooksReal: the server-first message of an unknown user
// has the shape of a real one (salt, Kafka's iteration count) and the same
// salt on every attempt, so probing it tells nothing.
func TestScramUnknownUserLooksReal(t *testing.T) {
	srv, _ := NewScramServer(metadata.ScramSHA256, newUsers(t).lookup)
	first := func(user string) string {
		reply, done, err := srv.Start().Step([]byte("n,,n=" + user + ",r=abcdefgh"))
		if err != nil || done {
			t.Fatalf("client-first of %s: %v", user, err)
		}
		_, rest, _ := strings.Cut(string(reply), ",") // drop the nonce
		return rest
	}
	a, b := first("nobody"), first("nobody")
	if a != b || !strings.HasPrefix(a, "s=") || !strings.HasSuffix(a, ",i=4096") {
		t.Fatalf("unknown user's server-first %q then %q", a, b)
	}
	if first("nobody") == first("someone-else") {
		t.Fatal("every unknown user gets the same salt")
	}
}

// TestScramConversationErrors: garbage, oversized messages and steps past
// the end fail the conversation, and it stays failed.
func TestScramConversationErrors(t *testing.T) {
	srv, _ := NewScramServer(metadata.ScramSHA256, newUsers(t).lookup)
	for _, msgs := range [][]string{
		{"garbage"},
		{"p=tls-unique,,n=alice,r=abc"}, // channel binding is not offered
		{"n,,n=alice,r=abc", "c=biws,r=wrongnonce,p=AAAA"},
		{strings.Repeat("x", MaxMessageBytes+1)},
	} {
		c := srv.Start()
		var err error
		for _, m := range msgs {
			if _, _, err = c.Step([]byte(m)); err != nil {
				break
			}
		}
		if !errors.Is(err, ErrAuthenticationFailed) || !c.Failed() || c.Principal() != "" {
			t.Fatalf("%q: %v", msgs, err)
		}
		if _, _, err := c.Step([]byte("n,,n=alice,r=abc")); !errors.Is(err, ErrAuthenticationFailed) {
			t.Fatalf("a failed conversation went on: %v", err)
		}
	}
	if _, err := NewScramServer(metadata.ScramUnknown, newUsers(t).lookup); !errors.Is(err, ErrInvalidCredential) {
		t.Fatal(err)
	}
	if _, err := NewScramServer(metadata.ScramSHA256, nil); !errors.Is(err, ErrInvalidCredential) {
		t.Fatal(err)
	}
}

// TestCredentialDerivation: the salted-password path (what
// AlterUserScramCredentials carries) and the password path (the library's
// client derivation) give the same credential, and RFC 7677's test vector
// holds (user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==,
// 4096 iterations).
func TestCredentialDerivation(t *testing.T) {
	salt := []byte("0123456789abcdef")
	for _, m := range metadata.ScramMechanisms {
		sp, err := SaltedPassword(m, "pencil", salt, 4096)
		if err != nil {
			t.Fatal(err)
		}
		a, err := CredentialFromSaltedPassword(m, salt, sp, 4096)
		if err != nil {
			t.Fatal(err)
		}
		b, err := CredentialFromPassword(m, "user", "pencil", salt, 4096)
		if err != nil {
			t.Fatal(err)
		}
		if !a.Equal(b) {
			t.Fatalf("%s: salted-password and password derivations differ", m)
		}
	}
	// RFC 7677 §3's sample exchange, with its nonces: the server accepts
	// the RFC's proof and answers the RFC's server signature.
	rfcSalt := []byte{0x5b, 0x6d, 0x99, 0x68, 0x9d, 0x12, 0x35, 0x8e, 0xec, 0xa0, 0x4b, 0x14, 0x12, 0x36, 0xfa, 0x81}
	c, err := CredentialFromPassword(metadata.ScramSHA256, "user", "pencil", rfcSalt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := NewScramServer(metadata.ScramSHA256, func(string, metadata.ScramMechanism) (*metadata.ScramCredential, bool) { return c, true })
	srv.nonce = func() string { return "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0" }
	conv := srv.Start()
	reply, _, err := conv.Step([]byte("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"))
	if err != nil || string(reply) != "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096" {
		t.Fatalf("server-first %q, %v", reply, err)
	}
	reply, done, err := conv.Step([]byte("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="))
	if err != nil || !done || string(reply) != "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=" {
		t.Fatalf("server-final %q, %v, %v", reply, done, err)
	}

	for _, bad := range []struct {
		m     metadata.ScramMechanism
		salt  []byte
		sp    []byte
		iters int32
	}{
		{metadata.ScramUnknown, salt, make([]byte, 32), 4096},
		{metadata.ScramSHA256, salt, make([]byte, 32), 4095},
		{metadata.ScramSHA256, salt, make([]byte, 32), 16385},
		{metadata.ScramSHA256, nil, make([]byte, 32), 4096},
		{metadata.ScramSHA512, salt, make([]byte, 32), 4096}, // SHA-512 salted passwords are 64 bytes
	} {
		if _, err := CredentialFromSaltedPassword(bad.m, bad.salt, bad.sp, bad.iters); !errors.Is(err, ErrInvalidCredential) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if !bytes.Equal(rfcSalt, c.Salt) || hex.EncodeToString(c.Salt) == "" {
		t.Fatal("salt not kept")
	}
}
