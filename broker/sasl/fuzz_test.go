package sasl

import (
	"bytes"
	"testing"

	"github.com/zkraft/zkraft/metadata"
)

// FuzzClientInput feeds arbitrary client bytes to every decoder of this
// package: PLAIN messages, both SCRAM steps and sasl.jaas.config values.
// None may panic, and none may authenticate without the password.
func FuzzClientInput(f *testing.F) {
	for _, s := range []string{"\x00alice\x00alice-secret", "n,,n=alice,r=abcdef", "c=biws,r=abcdef,p=AAAA",
		`org.apache.kafka.common.security.plain.PlainLoginModule required user_a="b";`, "n,a=x,n=y,r=z"} {
		f.Add([]byte(s), []byte(s))
	}
	plain := NewPlainServer(map[string]string{"alice": "alice-secret"})
	cred, err := CredentialFromPassword(metadata.ScramSHA256, "alice", "alice-secret", []byte("salt"), 4096)
	if err != nil {
		f.Fatal(err)
	}
	srv, err := NewScramServer(metadata.ScramSHA256, func(u string, _ metadata.ScramMechanism) (*metadata.ScramCredential, bool) {
		return cred, u == "alice"
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, first, second []byte) {
		if p, err := plain.Authenticate(first); err == nil && !bytes.HasSuffix(first, []byte("\x00alice-secret")) {
			t.Fatalf("PLAIN %q authenticated %s", first, p)
		}
		_, _ = ParseJaasConfig(string(first))
		c := srv.Start()
		if _, _, err := c.Step(first); err == nil {
			if _, done, err := c.Step(second); err == nil && done {
				t.Fatalf("SCRAM authenticated from fuzz input %q %q", first, second)
			}
		}
	})
}
