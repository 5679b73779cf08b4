package metadata

import (
	"crypto/hmac"
	"errors"
	"reflect"
	"testing"
)

// TestAlterScramCredentials: ScramControlManager.alterCredentials' rules —
// per user all or nothing, a user twice in a request is a duplicate, the
// mechanism, iteration and emptiness checks, deletion of what does not
// exist — and the records of the users that pass.
func TestAlterScramCredentials(t *testing.T) {
	sp := make([]byte, 32)
	up := func(name string, m ScramMechanism, iters int32) ScramUpsertion {
		return ScramUpsertion{Name: name, Mechanism: m, Iterations: iters, Salt: []byte("salt"), SaltedPassword: sp}
	}
	cred := &ScramCredential{Salt: []byte{1}, StoredKey: []byte{2}, ServerKey: []byte{3}, Iterations: 4096}
	base := replayAll(t, EmptyImage(), ScramCredentialRecord("old", ScramSHA256, cred),
		ScramCredentialRecord("twice", ScramSHA256, cred))
	recs, res := AlterScramCredentials(base,
		[]ScramDeletion{{"old", ScramSHA256}, {"ghost", ScramSHA256}, {"twice", ScramSHA256}, {"badmech", 9}},
		[]ScramUpsertion{up("alice", ScramSHA256, 4096), up("twice", ScramSHA512, 4096), up("few", ScramSHA256, 4095),
			up("many", ScramSHA512, 16385), up("", ScramSHA256, 4096), up("mech", ScramUnknown, 4096),
			{Name: "nosalt", Mechanism: ScramSHA256, Iterations: 4096, SaltedPassword: sp}, up("bob", ScramSHA512, 8192)})
	want := map[string]error{"old": nil, "ghost": ErrResourceNotFound, "twice": ErrDuplicateResource,
		"badmech": ErrUnsupportedSaslMechanism, "alice": nil, "few": ErrUnacceptableCredential, "many": ErrUnacceptableCredential,
		"": ErrUnacceptableCredential, "mech": ErrUnsupportedSaslMechanism, "nosalt": ErrUnacceptableCredential, "bob": nil}
	var users []string
	for _, r := range res {
		users = append(users, r.User)
		if w := want[r.User]; (w == nil) != (r.Err == nil) || (w != nil && !errors.Is(r.Err, w)) {
			t.Errorf("user %q: %v, want %v", r.User, r.Err, w)
		}
	}
	if !reflect.DeepEqual(users, []string{"old", "ghost", "twice", "badmech", "alice", "few", "many", "", "mech", "nosalt", "bob"}) {
		t.Fatalf("result order %q", users)
	}
	img := replayAll(t, base, recs...)
	if _, ok := img.ScramCredential("old", ScramSHA256); ok || img.ScramCount() != 3 { // alice, bob, twice (untouched)
		t.Fatalf("after: %d credentials", img.ScramCount())
	}
	c, ok := img.ScramCredential("bob", ScramSHA512)
	if !ok || c.Iterations != 8192 || string(c.Salt) != "salt" || len(c.StoredKey) != 64 || len(c.ServerKey) != 64 {
		t.Fatalf("bob %+v", c)
	}
	// StoredKey = H(HMAC(SaltedPassword, "Client Key")), ServerKey = HMAC(SaltedPassword, "Server Key").
	h := ScramHash(ScramSHA512)
	mac := hmac.New(h, sp)
	mac.Write([]byte("Server Key"))
	if !hmac.Equal(mac.Sum(nil), c.ServerKey) {
		t.Fatal("server key")
	}
	mac = hmac.New(h, sp)
	mac.Write([]byte("Client Key"))
	sum := h()
	sum.Write(mac.Sum(nil))
	if !hmac.Equal(sum.Sum(nil), c.StoredKey) {
		t.Fatal("stored key")
	}
	if _, err := DeriveScramCredential(ScramUnknown, nil, sp, 4096); !errors.Is(err, ErrUnsupportedSaslMechanism) {
		t.Fatal(err)
	}
}
