package server

import (
	"fmt"
	"slices"

	"github.com/zkraft/zkraft/broker/sasl"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

// SASL mechanism names a Listener may enable.
const (
	MechanismPlain = "PLAIN"
)

// saslOptions are the network options of l: WithSASL with its mechanisms,
// SCRAM credentials looked up in img() at each authentication (the
// broker's current image, in every metadata mode), PLAIN against
// l.PlainUsers. None for a listener without mechanisms.
func saslOptions(l Listener, img func() *metadata.Image) ([]network.ListenOption, error) {
	if len(l.SASLMechanisms) == 0 {
		return nil, nil
	}
	lookup := func(user string, m metadata.ScramMechanism) (*metadata.ScramCredential, bool) {
		return img().ScramCredential(user, m)
	}
	var mechs []network.SASLMechanism
	for _, name := range l.SASLMechanisms {
		if name == MechanismPlain {
			mechs = append(mechs, plainMechanism{sasl.NewPlainServer(l.PlainUsers)})
			continue
		}
		m, ok := metadata.ParseScramMechanism(name)
		if !ok {
			return nil, fmt.Errorf("%w: listener %s: SASL mechanism %q (want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", ErrInvalidConfig, l.Name, name)
		}
		s, err := sasl.NewScramServer(m, lookup)
		if err != nil {
			return nil, fmt.Errorf("listener %s: %w", l.Name, err)
		}
		mechs = append(mechs, scramMechanism{s})
	}
	return []network.ListenOption{network.WithSASL(mechs...)}, nil
}

func validSASLMechanism(name string) bool {
	_, scram := metadata.ParseScramMechanism(name)
	return scram || name == MechanismPlain
}

// plainMechanism adapts sasl.PlainServer (one message) to network's
// exchange.
type plainMechanism struct{ s *sasl.PlainServer }

var _ network.SASLMechanism = plainMechanism{}

func (plainMechanism) Name() string { return MechanismPlain }

func (m plainMechanism) Start() network.SASLExchange { return &plainExchange{s: m.s} }

type plainExchange struct {
	s         *sasl.PlainServer
	principal string
}

func (e *plainExchange) Step(tok []byte) ([]byte, bool, error) {
	p, err := e.s.Authenticate(tok)
	if err != nil {
		return nil, false, err
	}
	e.principal = p
	return nil, true, nil
}

func (e *plainExchange) Principal() string { return e.principal }

// scramMechanism adapts sasl.ScramServer; its Conversation is already an
// exchange.
type scramMechanism struct{ s *sasl.ScramServer }

var (
	_ network.SASLMechanism = scramMechanism{}
	_ network.SASLExchange  = (*sasl.Conversation)(nil)
)

func (m scramMechanism) Name() string { return m.s.Mechanism().String() }

func (m scramMechanism) Start() network.SASLExchange { return m.s.Start() }

// checkSASL validates a listener's SASL fields.
func checkSASL(l Listener) error {
	for i, m := range l.SASLMechanisms {
		if !validSASLMechanism(m) {
			return fmt.Errorf("%w: sasl.enabled.mechanisms: listener %s: %q is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", ErrInvalidConfig, l.Name, m)
		}
		if slices.Contains(l.SASLMechanisms[:i], m) {
			return fmt.Errorf("%w: sasl.enabled.mechanisms: listener %s: %s given twice", ErrInvalidConfig, l.Name, m)
		}
	}
	return nil
}
