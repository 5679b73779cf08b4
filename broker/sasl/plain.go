package sasl

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strings"
	"unicode"
)

// PlainLoginModule is the JAAS login module of SASL/PLAIN.
const PlainLoginModule = "org.apache.kafka.common.security.plain.PlainLoginModule"

// JaasConfig is one parsed sasl.jaas.config entry (Kafka's JaasConfig):
// `<LoginModule> <flag> key="value" ... ;`.
type JaasConfig struct {
	LoginModule string
	Flag        string // required, requisite, sufficient or optional
	Options     map[string]string
}

// ParseJaasConfig parses one sasl.jaas.config value (one login module;
// Kafka refuses more in that key). Values are double-quoted (with \" and
// \\ escapes) or bare words; the entry ends with ';'.
func ParseJaasConfig(s string) (JaasConfig, error) {
	var c JaasConfig
	p := &jaasLexer{s: s}
	if c.LoginModule = p.word(); c.LoginModule == "" {
		return c, fmt.Errorf("sasl.jaas.config: no login module: %w", ErrInvalidJaasConfig)
	}
	switch c.Flag = p.word(); c.Flag {
	case "required", "requisite", "sufficient", "optional":
	default:
		return c, fmt.Errorf("sasl.jaas.config: login module control flag %q (want required, requisite, sufficient or optional): %w", c.Flag, ErrInvalidJaasConfig)
	}
	c.Options = map[string]string{}
	for {
		p.space()
		if p.eat(';') {
			break
		}
		key := p.word()
		if key == "" || !p.eat('=') {
			return c, fmt.Errorf("sasl.jaas.config: option at byte %d is not key=value: %w", p.i, ErrInvalidJaasConfig)
		}
		val, err := p.value()
		if err != nil {
			return c, err
		}
		c.Options[key] = val
	}
	p.space()
	if p.i != len(p.s) {
		return c, fmt.Errorf("sasl.jaas.config: text after ';' (one login module per value): %w", ErrInvalidJaasConfig)
	}
	return c, nil
}

type jaasLexer struct {
	s string
	i int
}

func (p *jaasLexer) space() {
	for p.i < len(p.s) && unicode.IsSpace(rune(p.s[p.i])) {
		p.i++
	}
}

func (p *jaasLexer) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// word reads a bare token: letters, digits, '.', '_', '-', '$'.
func (p *jaasLexer) word() string {
	p.space()
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '.' || c == '_' || c == '-' || c == '$' || c < 0x80 && (unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c))) {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i]
}

func (p *jaasLexer) value() (string, error) {
	if !p.eat('"') {
		if w := p.word(); w != "" {
			return w, nil
		}
		return "", fmt.Errorf("sasl.jaas.config: option value at byte %d: %w", p.i, ErrInvalidJaasConfig)
	}
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch c {
		case '"':
			return b.String(), nil
		case '\\':
			if p.i == len(p.s) {
				return "", fmt.Errorf("sasl.jaas.config: unterminated escape: %w", ErrInvalidJaasConfig)
			}
			b.WriteByte(p.s[p.i])
			p.i++
		default:
			b.WriteByte(c)
		}
	}
	return "", fmt.Errorf("sasl.jaas.config: unterminated quoted value: %w", ErrInvalidJaasConfig)
}

// PlainUsers returns the users of a PlainLoginModule entry: every option
// user_<name>="<password>" (Kafka's PlainServerCallbackHandler).
func (c JaasConfig) PlainUsers() (map[string]string, error) {
	if c.LoginModule != PlainLoginModule {
		return nil, fmt.Errorf("sasl.jaas.config: login module %s is not %s: %w", c.LoginModule, PlainLoginModule, ErrInvalidJaasConfig)
	}
	users := map[string]string{}
	for k, v := range c.Options {
		if name, ok := strings.CutPrefix(k, "user_"); ok && name != "" {
			users[name] = v
		}
	}
	return users, nil
}

// PlainServer checks SASL/PLAIN messages (RFC 4616) against a fixed set of
// users (Kafka's PlainSaslServer). Safe for concurrent use.
type PlainServer struct {
	users map[string][32]byte // name -> SHA-256 of the password
}

// NewPlainServer serves users (name -> password).
func NewPlainServer(users map[string]string) *PlainServer {
	s := &PlainServer{users: make(map[string][32]byte, len(users))}
	for u, p := range users {
		s.users[u] = sha256.Sum256([]byte(p))
	}
	return s
}

// Authenticate checks one PLAIN message, [authzid] NUL authcid NUL passwd,
// and returns "User:<authcid>". An authorization id other than the user,
// an empty user or password, a message larger than MaxMessageBytes, an
// unknown user and a wrong password all fail alike, wrapping
// ErrAuthenticationFailed.
func (s *PlainServer) Authenticate(msg []byte) (string, error) {
	fail := func(why string) (string, error) {
		return "", fmt.Errorf("PLAIN: %s: %w", why, ErrAuthenticationFailed)
	}
	if len(msg) > MaxMessageBytes {
		return fail(fmt.Sprintf("message of %d bytes exceeds %d", len(msg), MaxMessageBytes))
	}
	parts := bytes.Split(msg, []byte{0})
	if len(parts) != 3 {
		return fail("invalid message: expected authzid, username and password separated by NUL")
	}
	authz, user, pass := string(parts[0]), string(parts[1]), parts[2]
	switch {
	case user == "" || len(pass) == 0:
		return fail("empty username or password")
	case authz != "" && authz != user:
		return fail("authorization id differs from the user name")
	}
	want, ok := s.users[user]
	got := sha256.Sum256(pass)
	if subtle.ConstantTimeCompare(want[:], got[:]) != 1 || !ok {
		return fail("invalid username or password")
	}
	return "User:" + user, nil
}
