package sasl

import (
	"context"
	"errors"
	"reflect"
	"testing"

	kplain "github.com/twmb/franz-go/pkg/sasl/plain"
)

// TestParseJaasConfig: Kafka's listener.name.<l>.plain.sasl.jaas.config
// syntax (the broker's own username/password plus user_<name> entries).
func TestParseJaasConfig(t *testing.T) {
	c, err := ParseJaasConfig(`org.apache.kafka.common.security.plain.PlainLoginModule required
		username="admin" password="admin-secret"
		user_admin="admin-secret" user_alice="alice \"quoted\" secret" user_bob=bare;`)
	if err != nil {
		t.Fatal(err)
	}
	if c.LoginModule != PlainLoginModule || c.Flag != "required" || c.Options["username"] != "admin" {
		t.Fatalf("parsed %+v", c)
	}
	users, err := c.PlainUsers()
	if err != nil || !reflect.DeepEqual(users, map[string]string{"admin": "admin-secret", "alice": `alice "quoted" secret`, "bob": "bare"}) {
		t.Fatalf("users %v, %v", users, err)
	}
	for _, bad := range []string{
		``,
		`org.apache.kafka.common.security.plain.PlainLoginModule`,
		`org.apache.kafka.common.security.plain.PlainLoginModule mandatory user_a="b";`,
		`org.apache.kafka.common.security.plain.PlainLoginModule required user_a="b"`,
		`org.apache.kafka.common.security.plain.PlainLoginModule required user_a="b;`,
		`org.apache.kafka.common.security.plain.PlainLoginModule required user_a;`,
		`org.apache.kafka.common.security.plain.PlainLoginModule required user_a="b"; x y;`,
	} {
		if _, err := ParseJaasConfig(bad); !errors.Is(err, ErrInvalidJaasConfig) {
			t.Errorf("ParseJaasConfig(%q) = %v", bad, err)
		}
	}
	scram, _ := ParseJaasConfig(`org.apache.kafka.common.security.scram.ScramLoginModule required username="a" password="b";`)
	if _, err := scram.PlainUsers(); !errors.Is(err, ErrInvalidJaasConfig) {
		t.Fatalf("PlainUsers of a SCRAM module: %v", err)
	}
}

// TestPlainFranzGoClient: franz-go's PLAIN client (pkg/sasl/plain) against
// the server: the right password passes; a wrong one, an unknown user, an
// authorization id for another user and malformed messages fail alike.
func TestPlainFranzGoClient(t *testing.T) {
	srv := NewPlainServer(map[string]string{"alice": "alice-secret"})
	auth := func(a kplain.Auth) (string, error) {
		_, msg, err := a.AsMechanism().Authenticate(context.Background(), "127.0.0.1:9092")
		if err != nil {
			t.Fatal(err)
		}
		return srv.Authenticate(msg)
	}
	if p, err := auth(kplain.Auth{User: "alice", Pass: "alice-secret"}); err != nil || p != "User:alice" {
		t.Fatalf("right password: %q %v", p, err)
	}
	if p, err := auth(kplain.Auth{Zid: "alice", User: "alice", Pass: "alice-secret"}); err != nil || p != "User:alice" {
		t.Fatalf("authzid = user: %q %v", p, err)
	}
	var msgs []string
	for _, a := range []kplain.Auth{{User: "alice", Pass: "wrong"}, {User: "mallory", Pass: "wrong"},
		{Zid: "admin", User: "alice", Pass: "alice-secret"}} {
		_, err := auth(a)
		if !errors.Is(err, ErrAuthenticationFailed) {
			t.Fatalf("%+v: %v", a.User, err)
		}
		msgs = append(msgs, err.Error())
	}
	if msgs[0] != msgs[1] {
		t.Fatalf("wrong password %q vs unknown user %q", msgs[0], msgs[1])
	}
	for _, bad := range [][]byte{nil, []byte("alice"), []byte("\x00alice"), []byte("\x00\x00pw"), []byte("\x00alice\x00"),
		[]byte("a\x00b\x00c\x00d"), make([]byte, MaxMessageBytes+1)} {
		if _, err := srv.Authenticate(bad); !errors.Is(err, ErrAuthenticationFailed) {
			t.Errorf("Authenticate(%q) = %v", bad, err)
		}
	}
}
