package config

import (
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/zkraft/zkraft/metadata/network"
)

// TLS keys (KIP-651's PEM form). Each may be given globally (ssl.x) or for
// one listener (listener.name.<listener>.ssl.x, the listener name in lower
// case as Kafka writes it; any case is accepted), the listener's winning.
// Their values are checked when set; they are read per listener by
// resolveSecurity, once every key is known.

// listenerPrefix starts a per-listener key.
const listenerPrefix = "listener.name."

// tlsDest are the components a TLS key reaches: the broker listeners'
// server, the controller listener's server, and the clients that dial the
// inter-broker listener (replica fetchers; ZooKeeper-mode controlled
// shutdown reads the same Config.InterBrokerSecurity) and the controller
// listener (registration, heartbeats, metadata fetch).
var (
	tlsDest       = to("network.TLS", "quorum.Network.TLS", "quorum.RaftTLS", "replica.Security", "client.Security")
	tlsServerDest = to("network.TLS", "quorum.Network.TLS", "quorum.RaftTLS")
	tlsClientDest = to("replica.Security", "client.Security", "quorum.RaftTLS")
)

func oneOf(vals ...string) setter {
	return func(_ *builder, v string) error {
		if !slices.Contains(vals, v) {
			return fmt.Errorf("want one of %s", strings.Join(vals, ", "))
		}
		return nil
	}
}

func storeType(_ *builder, v string) error {
	if !strings.EqualFold(v, "PEM") {
		return fmt.Errorf("zkraft reads PEM stores only (KIP-651); convert the %s store to PEM "+
			"(keytool -importkeystore to PKCS12, then openssl pkcs12 -nodes)", v)
	}
	return nil
}

func anyValue(*builder, string) error { return nil }

func noPassword(_ *builder, v string) error {
	if v != "" {
		return errors.New("PEM stores have no store password (KIP-651); a PEM key's password is ssl.key.password")
	}
	return nil
}

// tlsKeys are the ssl.* keys, valid globally and after listener.name.<l>.
var tlsKeys = map[string]key{
	// Only PEM exists; the value only constrains the others.
	"ssl.keystore.type":                     {storeType, to(DestChecked)},
	"ssl.truststore.type":                   {storeType, to(DestChecked)},
	"ssl.keystore.password":                 {noPassword, to(DestChecked)},
	"ssl.truststore.password":               {noPassword, to(DestChecked)},
	"ssl.keystore.location":                 {anyValue, tlsDest},
	"ssl.keystore.certificate.chain":        {anyValue, tlsDest},
	"ssl.keystore.key":                      {anyValue, tlsDest},
	"ssl.key.password":                      {anyValue, to(DestChecked)},
	"ssl.truststore.location":               {anyValue, tlsDest},
	"ssl.truststore.certificates":           {anyValue, tlsDest},
	"ssl.client.auth":                       {oneOf(network.ClientAuthNone, network.ClientAuthRequested, network.ClientAuthRequired), tlsServerDest},
	"ssl.endpoint.identification.algorithm": {oneOf("https", ""), tlsClientDest},
	"ssl.enabled.protocols": {func(_ *builder, v string) error {
		ps := splitList(v)
		if len(ps) == 0 {
			return errors.New("empty")
		}
		for _, p := range ps {
			if !network.ValidTLSProtocol(p) {
				return fmt.Errorf("protocol %q (zkraft serves TLSv1.2 and TLSv1.3)", p)
			}
		}
		return nil
	}, tlsDest},
}

func init() {
	for k, e := range tlsKeys {
		keys[k] = e
	}
}

// listenerKey splits listener.name.<listener>.<key> when key is a
// per-listener key; the listener comes back upper case.
func listenerKey(k string) (listener, suffix string, e key, ok bool) {
	rest, found := strings.CutPrefix(k, listenerPrefix)
	if !found {
		return "", "", key{}, false
	}
	listener, suffix, found = strings.Cut(rest, ".")
	if !found || listener == "" {
		return "", "", key{}, false
	}
	e, ok = tlsKeys[suffix]
	if !ok {
		e, ok = saslListenerKeys[suffix] // sasl.go
	}
	return strings.ToUpper(listener), suffix, e, ok
}

// PerListenerKey is how Destinations and docs/configuration.md name the
// per-listener form of key.
func PerListenerKey(key string) string { return listenerPrefix + "<listener>." + key }

// lookup is the value of the ssl key for listener: its
// listener.name.<listener>. override, else the global key; src is the key
// the value came from.
func (c *Config) lookup(listener, k string) (v, src string, ok bool) {
	if o, found := c.ListenerOverrides[listener][k]; found {
		return o, listenerPrefix + strings.ToLower(listener) + "." + k, true
	}
	v, ok = c.Set[k]
	return v, k, ok
}

func isTLSProtocol(p string) bool { return p == "SSL" || p == "SASL_SSL" }

