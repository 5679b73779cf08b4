package config

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	ksasl "github.com/twmb/franz-go/pkg/sasl"
	kplain "github.com/twmb/franz-go/pkg/sasl/plain"
	kscram "github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/zkraft/zkraft/broker/sasl"
)

// SASL keys. sasl.enabled.mechanisms may be given per listener
// (listener.name.<listener>.sasl.enabled.mechanisms), the JAAS entries only
// per listener and mechanism (listener.name.<listener>.<mechanism in lower
// case>.sasl.jaas.config, as Kafka requires of brokers) or globally
// (sasl.jaas.config, the fallback of every listener). They are read per
// SASL listener (SASL_PLAINTEXT, SASL_SSL) by resolveSASL.

// SASL mechanisms zkraft serves (Kafka's names).
const (
	MechanismPlain       = "PLAIN"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
)

var supportedMechanisms = []string{MechanismPlain, MechanismScramSHA256, MechanismScramSHA512}

// ListenerSASL is a SASL listener's resolved configuration.
type ListenerSASL struct {
	// Mechanisms are the enabled mechanisms zkraft serves, in the order
	// given.
	Mechanisms []string
	// PlainUsers are the PLAIN users (user_<name>="<password>" of the
	// listener's PlainLoginModule entry); nil unless PLAIN is enabled.
	PlainUsers map[string]string
}

// saslServerDest is where the server-side SASL keys go: the broker
// listeners (broker/server builds the mechanisms from them).
var saslServerDest = to("server.Listeners")

func jaasValue(module string) setter {
	return func(_ *builder, v string) error {
		c, err := sasl.ParseJaasConfig(v)
		if err != nil {
			return err
		}
		if module != "" && c.LoginModule != module {
			return fmt.Errorf("login module %s, want %s", c.LoginModule, module)
		}
		return nil
	}
}

func mechanismList(_ *builder, v string) error {
	if len(splitList(v)) == 0 {
		return errors.New("empty")
	}
	return nil
}

// ScramLoginModule is the JAAS login module of SASL/SCRAM.
const ScramLoginModule = "org.apache.kafka.common.security.scram.ScramLoginModule"

// saslListenerKeys are the SASL keys valid after listener.name.<l>.
var saslListenerKeys = map[string]key{
	"sasl.enabled.mechanisms": {mechanismList, saslServerDest},
	"plain.sasl.jaas.config":  {jaasValue(sasl.PlainLoginModule), append(slices.Clone(saslServerDest), "replica.Security")},
	// A SCRAM listener's server side needs no JAAS entry (credentials are
	// metadata); the entry's username and password are what this broker
	// authenticates with when it dials that listener.
	"scram-sha-256.sasl.jaas.config": {jaasValue(ScramLoginModule), to("replica.Security")},
	"scram-sha-512.sasl.jaas.config": {jaasValue(ScramLoginModule), to("replica.Security")},
}

func init() {
	keys["sasl.enabled.mechanisms"] = key{mechanismList, saslServerDest}
	keys["sasl.jaas.config"] = key{jaasValue(""), append(slices.Clone(saslServerDest), "replica.Security")}
	keys["sasl.server.max.receive.size"] = key{intKey(1, math.MaxInt32, func(b *builder, n int64) { b.SASLServerMaxReceiveSize = int32(n) }),
		to("network.SASLMaxReceiveSize")}
	keys["sasl.mechanism.inter.broker.protocol"] = key{func(_ *builder, v string) error {
		if v == "" {
			return errors.New("empty")
		}
		return nil
	}, to("replica.Security")}
}

func isSASLProtocol(p string) bool { return p == "SASL_PLAINTEXT" || p == "SASL_SSL" }

// jaasFor is the JAAS entry of mechanism on listener and the key it came
// from: listener.name.<l>.<mech>.sasl.jaas.config, else sasl.jaas.config.
func (c *Config) jaasFor(listener, mech string) (sasl.JaasConfig, string, bool, error) {
	v, src, ok := c.lookup(listener, strings.ToLower(mech)+".sasl.jaas.config")
	if !ok {
		v, ok = c.Set["sasl.jaas.config"]
		src = "sasl.jaas.config"
	}
	if !ok {
		return sasl.JaasConfig{}, "", false, nil
	}
	j, err := sasl.ParseJaasConfig(v)
	if err != nil {
		return j, src, true, fmt.Errorf("%w for %s: %v", ErrInvalidValue, src, err)
	}
	return j, src, true, nil
}

