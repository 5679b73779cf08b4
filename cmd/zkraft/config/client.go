package config

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/zkraft/zkraft/metadata/network"
)

// clientListener names the one "listener" of a client configuration in
// the messages of the TLS checks it shares with the broker's listeners.
const clientListener = "COMMAND-CONFIG"

// clientKeys are the Kafka client keys LoadClient reads; a tool's
// --command-config may hold others (client.id, timeouts...), which do not
// concern how it dials and are ignored.
var clientKeys = []string{"security.protocol", "sasl.mechanism", "sasl.jaas.config",
	"ssl.keystore.type", "ssl.keystore.location", "ssl.keystore.certificate.chain", "ssl.keystore.key", "ssl.key.password",
	"ssl.truststore.type", "ssl.truststore.location", "ssl.truststore.certificates",
	"ssl.enabled.protocols", "ssl.endpoint.identification.algorithm"}

// LoadClient reads a Kafka client properties file, as the Kafka tools'
// --command-config takes it, into how a zkraft tool dials the cluster:
// security.protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), the PEM
// ssl.* keys (KIP-651; a keystore makes it a client certificate), and
// sasl.mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512) with the username
// and password of sasl.jaas.config. Errors name the key and value.
func LoadClient(path string) (network.ClientSecurity, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return network.ClientSecurity{}, fmt.Errorf("--command-config: %w", err)
	}
	props, err := Parse(data, path)
	if err != nil {
		return network.ClientSecurity{}, err
	}
	c := &Config{Set: map[string]string{}}
	for _, p := range props {
		if slices.Contains(clientKeys, p.Key) || strings.HasPrefix(p.Key, "ssl.") || strings.HasPrefix(p.Key, "sasl.") {
			if !slices.Contains(clientKeys, p.Key) {
				return network.ClientSecurity{}, fmt.Errorf("%w: %s in %s: not a client security key zkraft reads (want one of %s)",
					ErrUnknownKey, p.Key, path, strings.Join(clientKeys, ", "))
			}
			c.Set[p.Key] = p.Value
		}
	}
	return c.clientSecurity(path)
}

func (c *Config) clientSecurity(path string) (network.ClientSecurity, error) {
	var sec network.ClientSecurity
	proto := "PLAINTEXT"
	if v, ok := c.Set["security.protocol"]; ok {
		proto = strings.ToUpper(v)
	}
	if !slices.Contains(securityProtocols, proto) {
		return sec, fmt.Errorf("%w %q for security.protocol in %s (want one of %s)", ErrInvalidValue, proto, path, strings.Join(securityProtocols, ", "))
	}
	for _, k := range []string{"ssl.keystore.type", "ssl.truststore.type"} {
		if v, ok := c.Set[k]; ok && v != "PEM" {
			return sec, fmt.Errorf("%w %q for %s in %s: zkraft reads PEM stores only (KIP-651)", ErrInvalidValue, v, k, path)
		}
	}
	c.ListenerSecurityProtocolMap = map[string]string{clientListener: proto}
	if isTLSProtocol(proto) {
		st, err := c.tlsSettings(clientListener, false)
		if err != nil {
			return sec, fmt.Errorf("%s: %w", path, err)
		}
		if sec.TLS, err = st.Client(); err != nil {
			return sec, fmt.Errorf("%s: %w", path, err)
		}
	}
	if isSASLProtocol(proto) {
		mech, ok := c.Set["sasl.mechanism"]
		if !ok || !slices.Contains(supportedMechanisms, mech) {
			return sec, fmt.Errorf("%w %q for sasl.mechanism in %s: security.protocol=%s needs one of %s (Kafka's default GSSAPI is not supported)",
				ErrInvalidValue, mech, path, proto, strings.Join(supportedMechanisms, ", "))
		}
		j, src, ok, err := c.jaasFor(clientListener, mech)
		if err != nil {
			return sec, fmt.Errorf("%s: %w", path, err)
		}
		user, pass := j.Options["username"], j.Options["password"]
		if !ok || user == "" || pass == "" {
			return sec, fmt.Errorf("%w: %s in %s: sasl.mechanism=%s needs username=\"...\" password=\"...\" in sasl.jaas.config",
				ErrInvalidValue, src, path, mech)
		}
		sec.SASL = clientMechanism(mech, user, pass)
	}
	return sec, nil
}