// resolveSecurity builds the TLS settings of every TLS listener and the
// client side of the inter-broker and controller listeners.
func (c *Config) resolveSecurity() error {
	c.ListenerTLS = nil
	c.InterBrokerSecurity, c.ControllerSecurity = network.ClientSecurity{}, network.ClientSecurity{}
	for _, l := range c.Listeners {
		if !isTLSProtocol(c.ListenerSecurityProtocolMap[l.Name]) {
			continue
		}
		st, err := c.tlsSettings(l.Name, true)
		if err != nil {
			return err
		}
		if _, err := st.Server(); err != nil {
			return inconsistent("listener %s (%s): %v", l.Name, c.ListenerSecurityProtocolMap[l.Name], err)
		}
		if c.HasRole(RoleController) && len(c.ControllerListenerNames) > 0 && l.Name == c.ControllerListenerNames[0] && st.TrustPEM == nil {
			return inconsistent("listener %s is the controller listener and SSL: raft between controllers then runs over TLS with client "+
				"certificates required, which needs a truststore; set ssl.truststore.location (or %s)",
				l.Name, listenerPrefix+strings.ToLower(l.Name)+".ssl.truststore.location")
		}
		if c.ListenerTLS == nil {
			c.ListenerTLS = map[string]network.TLSSettings{}
		}
		c.ListenerTLS[l.Name] = st
	}
	client := func(name string) (network.ClientSecurity, error) {
		if !isTLSProtocol(c.ListenerSecurityProtocolMap[name]) {
			return network.ClientSecurity{}, nil
		}
		st, err := c.tlsSettings(name, false)
		if err != nil {
			return network.ClientSecurity{}, err
		}
		cfg, err := st.Client()
		if err != nil {
			return network.ClientSecurity{}, inconsistent("dialling listener %s: %v", name, err)
		}
		return network.ClientSecurity{TLS: cfg}, nil
	}
	var err error
	if c.HasRole(RoleBroker) && c.InterBrokerListenerName != "" {
		if c.InterBrokerSecurity, err = client(c.InterBrokerListenerName); err != nil {
			return err
		}
	}
	if len(c.ControllerListenerNames) > 0 {
		if c.ControllerSecurity, err = client(c.ControllerListenerNames[0]); err != nil {
			return err
		}
	}
	return nil
}

// tlsSettings reads the ssl keys of listener; a server needs a keystore.
func (c *Config) tlsSettings(listener string, server bool) (network.TLSSettings, error) {
	var st network.TLSSettings
	proto := c.ListenerSecurityProtocolMap[listener]
	bad := func(src, v, format string, args ...any) error {
		return fmt.Errorf("%w %q for %s (listener %s, %s): %s", ErrInvalidValue, shorten(v), src, listener, proto, fmt.Sprintf(format, args...))
	}

	loc, locSrc, hasLoc := c.lookup(listener, "ssl.keystore.location")
	chain, chainSrc, hasChain := c.lookup(listener, "ssl.keystore.certificate.chain")
	keyPEM, keySrc, hasKey := c.lookup(listener, "ssl.keystore.key")
	switch {
	case hasLoc && (hasChain || hasKey):
		return st, inconsistent("listener %s: %s and %s/%s are both set; give the keystore one way", listener, locSrc, chainSrc, keySrc)
	case hasChain != hasKey:
		return st, inconsistent("listener %s: %s and %s go together; one is missing", listener, chainSrc, keySrc)
	case hasLoc:
		data, err := os.ReadFile(loc)
		if err != nil {
			return st, bad(locSrc, loc, "%v", err)
		}
		blocks := pemBlocks(data)
		for _, b := range blocks {
			switch {
			case b.Type == "CERTIFICATE":
				st.CertChainPEM = append(st.CertChainPEM, pem.EncodeToMemory(b)...)
			case strings.HasSuffix(b.Type, "PRIVATE KEY"):
				if st.KeyPEM != nil {
					return st, bad(locSrc, loc, "holds more than one private key")
				}
				st.KeyPEM = pem.EncodeToMemory(b)
			}
		}
		if st.CertChainPEM == nil || st.KeyPEM == nil {
			return st, bad(locSrc, loc, "a PEM keystore file holds the private key and the certificate chain (found %d PEM blocks, key %v, certificates %v)",
				len(blocks), st.KeyPEM != nil, st.CertChainPEM != nil)
		}
		keySrc = locSrc
	case hasChain:
		for _, b := range pemBlocks([]byte(chain)) {
			if b.Type == "CERTIFICATE" {
				st.CertChainPEM = append(st.CertChainPEM, pem.EncodeToMemory(b)...)
			}
		}
		if st.CertChainPEM == nil {
			return st, bad(chainSrc, chain, "no PEM CERTIFICATE in it")
		}
		blocks := pemBlocks([]byte(keyPEM))
		if len(blocks) != 1 || !strings.HasSuffix(blocks[0].Type, "PRIVATE KEY") {
			return st, bad(keySrc, "(hidden)", "want exactly one PEM PRIVATE KEY")
		}
		st.KeyPEM = pem.EncodeToMemory(blocks[0])
	case server:
		return st, inconsistent("listener %s is %s in listener.security.protocol.map but has no keystore: set ssl.keystore.location "+
			"(or ssl.keystore.certificate.chain and ssl.keystore.key), globally or as %s",
			listener, proto, listenerPrefix+strings.ToLower(listener)+".ssl.keystore.location")
	}
	if st.KeyPEM != nil {
		k, err := c.loadKey(listener, st.KeyPEM, keySrc)
		if err != nil {
			return st, err
		}
		st.KeyPEM = k
	}

	tloc, tlocSrc, hasTLoc := c.lookup(listener, "ssl.truststore.location")
	certs, certsSrc, hasCerts := c.lookup(listener, "ssl.truststore.certificates")
	var trust []byte
	switch {
	case hasTLoc && hasCerts:
		return st, inconsistent("listener %s: %s and %s are both set; give the truststore one way", listener, tlocSrc, certsSrc)
	case hasTLoc:
		data, err := os.ReadFile(tloc)
		if err != nil {
			return st, bad(tlocSrc, tloc, "%v", err)
		}
		trust, certsSrc = data, tlocSrc
	case hasCerts:
		trust = []byte(certs)
	}
	if hasTLoc || hasCerts {
		for _, b := range pemBlocks(trust) {
			if b.Type == "CERTIFICATE" {
				st.TrustPEM = append(st.TrustPEM, pem.EncodeToMemory(b)...)
			}
		}
		if st.TrustPEM == nil {
			return st, bad(certsSrc, string(trust), "no PEM CERTIFICATE in it")
		}
	}
	if v, _, ok := c.lookup(listener, "ssl.client.auth"); ok {
		st.ClientAuth = v
	}
	if v, _, ok := c.lookup(listener, "ssl.enabled.protocols"); ok {
		st.Protocols = splitList(v)
	}
	if v, _, ok := c.lookup(listener, "ssl.endpoint.identification.algorithm"); ok && v == "" {
		st.NoHostnameVerification = true
	}
	return st, nil
}

