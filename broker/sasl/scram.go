package sasl

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/xdg-go/scram"

	"github.com/zkraft/zkraft/metadata"
)

// MaxMessageBytes bounds one SCRAM client message. Real ones are a few
// hundred bytes (a user name, a nonce, a proof); Kafka's SaslServer has no
// finer limit than the frame size.
const MaxMessageBytes = 4096

// CredentialLookup returns a user's credential for a mechanism (false if
// the user has none). It is called from the connection's goroutine and
// must be safe for concurrent use; a lookup in the current metadata.Image
// (Image.ScramCredential) is.
type CredentialLookup func(user string, m metadata.ScramMechanism) (*metadata.ScramCredential, bool)

// ScramServer authenticates clients with one SCRAM mechanism (Kafka's
// ScramSaslServer). Safe for concurrent use.
type ScramServer struct {
	mech   metadata.ScramMechanism
	hash   scram.HashGeneratorFcn
	lookup CredentialLookup
	secret []byte                  // keys the fake salts of unknown users
	nonce  scram.NonceGeneratorFcn // nil: the library's (crypto/rand); tests pin it
}

// NewScramServer returns a server for mechanism m over lookup.
func NewScramServer(m metadata.ScramMechanism, lookup CredentialLookup) (*ScramServer, error) {
	h, err := hashOf(m)
	if err != nil {
		return nil, err
	}
	if lookup == nil {
		return nil, fmt.Errorf("scram server: nil credential lookup: %w", ErrInvalidCredential)
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("scram server secret: %w", err)
	}
	return &ScramServer{mech: m, hash: h, lookup: lookup, secret: secret}, nil
}

// Mechanism is the SASL mechanism served ("SCRAM-SHA-256").
func (s *ScramServer) Mechanism() metadata.ScramMechanism { return s.mech }

// decoy is the credential an unknown user is challenged with: a salt that
// is the same on every attempt for that name (an HMAC of it under the
// server's secret), Kafka's default iteration count, and keys no proof
// matches. The exchange then fails at the proof, like a wrong password.
func (s *ScramServer) decoy(user string) scram.StoredCredentials {
	mac := hmac.New(sha256.New, s.secret)
	mac.Write([]byte(user))
	salt := mac.Sum(nil)
	size := s.hash().Size()
	keys := make([]byte, 2*size)
	_, _ = rand.Read(keys)
	return scram.StoredCredentials{KeyFactors: scram.KeyFactors{Salt: string(salt), Iters: metadata.ScramMinIterations},
		StoredKey: keys[:size], ServerKey: keys[size:]}
}

// Start begins one authentication (one SaslAuthenticate exchange).
func (s *ScramServer) Start() *Conversation {
	c := &Conversation{mech: s.mech, hash: s.hash}
	srv, err := s.hash.NewServer(func(user string) (scram.StoredCredentials, error) {
		cred, ok := s.lookup(user, s.mech)
		if !ok || cred == nil || cred.Iterations <= 0 {
			c.cred = s.decoy(user)
			return c.cred, nil
		}
		c.cred = scram.StoredCredentials{KeyFactors: scram.KeyFactors{Salt: string(cred.Salt), Iters: int(cred.Iterations)},
			StoredKey: cred.StoredKey, ServerKey: cred.ServerKey}
		return c.cred, nil
	})
	if err != nil { // only for a nil lookup, which NewScramServer refuses
		c.err = fmt.Errorf("scram server: %v: %w", err, ErrAuthenticationFailed)
		return c
	}
	if s.nonce != nil {
		srv = srv.WithNonceGenerator(s.nonce)
	}
	c.conv = srv.NewConversation()
	return c
}

// Conversation is one SCRAM exchange. Not safe for concurrent use.
type Conversation struct {
	mech      metadata.ScramMechanism
	hash      scram.HashGeneratorFcn
	conv      *scram.ServerConversation
	cred      scram.StoredCredentials // the user's (or the decoy), once looked up
	c1, s1    string                  // client-first and server-first, for legacyFinal
	step      int
	principal string
	err       error
}

