package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zkraft/zkraft/metadata/network/tlstest"
)

func TestLoadClient(t *testing.T) {
	dir := t.TempDir()
	ca, err := tlstest.NewCA("client-test-ca")
	if err != nil {
		t.Fatal(err)
	}
	caPath := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caPath, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(lines ...string) string {
		p := filepath.Join(dir, "client.properties")
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	scramJaas := `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="admin-secret";`

	sec, err := LoadClient(write("security.protocol=SASL_SSL", "sasl.mechanism=SCRAM-SHA-512", scramJaas,
		"ssl.truststore.type=PEM", "ssl.truststore.location="+caPath, "client.id=tool"))
	if err != nil {
		t.Fatal(err)
	}
	if sec.Protocol() != "SASL_SSL" || sec.SASL.Name() != "SCRAM-SHA-512" || sec.TLS == nil || sec.TLS.RootCAs == nil {
		t.Fatalf("SASL_SSL: %s %+v", sec.Protocol(), sec)
	}
	if sec, err := LoadClient(write("client.id=tool")); err != nil || sec.Protocol() != "PLAINTEXT" {
		t.Fatalf("no security keys: %s %v", sec.Protocol(), err)
	}

	for _, c := range []struct {
		name  string
		lines []string
		is    error
		want  string
	}{
		{"unknown protocol", []string{"security.protocol=TLS"}, ErrInvalidValue, `"TLS" for security.protocol`},
		{"GSSAPI default", []string{"security.protocol=SASL_PLAINTEXT", scramJaas}, ErrInvalidValue, "Kafka's default GSSAPI is not supported"},
		{"no password", []string{"security.protocol=SASL_PLAINTEXT", "sasl.mechanism=PLAIN",
			`sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="a";`}, ErrInvalidValue, `needs username="..." password="..."`},
		{"JKS", []string{"security.protocol=SSL", "ssl.truststore.type=JKS"}, ErrInvalidValue, "PEM stores only"},
		{"unknown ssl key", []string{"security.protocol=SSL", "ssl.trustore.location=" + caPath}, ErrUnknownKey, "ssl.trustore.location"},
		{"truststore twice", []string{"security.protocol=SSL", "ssl.truststore.location=" + caPath, "ssl.truststore.certificates=x"}, nil, "give the truststore one way"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadClient(write(c.lines...))
			if err == nil || (c.is != nil && !errors.Is(err, c.is)) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want %v containing %q", err, c.is, c.want)
			}
		})
	}
}