// loadKey returns the key as unencrypted PEM: an encrypted PKCS#8 key
// (ENCRYPTED PRIVATE KEY, PBES2 as openssl pkcs8 -topk8 writes it) is
// decrypted with ssl.key.password (network.DecryptPKCS8PEM). Refused:
// legacy OpenSSL PEM encryption (Proc-Type: 4,ENCRYPTED, which Kafka does
// not read either), an encrypted key without a password, and a password
// given for a key that is not encrypted.
func (c *Config) loadKey(listener string, keyPEM []byte, keySrc string) ([]byte, error) {
	b, _ := pem.Decode(keyPEM)
	pw, pwSrc, hasPw := c.lookup(listener, "ssl.key.password")
	switch {
	case b.Headers["Proc-Type"] != "":
		return nil, inconsistent("listener %s: the key in %s uses legacy PEM encryption (Proc-Type), which zkraft (like Kafka) does not read; "+
			"convert it to PKCS#8 (openssl pkcs8 -topk8 -in key.pem -out key8.pem) and set ssl.key.password", listener, keySrc)
	case b.Type == "ENCRYPTED PRIVATE KEY" && hasPw:
		k, err := network.DecryptPKCS8PEM(b, pw)
		if err != nil {
			return nil, inconsistent("listener %s: the key in %s does not decrypt with %s: %v", listener, keySrc, pwSrc, err)
		}
		return k, nil
	case b.Type == "ENCRYPTED PRIVATE KEY":
		return nil, inconsistent("listener %s: the key in %s is encrypted (%s) and no ssl.key.password is set", listener, keySrc, b.Type)
	case hasPw:
		return nil, inconsistent("listener %s: %s is set but the key in %s is not encrypted; remove %s", listener, pwSrc, keySrc, pwSrc)
	}
	return keyPEM, nil
}

// pemRE finds PEM blocks whatever their line breaks: a properties value
// continued over lines with a trailing backslash arrives as one line.
var pemRE = regexp.MustCompile(`-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----`)

// pemBlocks decodes the PEM blocks of data, tolerating values whose line
// breaks were lost or replaced by spaces.
func pemBlocks(data []byte) []*pem.Block {
	var out []*pem.Block
	rest := data
	for {
		b, r := pem.Decode(rest)
		if b == nil {
			break
		}
		out = append(out, b)
		rest = r
	}
	if len(out) > 0 {
		return out
	}
	for _, m := range pemRE.FindAllSubmatch(data, -1) {
		if string(m[1]) != string(m[3]) {
			continue
		}
		body := strings.Join(strings.Fields(string(m[2])), "")
		der, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			continue
		}
		out = append(out, &pem.Block{Type: string(m[1]), Bytes: der})
	}
	return out
}

// shorten keeps error messages readable when a value is an inline PEM.
func shorten(v string) string {
	if len(v) > 64 {
		return v[:61] + "..."
	}
	return v
}
