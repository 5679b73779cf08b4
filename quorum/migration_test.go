package quorum

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap/zaptest"

	"github.com/zkraft/zkraft/metadata"
)

// TestPreMigrationRefusesMutations: while the log is in PRE_MIGRATION the
// controller refuses every metadata mutation with NOT_CONTROLLER (Kafka's
// pre-migration exception) and the registration of a broker that is not a
// migrating ZooKeeper broker with BROKER_ID_NOT_REGISTERED; a migrating
// ZooKeeper broker registers. The broker-side client retries NOT_CONTROLLER,
// so a CreateTopics sent during PRE_MIGRATION succeeds once the log is in
// MIGRATION.
func TestPreMigrationRefusesMutations(t *testing.T) {
	n := startNode(t, tcpVoter(t, t.TempDir()))
	waitController(t, n)
	ctx := testCtx(t)
	if _, err := n.AppendRecords(ctx, "test: PRE_MIGRATION", nil,
		[]metadata.Record{&metadata.ZkMigrationStateRecord{ZkMigrationState: metadata.ZkMigrationPreMigration}}); err != nil {
		t.Fatal(err)
	}
	epoch, err := n.RegisterBroker(ctx, metadata.BrokerRegistration{ID: 1, IncarnationID: metadata.RandomUuid(), IsMigratingZkBroker: true,
		Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9001}}})
	if err != nil {
		t.Fatalf("register a migrating ZooKeeper broker in PRE_MIGRATION: %v", err)
	}
	if err := n.UnfenceBroker(ctx, 1, epoch); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		call func() error
		code int16
	}{
		{"create topics", func() error {
			return n.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "t", NumPartitions: 1, ReplicationFactor: 1}}, false)[0]
		}, kerr.NotController.Code},
		{"create topics validate only", func() error {
			return n.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "t", NumPartitions: 1, ReplicationFactor: 1}}, true)[0]
		}, kerr.NotController.Code},
		{"delete topics", func() error { return n.DeleteTopics(ctx, []string{"t"})[0] }, kerr.NotController.Code},
		{"allocate producer ids", func() error { _, _, err := n.AllocateProducerIDs(ctx, 1); return err }, kerr.NotController.Code},
		{"alter partition", func() error {
			_, err := n.AlterPartition(ctx, metadata.AlterPartitionRequest{BrokerID: 1, BrokerEpoch: epoch, TopicID: metadata.RandomUuid(), NewISR: []int32{1}})
			return err
		}, kerr.NotController.Code},
		{"register a quorum-mode broker", func() error {
			_, err := n.RegisterBroker(ctx, metadata.BrokerRegistration{ID: 2, IncarnationID: metadata.RandomUuid(),
				Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9002}}})
			return err
		}, kerr.BrokerIDNotRegistered.Code},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !errors.Is(err, ErrPreMigration) {
				t.Fatalf("error %v, want ErrPreMigration", err)
			}
			if got := errorCode(err); got != tc.code {
				t.Fatalf("code %d (%v), want %d", got, err, tc.code)
			}
		})
	}
	if img := n.Image(); img.TopicCount() != 0 || img.NextProducerID() != 0 {
		t.Fatalf("a refused write changed the image: %d topics, next producer id %d", img.TopicCount(), img.NextProducerID())
	}
	if _, ok := n.Image().Broker(2); ok {
		t.Fatal("quorum-mode broker 2 registered in PRE_MIGRATION")
	}

	// On the wire: NOT_CONTROLLER (41), which brokers retry.
	cc := &ctrlConn{addr: n.Addr().String(), clientID: "test"}
	defer cc.close()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version = 7
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "t", 1, 1
	req.Topics = append(req.Topics, rt)
	resp, err := cc.request(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode; code != kerr.NotController.Code {
		t.Fatalf("CreateTopics over the wire: code %d, want NOT_CONTROLLER", code)
	}

	// The broker-side client keeps retrying: with a deadline it ends with
	// the deadline, not with an error it would hand to the Kafka client.
	cfg := DefaultClientConfig()
	cfg.NodeID, cfg.Voters, cfg.MigratingZkBroker = 3, map[int32]string{1: n.Addr().String()}, true
	cfg.Endpoints = []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9003}}
	cfg.HeartbeatInterval, cfg.FetchMaxWait, cfg.RequestTimeout = 50*time.Millisecond, 100*time.Millisecond, 2*time.Second
	c, err := NewClient(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	errs := c.CreateTopics(short, []metadata.CreateTopicSpec{{Name: "t", NumPartitions: 1, ReplicationFactor: 1}}, false)
	cancel()
	if !errors.Is(errs[0], context.DeadlineExceeded) {
		t.Fatalf("client CreateTopics in PRE_MIGRATION: %v, want to retry until the deadline", errs[0])
	}
	done := make(chan error, 1)
	go func() {
		done <- c.CreateTopics(ctx, []metadata.CreateTopicSpec{{Name: "t", NumPartitions: 1, ReplicationFactor: 1}}, false)[0]
	}()
	if _, err := n.AppendRecords(ctx, "test: MIGRATION", nil,
		[]metadata.Record{&metadata.ZkMigrationStateRecord{ZkMigrationState: metadata.ZkMigrationMigration}}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("client CreateTopics retried into MIGRATION: %v", err)
	}
	if _, ok := n.Image().Topic("t"); !ok {
		t.Fatal("topic t not created after MIGRATION")
	}
	if _, err := n.RegisterBroker(ctx, metadata.BrokerRegistration{ID: 2, IncarnationID: metadata.RandomUuid(),
		Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9002}}}); err != nil {
		t.Fatalf("register a quorum-mode broker in MIGRATION: %v", err)
	}
}
