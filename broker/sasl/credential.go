package sasl

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"fmt"

	"github.com/xdg-go/scram"

	"github.com/zkraft/zkraft/metadata"
)

// hashOf is the hash of a mechanism (RFC 7677 SHA-256; Kafka's SHA-512).
func hashOf(m metadata.ScramMechanism) (scram.HashGeneratorFcn, error) {
	h := metadata.ScramHash(m)
	if h == nil {
		return nil, fmt.Errorf("mechanism %s: %w", m, ErrInvalidCredential)
	}
	return scram.HashGeneratorFcn(h), nil
}

func checkIterations(iterations int32) error {
	if iterations < metadata.ScramMinIterations || iterations > metadata.ScramMaxIterations {
		return fmt.Errorf("iterations %d outside %d..%d: %w", iterations,
			metadata.ScramMinIterations, metadata.ScramMaxIterations, ErrInvalidCredential)
	}
	return nil
}

// CredentialFromSaltedPassword is what AlterUserScramCredentials stores
// for an upsertion (Kafka's ScramFormatter): StoredKey =
// H(HMAC(SaltedPassword, "Client Key")), ServerKey = HMAC(SaltedPassword,
// "Server Key") (RFC 5802 §3), computed by metadata.DeriveScramCredential
// (which the controllers' AlterScramCredentials uses too) after checking
// the mechanism, Kafka's iteration bounds and the sizes. The client sends
// the salt and the salted password; the password never reaches the broker.
func CredentialFromSaltedPassword(m metadata.ScramMechanism, salt, saltedPassword []byte, iterations int32) (*metadata.ScramCredential, error) {
	h, err := hashOf(m)
	if err != nil {
		return nil, err
	}
	if err := checkIterations(iterations); err != nil {
		return nil, err
	}
	if len(salt) == 0 {
		return nil, fmt.Errorf("empty salt: %w", ErrInvalidCredential)
	}
	if len(saltedPassword) != h().Size() {
		return nil, fmt.Errorf("salted password of %d bytes for %s (want %d): %w", len(saltedPassword), m, h().Size(), ErrInvalidCredential)
	}
	return metadata.DeriveScramCredential(m, salt, saltedPassword, iterations)
}

// SaltedPassword is Hi(password, salt, iterations) (RFC 5802 §2.2:
// PBKDF2 with HMAC over the mechanism's hash), what a client sends in
// AlterUserScramCredentials.
func SaltedPassword(m metadata.ScramMechanism, password string, salt []byte, iterations int32) ([]byte, error) {
	h, err := hashOf(m)
	if err != nil {
		return nil, err
	}
	if err := checkIterations(iterations); err != nil {
		return nil, err
	}
	return pbkdf2.Key(h, password, salt, int(iterations), h().Size())
}

// CredentialFromPassword derives a credential from a password with the
// library's client-side key derivation, with salt (a fresh 32-byte random
// salt when nil). The password is used as its UTF-8 bytes, without
// SASLprep, as Kafka's ScramFormatter and its clients do.
// Used to provision users (tests, a bootstrap from configuration).
func CredentialFromPassword(m metadata.ScramMechanism, user, password string, salt []byte, iterations int32) (*metadata.ScramCredential, error) {
	h, err := hashOf(m)
	if err != nil {
		return nil, err
	}
	if err := checkIterations(iterations); err != nil {
		return nil, err
	}
	if salt == nil {
		salt = make([]byte, 32)
		if _, err := rand.Read(salt); err != nil {
			return nil, fmt.Errorf("scram salt: %w", err)
		}
	}
	c, err := h.NewClientUnprepped(user, password, "")
	if err != nil {
		return nil, fmt.Errorf("scram credential: %v: %w", err, ErrInvalidCredential)
	}
	sc, err := c.GetStoredCredentialsWithError(scram.KeyFactors{Salt: string(salt), Iters: int(iterations)})
	if err != nil {
		return nil, fmt.Errorf("scram credential: %v: %w", err, ErrInvalidCredential)
	}
	return &metadata.ScramCredential{Salt: append([]byte{}, salt...), StoredKey: sc.StoredKey, ServerKey: sc.ServerKey,
		Iterations: iterations}, nil
}
