package quorum

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/wait"
)

// The first leader of an empty log writes the bootstrap records; a later
// leadership (here: a restart) does not write them again, so a credential
// removed since stays removed.
func TestBootstrapRecordsWrittenOnce(t *testing.T) {
	dir := t.TempDir()
	cred := &metadata.UserScramCredentialRecord{Name: "admin", Mechanism: metadata.ScramSHA512,
		Salt: []byte("salt"), StoredKey: make([]byte, 64), ServerKey: make([]byte, 64), Iterations: 4096}
	if err := WriteBootstrap(dir, []metadata.Record{cred}); err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig(dir)
	n := startNode(t, cfg)
	waitController(t, n)
	wait.Until(t, 10*time.Second, "bootstrap credential in the image", func() bool {
		_, ok := n.Image().ScramCredential("admin", metadata.ScramSHA512)
		return ok
	})
	res := applyRaw(t, n, metadata.AppendBatch(nil, []metadata.Record{
		&metadata.RemoveUserScramCredentialRecord{Name: "admin", Mechanism: metadata.ScramSHA512}}))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	removedAt := res.Image.Offset()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	n2 := startNode(t, cfg)
	waitController(t, n2)
	wait.Until(t, 10*time.Second, "the restarted leader's no-op applied", func() bool {
		return n2.Image().Offset() > removedAt
	})
	if _, ok := n2.Image().ScramCredential("admin", metadata.ScramSHA512); ok {
		t.Fatal("bootstrap records written again by a later leader")
	}
}

func TestCorruptBootstrapRefused(t *testing.T) {
	dir := t.TempDir()
	if err := WriteBootstrap(dir, []metadata.Record{&metadata.NoOpRecord{}}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, BootstrapFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = New(fastConfig(dir), zaptest.NewLogger(t))
	if !errors.Is(err, ErrCorruptEntry) {
		t.Fatalf("New with a corrupt %s: %v, want ErrCorruptEntry", BootstrapFile, err)
	}
}

// A broker's registration that gets the writer slot before the new
// leader's no-op is the log's first write: the bootstrap records still
// come first (they once rode on the no-op only, and such a cluster started
// without its SCRAM users). Repeated: which write wins is a race.
func TestBootstrapBeforeAnyFirstWrite(t *testing.T) {
	for i := 0; i < 5; i++ {
		dir := t.TempDir()
		cred := &metadata.UserScramCredentialRecord{Name: "admin", Mechanism: metadata.ScramSHA512,
			Salt: []byte("salt"), StoredKey: make([]byte, 64), ServerKey: make([]byte, 64), Iterations: 4096}
		if err := WriteBootstrap(dir, []metadata.Record{cred}); err != nil {
			t.Fatal(err)
		}
		n := startNode(t, fastConfig(dir))
		reg := metadata.BrokerRegistration{ID: 1, IncarnationID: metadata.RandomUuid(),
			Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092}}}
		wait.For(t, 10*time.Second, "the broker registered", func() error {
			_, err := n.RegisterBroker(testCtx(t), reg)
			return err
		})
		if _, ok := n.Image().ScramCredential("admin", metadata.ScramSHA512); !ok {
			t.Fatalf("run %d: the registration was written and the bootstrap credential is not in the image", i)
		}
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
