package sasl

import "errors"

// Sentinel errors (prefix "sasl: ").
var (
	// ErrAuthenticationFailed: the client did not authenticate (Kafka's
	// SASL_AUTHENTICATION_FAILED). The wrapped text says why in terms
	// that never reveal whether the user exists.
	ErrAuthenticationFailed = errors.New("sasl: authentication failed")
	// ErrInvalidCredential: a credential cannot be derived (unknown
	// mechanism, iterations out of Kafka's 4096..16384, empty salt or
	// salted password of the wrong size).
	ErrInvalidCredential = errors.New("sasl: invalid scram credential")
	// ErrInvalidJaasConfig: a sasl.jaas.config value does not parse, or
	// names another login module than the one asked for.
	ErrInvalidJaasConfig = errors.New("sasl: invalid sasl.jaas.config")
)