// Step takes the next client message (the auth_bytes of a
// SaslAuthenticate request) and returns the reply to send back. done is
// true after the server-final message, which comes with the authenticated
// principal (Principal). Any error wraps ErrAuthenticationFailed and ends
// the conversation; the reply is then nil (Kafka sends no SCRAM error
// message, only SASL_AUTHENTICATION_FAILED).
func (c *Conversation) Step(msg []byte) (reply []byte, done bool, err error) {
	if c.err != nil {
		return nil, false, c.err
	}
	fail := func(format string, args ...any) ([]byte, bool, error) {
		c.err = fmt.Errorf("%s: %s: %w", c.mech, fmt.Sprintf(format, args...), ErrAuthenticationFailed)
		c.conv = nil
		return nil, false, c.err
	}
	switch {
	case c.step >= 2:
		return fail("conversation already complete")
	case len(msg) > MaxMessageBytes:
		return fail("client message of %d bytes exceeds %d", len(msg), MaxMessageBytes)
	}
	c.step++
	if c.step == 2 {
		if reply, ok, handled := c.legacyFinal(string(msg)); handled {
			if !ok {
				return fail("invalid user credentials")
			}
			c.principal = "User:" + c.conv.Username()
			return []byte(reply), true, nil
		}
	}
	out, err := c.conv.Step(string(msg))
	if err != nil {
		if c.step == 2 {
			return fail("invalid user credentials") // wrong password or unknown user: one answer
		}
		return fail("invalid client-first message")
	}
	if c.step == 1 {
		if z := c.conv.AuthzID(); z != "" && z != c.conv.Username() {
			return fail("authorization id differs from the user name") // Kafka's ScramSaslServer refuses it
		}
		c.c1, c.s1 = string(msg), out
		return []byte(out), false, nil
	}
	if !c.conv.Valid() {
		return fail("invalid user credentials")
	}
	c.principal = "User:" + c.conv.Username()
	return []byte(out), true, nil
}

// Principal is "User:<name>" once the conversation succeeded, "" before.
func (c *Conversation) Principal() string { return c.principal }

// Failed reports whether the conversation ended without authenticating.
func (c *Conversation) Failed() bool {
	return c.err != nil && errors.Is(c.err, ErrAuthenticationFailed)
}

// legacyFinal checks a client-final message whose nonce is the server's
// nonce with something before it, as librdkafka before 2.6.1 sends (the
// client nonce a second time: confluentinc/librdkafka#4895). Kafka 3.x
// accepts it (3.8.1 onwards checks that the nonce ends with the server's,
// KAFKA-17463; earlier versions did not check), so kcat 1.7 works against
// Kafka; xdg-go wants the exact nonce, so this one form is verified here,
// with RFC 5802's computation over the message as received: AuthMessage =
// client-first-bare "," server-first "," client-final-without-proof,
// ClientKey = proof XOR HMAC(StoredKey, AuthMessage), H(ClientKey) must
// be StoredKey, and the reply is v=HMAC(ServerKey, AuthMessage).
// handled is false for every other message (xdg-go checks those).
func (c *Conversation) legacyFinal(c2 string) (reply string, ok, handled bool) {
	nonce, found := strings.CutPrefix(strings.SplitN(c.s1, ",", 2)[0], "r=")
	if !found || nonce == "" {
		return "", false, false
	}
	attrs := strings.Split(c2, ",")
	if len(attrs) < 3 || !strings.HasPrefix(attrs[0], "c=") || !strings.HasPrefix(attrs[1], "r=") {
		return "", false, false
	}
	r := attrs[1][2:]
	if r == nonce || !strings.HasSuffix(r, nonce) {
		return "", false, false
	}
	last := attrs[len(attrs)-1]
	if !strings.HasPrefix(last, "p=") {
		return "", false, true
	}
	// gs2 header of the client-first message: "n,," or "y,," (an
	// authorization id was refused at step 1, channel binding is refused
	// by xdg-go), then the bare message.
	i := strings.Index(c.c1, ",")
	j := -1
	if i >= 0 {
		j = strings.Index(c.c1[i+1:], ",")
	}
	if j < 0 {
		return "", false, true
	}
	gs2, c1b := c.c1[:i+j+2], c.c1[i+j+2:]
	cbind, err := base64.StdEncoding.DecodeString(attrs[0][2:])
	if err != nil || !hmac.Equal(cbind, []byte(gs2)) || gs2[0] == 'p' {
		return "", false, true
	}
	proof, err := base64.StdEncoding.DecodeString(last[2:])
	if err != nil {
		return "", false, true
	}
	authMsg := c1b + "," + c.s1 + "," + strings.TrimSuffix(c2, ","+last)
	mac := func(key []byte) []byte {
		m := hmac.New(c.hash, key)
		m.Write([]byte(authMsg))
		return m.Sum(nil)
	}
	sig := mac(c.cred.StoredKey)
	if len(proof) != len(sig) {
		return "", false, true
	}
	for k := range proof {
		proof[k] ^= sig[k]
	}
	h := c.hash()
	h.Write(proof)
	if !hmac.Equal(h.Sum(nil), c.cred.StoredKey) {
		return "", false, true
	}
	return "v=" + base64.StdEncoding.EncodeToString(mac(c.cred.ServerKey)), true, true
}