// resolveSASL reads the SASL keys of every SASL listener into ListenerSASL,
// and the client side of a SASL inter-broker listener into
// InterBrokerSecurity.SASL.
func (c *Config) resolveSASL() error {
	c.ListenerSASL = nil
	for _, l := range c.Listeners {
		proto := c.ListenerSecurityProtocolMap[l.Name]
		if !isSASLProtocol(proto) {
			continue
		}
		if slices.Contains(c.ControllerListenerNames, l.Name) {
			return inconsistent("listener %s is a controller listener (controller.listener.names) and %s in listener.security.protocol.map; "+
				"zkraft's controller listeners speak PLAINTEXT or SSL", l.Name, proto)
		}
		v, src, ok := c.lookup(l.Name, "sasl.enabled.mechanisms")
		mechs := []string{"GSSAPI"} // Kafka's default
		if ok {
			mechs = splitList(v)
		} else {
			src = "sasl.enabled.mechanisms (default GSSAPI)"
		}
		var ls ListenerSASL
		for _, m := range mechs {
			m = strings.ToUpper(m)
			if slices.Contains(supportedMechanisms, m) && !slices.Contains(ls.Mechanisms, m) {
				ls.Mechanisms = append(ls.Mechanisms, m)
			}
		}
		if len(ls.Mechanisms) == 0 {
			return inconsistent("listener %s is %s but %s enables only %s, which zkraft does not serve; set %s to some of %s",
				l.Name, proto, src, strings.Join(mechs, ","), PerListenerKey("sasl.enabled.mechanisms"), strings.Join(supportedMechanisms, ", "))
		}
		if slices.Contains(ls.Mechanisms, MechanismPlain) {
			j, jsrc, ok, err := c.jaasFor(l.Name, MechanismPlain)
			if err != nil {
				return err
			}
			if !ok {
				return inconsistent("listener %s enables PLAIN but has no users: set %s to %s required user_<name>=\"<password>\" ...;",
					l.Name, listenerPrefix+strings.ToLower(l.Name)+".plain.sasl.jaas.config", sasl.PlainLoginModule)
			}
			if ls.PlainUsers, err = j.PlainUsers(); err != nil {
				return fmt.Errorf("%w for %s (listener %s enables PLAIN): %v", ErrInvalidValue, jsrc, l.Name, err)
			}
		}
		if c.ListenerSASL == nil {
			c.ListenerSASL = map[string]ListenerSASL{}
		}
		c.ListenerSASL[l.Name] = ls
	}
	if c.HasRole(RoleBroker) && isSASLProtocol(c.ListenerSecurityProtocolMap[c.InterBrokerListenerName]) {
		m, err := c.interBrokerMechanism()
		if err != nil {
			return err
		}
		c.InterBrokerSecurity.SASL = m
	}
	return nil
}

// interBrokerMechanism is the franz-go mechanism this broker dials the
// inter-broker listener with: sasl.mechanism.inter.broker.protocol
// (Kafka's default GSSAPI is not served), with the username and password
// of that mechanism's JAAS entry for the listener.
func (c *Config) interBrokerMechanism() (ksasl.Mechanism, error) {
	l := c.InterBrokerListenerName
	mech, ok := c.Set["sasl.mechanism.inter.broker.protocol"]
	if !ok {
		return nil, inconsistent("inter.broker.listener.name=%s is %s: set sasl.mechanism.inter.broker.protocol to one of its mechanisms (Kafka's default GSSAPI is not served)",
			l, c.ListenerSecurityProtocolMap[l])
	}
	if !slices.Contains(c.ListenerSASL[l].Mechanisms, mech) {
		return nil, inconsistent("sasl.mechanism.inter.broker.protocol=%s is not enabled on inter.broker.listener.name=%s (%s)",
			mech, l, strings.Join(c.ListenerSASL[l].Mechanisms, ","))
	}
	j, _, ok, err := c.jaasFor(l, mech)
	if err != nil {
		return nil, err
	}
	user, pass := j.Options["username"], j.Options["password"]
	if !ok || user == "" || pass == "" {
		return nil, inconsistent("inter.broker.listener.name=%s with sasl.mechanism.inter.broker.protocol=%s: the broker's own username and password "+
			"go in %s as username=\"...\" password=\"...\"", l, mech, listenerPrefix+strings.ToLower(l)+"."+strings.ToLower(mech)+".sasl.jaas.config")
	}
	return clientMechanism(mech, user, pass), nil
}

// clientMechanism is franz-go's client side of mech, one of
// supportedMechanisms.
func clientMechanism(mech, user, pass string) ksasl.Mechanism {
	switch mech {
	case MechanismPlain:
		return kplain.Auth{User: user, Pass: pass}.AsMechanism()
	case MechanismScramSHA256:
		return kscram.Auth{User: user, Pass: pass}.AsSha256Mechanism()
	default:
		return kscram.Auth{User: user, Pass: pass}.AsSha512Mechanism()
	}
}
