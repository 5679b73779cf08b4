package bench

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/zkraft/zkraft/metadata/network/tlstest"
)

// Security protocols `bench produce --security-protocols` measures a spawned zkraft broker
// with. Each non-PLAINTEXT protocol is a target of its own, "zkraft/SSL" and
// "zkraft/SASL_SSL", run in alternation with the PLAINTEXT "zkraft" runs; the summary gives
// each one's throughput and CPU per GiB as a ratio to PLAINTEXT, median over the pairs.
const (
	ProtocolPlaintext = "PLAINTEXT"
	ProtocolSSL       = "SSL"
	ProtocolSASLSSL   = "SASL_SSL" // PLAIN over TLS, one user
)

var benchProtocols = []string{ProtocolPlaintext, ProtocolSSL, ProtocolSASLSSL}

// benchSASLUser is the SASL_SSL listener's one PLAIN user.
const benchSASLUser, benchSASLPass = "bench", "bench-secret"

// protocolTargets are the targets of a produce run over protocols: zkraft (PLAINTEXT) first,
// then zkraft/<protocol> for the others.
func protocolTargets(protocols []string) []string {
	out := []string{TargetZkraft}
	for _, p := range benchProtocols[1:] {
		if slices.Contains(protocols, p) {
			out = append(out, TargetZkraft+"/"+p)
		}
	}
	return out
}

// splitTarget is the broker kind and security protocol of a target.
func splitTarget(tg string) (kind, protocol string) {
	kind, protocol, ok := strings.Cut(tg, "/")
	if !ok {
		protocol = ProtocolPlaintext
	}
	return kind, protocol
}

// benchPKI is a CA made for one benchmark and the broker's PEM keystore and truststore.
type benchPKI struct {
	dir    string
	client *tls.Config
}

func newBenchPKI(parent string) (*benchPKI, error) {
	dir, err := os.MkdirTemp(parent, "zkraft-bench-pki-*")
	if err != nil {
		return nil, fmt.Errorf("%w: pki dir: %w", ErrBrokerStart, err)
	}
	ca, err := tlstest.NewCA("zkraft-bench-ca")
	if err != nil {
		return nil, err
	}
	chain, key, err := ca.Issue(pkix.Name{CommonName: "zkraft-bench-broker"}, "127.0.0.1", "localhost")
	if err != nil {
		return nil, err
	}
	p := &benchPKI{dir: dir}
	if err := os.WriteFile(p.keystore(), append(append([]byte{}, key...), chain...), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(p.truststore(), ca.CertPEM, 0o600); err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM)
	p.client = &tls.Config{RootCAs: pool}
	return p, nil
}

func (p *benchPKI) keystore() string   { return filepath.Join(p.dir, "broker.pem") }
func (p *benchPKI) truststore() string { return filepath.Join(p.dir, "ca.pem") }
func (p *benchPKI) remove()            { _ = os.RemoveAll(p.dir) }

// listenerOverrides are the `serve` overrides of a secured listener named after protocol on
// addr, beside the PLAINTEXT and CONTROLLER listeners (which the readiness probe and the
// topic creation use).
func (p *benchPKI) listenerOverrides(protocol, plainAddr, secAddr, ctrlAddr string) []string {
	kv := []string{
		"listeners=PLAINTEXT://" + plainAddr + "," + protocol + "://" + secAddr + ",CONTROLLER://" + ctrlAddr,
		"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT," + protocol + ":" + protocol,
		"inter.broker.listener.name=PLAINTEXT",
		"ssl.keystore.type=PEM",
		"ssl.keystore.location=" + p.keystore(),
		"ssl.truststore.location=" + p.truststore(),
	}
	if protocol == ProtocolSASLSSL {
		kv = append(kv, "listener.name.sasl_ssl.sasl.enabled.mechanisms=PLAIN",
			fmt.Sprintf(`listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_%s="%s";`,
				benchSASLUser, benchSASLPass))
	}
	return kv
}

// clientOpts are the producer's options for protocol.
func (p *benchPKI) clientOpts(protocol string) []kgo.Opt {
	switch protocol {
	case ProtocolSSL:
		return []kgo.Opt{kgo.DialTLSConfig(p.client.Clone())}
	case ProtocolSASLSSL:
		return []kgo.Opt{kgo.DialTLSConfig(p.client.Clone()), kgo.SASL(plain.Auth{User: benchSASLUser, Pass: benchSASLPass}.AsMechanism())}
	}
	return nil
}

// protocolRatios is, per non-PLAINTEXT target, the median over pairs of its rec/s and CPU
// per GiB over those of the PLAINTEXT run of the same pair.
func protocolRatios(by map[string][]RunResult, targets []string) (tput, cpu map[string]float64) {
	base := by[TargetZkraft]
	for _, tg := range targets {
		_, proto := splitTarget(tg)
		if proto == ProtocolPlaintext {
			continue
		}
		t, c := pairRatios(by[tg], base)
		if t != nil {
			if tput == nil {
				tput = map[string]float64{}
			}
			tput[proto] = *t
		}
		if c != nil {
			if cpu == nil {
				cpu = map[string]float64{}
			}
			cpu[proto] = *c
		}
	}
	return tput, cpu
}
