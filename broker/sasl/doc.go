// Package sasl is the server side of SASL for the broker's
// SaslAuthenticate exchange: SCRAM (RFC 5802, RFC 7677) over the
// xdg-go/scram library — the credential derivation AlterUserScramCredentials
// and the bootstrap need (salted password -> stored key and server key,
// Kafka's ScramFormatter) and a conversation driver that checks a client
// against the credentials of the metadata image (Kafka's ScramSaslServer)
// — and PLAIN (RFC 4616) against the users of a PlainLoginModule
// sasl.jaas.config (ParseJaasConfig, PlainServer; Kafka's PlainSaslServer).
//
// It imports only metadata of ours. Handlers (SaslHandshake,
// SaslAuthenticate, AlterUserScramCredentials) and the network wiring use
// it; it knows nothing of connections or frames.
//
// # Goroutines
//
// None. A ScramServer is safe for concurrent use; a Conversation belongs to
// the goroutine serving one connection.
//
// # Invariants
//
//   - A conversation is two client messages (client-first, client-final)
//     and two replies (server-first, server-final). Any other sequence, a
//     message larger than MaxMessageBytes, a wrong proof, an unknown user,
//     an authorization id other than the user, channel binding or a
//     credential of another mechanism ends it with an error wrapping
//     ErrAuthenticationFailed, and Principal stays "".
//   - Nothing tells an unknown user from a wrong password: an unknown user
//     gets a server-first message with a salt derived from the user name
//     and a per-server secret and the same iteration count as real users,
//     and fails at the proof, with the same error.
//   - A client-final nonce that is the server's nonce with the client nonce
//     before it (librdkafka < 2.6.1, so kcat 1.7) is accepted, as Kafka 3.x
//     accepts a nonce ending with the server's; the proof is then checked
//     here (legacyFinal, RFC 5802's HMAC computation) because xdg-go wants
//     the exact nonce. Every other message is xdg-go's to check.
//   - Credentials are never logged or put in errors. PLAIN passwords are
//     kept as SHA-256 digests and compared in constant time.
package sasl
