package metadata

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"slices"
)

// This file is the pure controller logic of AlterUserScramCredentials
// (Kafka's ScramControlManager.alterCredentials) and the credential
// derivation it needs (Kafka's ScramFormatter).

// ScramHash returns the hash of a mechanism (SHA-256 for SCRAM-SHA-256,
// SHA-512 for SCRAM-SHA-512), nil for an unknown one.
func ScramHash(m ScramMechanism) func() hash.Hash {
	switch m {
	case ScramSHA256:
		return sha256.New
	case ScramSHA512:
		return sha512.New
	}
	return nil
}

// DeriveScramCredential turns a salted password (what a client sends in
// AlterUserScramCredentials: Hi(password, salt, iterations)) into the
// stored credential: StoredKey = H(HMAC(SaltedPassword, "Client Key")),
// ServerKey = HMAC(SaltedPassword, "Server Key") (RFC 5802 §3). The
// mechanism must be known; the caller checks the rest.
func DeriveScramCredential(m ScramMechanism, salt, saltedPassword []byte, iterations int32) (*ScramCredential, error) {
	h := ScramHash(m)
	if h == nil {
		return nil, fmt.Errorf("scram credential: mechanism %s: %w", m, ErrUnsupportedSaslMechanism)
	}
	mac := func(msg string) []byte {
		m := hmac.New(h, saltedPassword)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	stored := h()
	stored.Write(mac("Client Key"))
	return &ScramCredential{Salt: slices.Clone(salt), StoredKey: stored.Sum(nil), ServerKey: mac("Server Key"),
		Iterations: iterations}, nil
}

// ScramUpsertion is one AlterUserScramCredentials upsertion.
type ScramUpsertion struct {
	Name           string
	Mechanism      ScramMechanism
	Iterations     int32
	Salt           []byte
	SaltedPassword []byte
}

// ScramDeletion is one AlterUserScramCredentials deletion.
type ScramDeletion struct {
	Name      string
	Mechanism ScramMechanism
}

// ScramAlterResult is the outcome for one user of the request.
type ScramAlterResult struct {
	User string
	Err  error // nil = altered
}

// AlterScramCredentials validates a request as Kafka's
// ScramControlManager does and returns the records of the users that pass
// and one result per user, in the order users first appear (deletions
// first, then upsertions). Per user, all or nothing: a user named twice
// in the request gets ErrDuplicateResource and nothing of it is written;
// an unknown mechanism ErrUnsupportedSaslMechanism; an empty name, an
// empty salt or salted password, or iterations outside 4096..16384
// ErrUnacceptableCredential; deleting a credential img does not hold
// ErrResourceNotFound.
func AlterScramCredentials(img *Image, deletions []ScramDeletion, upsertions []ScramUpsertion) ([]Record, []ScramAlterResult) {
	var order []string
	errs := map[string]error{}
	dels := map[string]ScramDeletion{}
	ups := map[string]ScramUpsertion{}
	dup := func(name string) {
		errs[name] = fmt.Errorf("user %q: a user credential cannot be altered twice in the same request: %w", name, ErrDuplicateResource)
		delete(dels, name)
		delete(ups, name)
	}
	for _, d := range deletions {
		_, del := dels[d.Name]
		if _, failed := errs[d.Name]; failed {
			continue
		}
		if del {
			dup(d.Name)
			continue
		}
		if !slices.Contains(order, d.Name) {
			order = append(order, d.Name)
		}
		switch _, ok := img.ScramCredential(d.Name, d.Mechanism); {
		case d.Name == "":
			errs[d.Name] = fmt.Errorf("username must not be empty: %w", ErrUnacceptableCredential)
		case !d.Mechanism.Valid():
			errs[d.Name] = fmt.Errorf("user %q: unknown SCRAM mechanism %d: %w", d.Name, d.Mechanism, ErrUnsupportedSaslMechanism)
		case !ok:
			errs[d.Name] = fmt.Errorf("user %q: attempt to delete a %s credential that does not exist: %w", d.Name, d.Mechanism, ErrResourceNotFound)
		default:
			dels[d.Name] = d
		}
	}
	for _, u := range upsertions {
		_, del := dels[u.Name]
		_, up := ups[u.Name]
		if _, failed := errs[u.Name]; failed {
			continue
		}
		if del || up {
			dup(u.Name)
			continue
		}
		if !slices.Contains(order, u.Name) {
			order = append(order, u.Name)
		}
		switch {
		case u.Name == "":
			errs[u.Name] = fmt.Errorf("username must not be empty: %w", ErrUnacceptableCredential)
		case !u.Mechanism.Valid():
			errs[u.Name] = fmt.Errorf("user %q: unknown SCRAM mechanism %d: %w", u.Name, u.Mechanism, ErrUnsupportedSaslMechanism)
		case u.Iterations < ScramMinIterations:
			errs[u.Name] = fmt.Errorf("user %q: too few iterations (%d < %d): %w", u.Name, u.Iterations, ScramMinIterations, ErrUnacceptableCredential)
		case u.Iterations > ScramMaxIterations:
			errs[u.Name] = fmt.Errorf("user %q: too many iterations (%d > %d): %w", u.Name, u.Iterations, ScramMaxIterations, ErrUnacceptableCredential)
		case len(u.Salt) == 0 || len(u.SaltedPassword) == 0:
			errs[u.Name] = fmt.Errorf("user %q: empty salt or salted password: %w", u.Name, ErrUnacceptableCredential)
		default:
			ups[u.Name] = u
		}
	}
	var recs []Record
	out := make([]ScramAlterResult, 0, len(order))
	for _, name := range order {
		if err := errs[name]; err != nil {
			out = append(out, ScramAlterResult{User: name, Err: err})
			continue
		}
		if d, ok := dels[name]; ok {
			recs = append(recs, &RemoveUserScramCredentialRecord{Name: d.Name, Mechanism: d.Mechanism})
		}
		if u, ok := ups[name]; ok {
			c, err := DeriveScramCredential(u.Mechanism, u.Salt, u.SaltedPassword, u.Iterations)
			if err != nil {
				out = append(out, ScramAlterResult{User: name, Err: err})
				continue
			}
			recs = append(recs, ScramCredentialRecord(u.Name, u.Mechanism, c))
		}
		out = append(out, ScramAlterResult{User: name})
	}
	return recs, out
}

// ScramUsers lists the users an AlterUserScramCredentials request names,
// each once, in the order AlterScramCredentials reports them (deletions
// first, then upsertions).
func ScramUsers(deletions []ScramDeletion, upsertions []ScramUpsertion) []string {
	var out []string
	for _, d := range deletions {
		if !slices.Contains(out, d.Name) {
			out = append(out, d.Name)
		}
	}
	for _, u := range upsertions {
		if !slices.Contains(out, u.Name) {
			out = append(out, u.Name)
		}
	}
	return out
}

// ScramAlterFailed reports err for every user of a request that failed as
// a whole (the controller unreachable, a cancelled context).
func ScramAlterFailed(deletions []ScramDeletion, upsertions []ScramUpsertion, err error) []ScramAlterResult {
	users := ScramUsers(deletions, upsertions)
	out := make([]ScramAlterResult, len(users))
	for i, u := range users {
		out[i] = ScramAlterResult{User: u, Err: err}
	}
	return out
}

// ScramAltered reports whether img shows the successful part of an
// AlterUserScramCredentials request (results from AlterScramCredentials):
// the deleted credentials gone, the upserted ones present with their salt
// and iterations. A later change to the same credential also satisfies it.
func ScramAltered(img *Image, deletions []ScramDeletion, upsertions []ScramUpsertion, results []ScramAlterResult) bool {
	ok := map[string]bool{}
	for _, r := range results {
		ok[r.User] = r.Err == nil
	}
	upserted := map[string]bool{}
	for _, u := range upsertions {
		if !ok[u.Name] {
			continue
		}
		upserted[u.Name] = true
		c, found := img.ScramCredential(u.Name, u.Mechanism)
		if !found || c.Iterations != u.Iterations || !bytes.Equal(c.Salt, u.Salt) {
			return false
		}
	}
	for _, d := range deletions {
		if !ok[d.Name] || upserted[d.Name] {
			continue
		}
		if _, found := img.ScramCredential(d.Name, d.Mechanism); found {
			return false
		}
	}
	return true
}
