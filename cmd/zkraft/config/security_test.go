package config

import (
	"errors"
	"os"
	"strings"
	"testing"
)

const tlsDir = "../testdata/tls/"

// sslNode is a combined node whose two listeners are SSL.
func sslNode(extra ...string) []string {
	return append([]string{
		"process.roles=broker,controller", "node.id=1",
		"listeners=SSL://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093",
		"listener.security.protocol.map=SSL:SSL,CONTROLLER:SSL",
		"inter.broker.listener.name=SSL", "controller.listener.names=CONTROLLER",
		"controller.quorum.voters=1@127.0.0.1:9093", "log.dirs=/tmp/x", "offsets.topic.replication.factor=1",
	}, extra...)
}

func loadProps(t *testing.T, kvs []string) (*Config, error) {
	t.Helper()
	var props []Property
	for i, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		props = append(props, Property{Key: k, Value: v, Source: "test", Line: i + 1})
	}
	return FromProperties(props)
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(tlsDir + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTLSKeys(t *testing.T) {
	c, err := loadProps(t, sslNode("ssl.keystore.location="+tlsDir+"broker.pem", "ssl.truststore.location="+tlsDir+"ca.pem",
		"listener.name.controller.ssl.client.auth=required", "ssl.enabled.protocols=TLSv1.3"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ListenerTLS) != 2 || c.ListenerTLS["SSL"].ClientAuth != "" || c.ListenerTLS["CONTROLLER"].ClientAuth != "required" {
		t.Fatalf("per-listener ssl.client.auth: %+v", c.ListenerTLS)
	}
	if got := c.ListenerTLS["SSL"].Protocols; len(got) != 1 || got[0] != "TLSv1.3" {
		t.Fatalf("ssl.enabled.protocols: %v", got)
	}
	if c.InterBrokerSecurity.TLS == nil || c.ControllerSecurity.TLS == nil || len(c.InterBrokerSecurity.TLS.Certificates) != 1 {
		t.Fatalf("client security not built: %+v %+v", c.InterBrokerSecurity, c.ControllerSecurity)
	}
	if c.InterBrokerSecurity.Protocol() != "SSL" {
		t.Fatalf("protocol %s", c.InterBrokerSecurity.Protocol())
	}

	// Inline PEM, its line breaks lost to a properties continuation.
	oneLine := func(s string) string { return strings.ReplaceAll(s, "\n", "") }
	c, err = loadProps(t, sslNode("ssl.keystore.certificate.chain="+oneLine(read(t, "broker-cert.pem")),
		"ssl.keystore.key="+oneLine(read(t, "broker-key.pem")), "ssl.truststore.certificates="+read(t, "ca.pem")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListenerTLS["SSL"].Server(); err != nil {
		t.Fatal(err)
	}
	// An encrypted PKCS#8 key (openssl pkcs8 -topk8) with ssl.key.password,
	// given for one listener.
	c, err = loadProps(t, sslNode("ssl.keystore.location="+tlsDir+"broker-encrypted.pem", "listener.name.ssl.ssl.key.password=secret",
		"listener.name.controller.ssl.keystore.location="+tlsDir+"broker.pem", "ssl.truststore.location="+tlsDir+"ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if string(c.ListenerTLS["SSL"].KeyPEM) != read(t, "broker-key.pem") {
		t.Fatal("the decrypted key is not the original")
	}
	// A plaintext inter-broker listener dials in plaintext.
	c, err = loadProps(t, []string{"broker.id=1", "zookeeper.connect=127.0.0.1:2181", "log.dirs=/tmp/x",
		"listeners=PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.1:9093", "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL",
		"listener.name.ssl.ssl.keystore.location=" + tlsDir + "broker.pem"})
	if err != nil {
		t.Fatal(err)
	}
	if c.InterBrokerSecurity.TLS != nil || len(c.ListenerTLS) != 1 {
		t.Fatalf("inter-broker %+v, TLS listeners %v", c.InterBrokerSecurity, c.ListenerTLS)
	}
}

func TestTLSKeyErrors(t *testing.T) {
	ks := "ssl.keystore.location=" + tlsDir + "broker.pem"
	for _, tc := range []struct {
		name  string
		props []string
		err   error
		want  []string
	}{
		{"no keystore", sslNode(), ErrInconsistent, []string{"listener SSL", "no keystore"}},
		{"no keystore for one listener", sslNode("listener.name.ssl.ssl.keystore.location=" + tlsDir + "broker.pem"),
			ErrInconsistent, []string{"listener CONTROLLER", "no keystore"}},
		{"JKS", sslNode(ks, "ssl.keystore.type=JKS"), ErrInvalidValue, []string{"ssl.keystore.type", `"JKS"`, "PEM"}},
		{"PKCS12 truststore", sslNode(ks, "listener.name.ssl.ssl.truststore.type=PKCS12"), ErrInvalidValue,
			[]string{"listener.name.ssl.ssl.truststore.type", `"PKCS12"`}},
		{"encrypted key, wrong password", sslNode("ssl.keystore.location="+tlsDir+"broker-encrypted.pem", "ssl.key.password=wrong"),
			ErrInconsistent, []string{"ssl.key.password", "does not decrypt", "wrong password"}},
		{"encrypted key, no password", sslNode("ssl.keystore.location=" + tlsDir + "broker-encrypted.pem"),
			ErrInconsistent, []string{"encrypted", "ssl.key.password"}},
		{"password of a plain key", sslNode(ks, "ssl.key.password=x"), ErrInconsistent, []string{"ssl.key.password", "not encrypted"}},
		{"location and inline", sslNode(ks, "ssl.keystore.certificate.chain="+read(t, "broker-cert.pem"), "ssl.keystore.key="+read(t, "broker-key.pem")),
			ErrInconsistent, []string{"ssl.keystore.location", "both"}},
		{"chain without key", sslNode("ssl.keystore.certificate.chain=" + read(t, "broker-cert.pem")), ErrInconsistent, []string{"ssl.keystore.key"}},
		{"key of another certificate", sslNode("ssl.keystore.certificate.chain="+read(t, "broker-cert.pem"), "ssl.keystore.key="+read(t, "broker2-key.pem")),
			ErrInconsistent, []string{"listener SSL", "keystore"}},
		{"missing file", sslNode("ssl.keystore.location=/nonexistent/broker.pem"), ErrInvalidValue, []string{"ssl.keystore.location", "/nonexistent/broker.pem"}},
		{"cert file only", sslNode("ssl.keystore.location=" + tlsDir + "ca.pem"), ErrInvalidValue, []string{"private key"}},
		{"TLSv1.1", sslNode(ks, "ssl.enabled.protocols=TLSv1.2,TLSv1.1"), ErrInvalidValue, []string{"ssl.enabled.protocols", "TLSv1.1"}},
		{"client auth without truststore", sslNode(ks, "ssl.client.auth=required"), ErrInconsistent, []string{"truststore"}},
		{"bad client auth", sslNode(ks, "ssl.client.auth=maybe"), ErrInvalidValue, []string{"ssl.client.auth"}},
		{"store password", sslNode(ks, "ssl.keystore.password=changeit"), ErrInvalidValue, []string{"ssl.keystore.password"}},
		{"unknown per-listener key", sslNode(ks, "listener.name.ssl.ssl.cipher.suites=X"), ErrUnknownKey, []string{"listener.name.ssl.ssl.cipher.suites"}},
		{"SASL_SSL without mechanisms", sslNode(ks, "ssl.truststore.location="+tlsDir+"ca.pem", "listener.security.protocol.map=SSL:SASL_SSL,CONTROLLER:SSL"),
			ErrInconsistent, []string{"SASL_SSL"}},
		{"SSL controller without truststore", sslNode(ks), ErrInconsistent, []string{"listener CONTROLLER", "raft", "truststore"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadProps(t, tc.props)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v does not mention %q", err, w)
				}
			}
		})
	}
}

// TestTLSControllerClient: a broker-only node and a migrating
// ZooKeeper-mode broker have no controller listener of their own, yet dial
// the controllers' SSL listener with the ssl.* keys (its
// listener.name.controller. overrides, else the global ones).
func TestTLSControllerClient(t *testing.T) {
	for name, props := range map[string][]string{
		"broker-only": {"process.roles=broker", "node.id=4", "listeners=PLAINTEXT://127.0.0.1:9092",
			"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:SSL", "controller.listener.names=CONTROLLER",
			"controller.quorum.voters=1@127.0.0.1:9093", "log.dirs=/tmp/x",
			"listener.name.controller.ssl.keystore.location=" + tlsDir + "broker2.pem",
			"listener.name.controller.ssl.truststore.location=" + tlsDir + "ca.pem"},
		"migrating ZooKeeper-mode broker": {"broker.id=4", "zookeeper.connect=127.0.0.1:2181", "listeners=PLAINTEXT://127.0.0.1:9092",
			"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:SSL", "controller.listener.names=CONTROLLER",
			"controller.quorum.voters=3000@127.0.0.1:9093", "zookeeper.metadata.migration.enable=true", "log.dirs=/tmp/x",
			"ssl.keystore.location=" + tlsDir + "broker2.pem", "ssl.truststore.location=" + tlsDir + "ca.pem"},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := loadProps(t, props)
			if err != nil {
				t.Fatal(err)
			}
			if c.ControllerSecurity.TLS == nil || len(c.ControllerSecurity.TLS.Certificates) != 1 || c.ControllerSecurity.TLS.RootCAs == nil {
				t.Fatalf("controller client: %+v", c.ControllerSecurity.TLS)
			}
			if c.InterBrokerSecurity.TLS != nil || len(c.ListenerTLS) != 0 {
				t.Fatalf("plaintext broker listener got TLS: %+v %v", c.InterBrokerSecurity, c.ListenerTLS)
			}
		})
	}
}
