package config

import (
	"reflect"
	"testing"
)

// saslNode is a combined node with a PLAINTEXT inter-broker listener and
// a SASL_PLAINTEXT client listener.
func saslNode(extra ...string) []string {
	return append([]string{
		"process.roles=broker,controller", "node.id=1",
		"listeners=PLAINTEXT://127.0.0.1:9092,CLIENTS://127.0.0.1:9094,CONTROLLER://127.0.0.1:9093",
		"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CLIENTS:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
		"controller.listener.names=CONTROLLER",
		"controller.quorum.voters=1@127.0.0.1:9093", "log.dirs=/tmp/x", "offsets.topic.replication.factor=1",
	}, extra...)
}

// TestSASLKeys: the mechanisms of a SASL listener (per-listener key over
// the global one, unsupported ones left out), PLAIN users from the
// listener's JAAS entry or sasl.jaas.config, and the inter-broker client
// built from sasl.mechanism.inter.broker.protocol and the JAAS username.
func TestSASLKeys(t *testing.T) {
	const plain = `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";`
	for _, tc := range []struct {
		name  string
		props []string
		want  ListenerSASL
	}{
		{"scram only", saslNode("sasl.enabled.mechanisms=SCRAM-SHA-512,GSSAPI"), ListenerSASL{Mechanisms: []string{"SCRAM-SHA-512"}}},
		{"per listener wins", saslNode("sasl.enabled.mechanisms=GSSAPI", "listener.name.clients.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256",
			"listener.name.clients.plain.sasl.jaas.config="+plain),
			ListenerSASL{Mechanisms: []string{"PLAIN", "SCRAM-SHA-256"}, PlainUsers: map[string]string{"admin": "admin-secret", "alice": "alice-secret"}}},
		{"global jaas", saslNode("sasl.enabled.mechanisms=PLAIN", "sasl.jaas.config="+plain),
			ListenerSASL{Mechanisms: []string{"PLAIN"}, PlainUsers: map[string]string{"admin": "admin-secret", "alice": "alice-secret"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadProps(t, tc.props)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.ListenerSASL; len(got) != 1 || !reflect.DeepEqual(got["CLIENTS"], tc.want) {
				t.Fatalf("ListenerSASL = %+v, want CLIENTS: %+v", got, tc.want)
			}
			if c.SASLServerMaxReceiveSize != 524288 || c.InterBrokerSecurity.SASL != nil {
				t.Fatalf("max receive %d, inter-broker SASL %v", c.SASLServerMaxReceiveSize, c.InterBrokerSecurity.SASL)
			}
		})
	}
	c, err := loadProps(t, saslNode("inter.broker.listener.name=CLIENTS", "sasl.enabled.mechanisms=SCRAM-SHA-512",
		"sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512", "sasl.server.max.receive.size=1000",
		`listener.name.clients.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="pw";`))
	if err != nil {
		t.Fatal(err)
	}
	if m := c.InterBrokerSecurity.SASL; m == nil || m.Name() != "SCRAM-SHA-512" || c.SASLServerMaxReceiveSize != 1000 {
		t.Fatalf("inter-broker SASL %v, max receive %d", m, c.SASLServerMaxReceiveSize)
	}
}
