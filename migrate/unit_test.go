package migrate

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/zk"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		key    string
	}{
		{"default", func(*Config) {}, ""},
		{"no servers", func(c *Config) { c.Servers = nil }, "zookeeper.connect"},
		{"session", func(c *Config) { c.SessionTimeout = 0 }, "zookeeper.session.timeout.ms"},
		{"connection", func(c *Config) { c.ConnectionTimeout = -1 }, "zookeeper.connection.timeout.ms"},
		{"node id", func(c *Config) { c.NodeID = -1 }, "node.id"},
		{"batch", func(c *Config) { c.BatchSize = 0 }, "min.batch.size"},
		{"multi", func(c *Config) { c.MaxMultiOps = 2 }, "max multi ops"},
		{"chroot", func(c *Config) { c.Chroot = "kafka/" }, "chroot"},
		{"poll", func(c *Config) { c.PollInterval = 0 }, "poll interval"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mutate(&c)
			err := c.Validate()
			if tc.key == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("err = %v, want ErrInvalidConfig naming %s", err, tc.key)
			}
		})
	}
}

func TestDriverStateNames(t *testing.T) {
	if DualWrite.String() != "DUAL_WRITE" || WaitForBrokers.String() != "WAIT_FOR_BROKERS" || DriverState(99).String() != "UNKNOWN" {
		t.Fatal("driver state names")
	}
	for s, want := range map[int8]string{0: "NONE", 1: "MIGRATION", 2: "PRE_MIGRATION", 3: "POST_MIGRATION", 9: "UNKNOWN"} {
		if got := StateName(s); got != want {
			t.Fatalf("StateName(%d) = %s, want %s", s, got, want)
		}
	}
}

// image replays records into a new image on base.
func image(t *testing.T, base *metadata.Image, recs ...metadata.Record) *metadata.Image {
	t.Helper()
	d := metadata.NewDelta(base)
	for _, r := range recs {
		if err := d.Replay(r); err != nil {
			t.Fatal(err)
		}
	}
	return d.Apply()
}

func str(s string) *string { return &s }

func opPaths(ops []zk.Op) []string {
	var out []string
	for _, o := range ops {
		out = append(out, o.Kind.String()+" "+o.Path)
	}
	return out
}

func TestDiffOps(t *testing.T) {
	foo, bar := metadata.RandomUuid(), metadata.RandomUuid()
	part := func(id metadata.Uuid, p int32, leader int32, isr ...int32) *metadata.PartitionRecord {
		return &metadata.PartitionRecord{TopicID: id, PartitionID: p, Replicas: []int32{1, 2}, ISR: isr, Leader: leader, LeaderEpoch: 3, PartitionEpoch: 7}
	}
	base := image(t, metadata.EmptyImage(),
		&metadata.TopicRecord{Name: "foo", TopicID: foo}, part(foo, 0, 1, 1, 2), part(foo, 1, 2, 1, 2),
		&metadata.ConfigRecord{ResourceType: metadata.TopicResource, ResourceName: "foo", Name: "retention.ms", Value: str("1000")},
		&metadata.ProducerIdsRecord{BrokerID: 1, BrokerEpoch: -1, NextProducerID: 2000})
	fooT, _ := base.Topic("foo")
	leader := metadata.NewPartitionChangeRecord(foo, 1)
	leader.Leader = 1
	isr := metadata.NewPartitionChangeRecord(foo, 0)
	isr.ISR = []int32{1}
	tests := []struct {
		name string
		next *metadata.Image
		want []string
	}{
		{"nothing", base, nil},
		{"broker registration has no ZooKeeper form",
			image(t, base, &metadata.RegisterBrokerRecord{BrokerID: 1, BrokerEpoch: 5}), nil},
		{"leader change", image(t, base, leader), []string{"set /brokers/topics/foo/partitions/1/state"}},
		{"isr change", image(t, base, isr), []string{"set /brokers/topics/foo/partitions/0/state"}},
		{"new topic", image(t, base, &metadata.TopicRecord{Name: "bar", TopicID: bar}, part(bar, 0, 2, 2)), []string{
			"create /brokers/topics/bar", "create /brokers/topics/bar/partitions",
			"create /brokers/topics/bar/partitions/0", "create /brokers/topics/bar/partitions/0/state"}},
		{"removed topic", image(t, base, &metadata.RemoveTopicRecord{TopicID: foo}), []string{
			"delete /brokers/topics/foo/partitions/0/state", "delete /brokers/topics/foo/partitions/0",
			"delete /brokers/topics/foo/partitions/1/state", "delete /brokers/topics/foo/partitions/1",
			"delete /brokers/topics/foo/partitions", "delete /brokers/topics/foo", "delete /config/topics/foo"}},
		{"new partition", image(t, base, part(foo, 2, 1, 1, 2)), []string{
			"set /brokers/topics/foo", "create /brokers/topics/foo/partitions",
			"create /brokers/topics/foo/partitions/2", "create /brokers/topics/foo/partitions/2/state"}},
		{"config", image(t, base, &metadata.ConfigRecord{ResourceType: metadata.BrokerResource, ResourceName: "", Name: "log.retention.ms", Value: str("5")}),
			[]string{"create /config/brokers/<default>", "create /config/changes/config_change_"}},
		{"producer ids", image(t, base, &metadata.ProducerIdsRecord{BrokerID: 2, BrokerEpoch: -1, NextProducerID: 3000}),
			[]string{"set /latest_producer_id_block"}},
		{"scram credential", image(t, base, &metadata.UserScramCredentialRecord{Name: "alice", Mechanism: metadata.ScramSHA256,
			Salt: []byte{1}, StoredKey: []byte{2}, ServerKey: []byte{3}, Iterations: 4096}),
			[]string{"create /config/users/alice", "create /config/changes/config_change_"}},
		{"acl", image(t, base, &metadata.AccessControlEntryRecord{ID: metadata.RandomUuid(), ResourceType: metadata.AclResourceTopic,
			ResourceName: "foo", PatternType: metadata.AclPatternLiteral, Principal: "User:alice", Host: "*",
			Operation: metadata.AclOpRead, Permission: metadata.AclPermissionAllow}),
			[]string{"create /kafka-acl", "create /kafka-acl/Topic", "create /kafka-acl/Topic/foo",
				"create /kafka-acl-changes", "create /kafka-acl-changes/acl_changes_"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ops := DiffOps(base, tc.next, 9)
			if got := opPaths(ops); !slices.Equal(got, tc.want) {
				t.Fatalf("ops\n got %q\nwant %q", got, tc.want)
			}
			for _, o := range ops {
				if !o.Tolerant && !o.Sequential {
					t.Fatalf("%s is not tolerant of replay", o)
				}
				if _, _, ok := zk.ParseStatePath(o.Path); ok && o.Data != nil {
					s, err := zk.DecodePartitionState(o.Data)
					if err != nil || s.ControllerEpoch != 9 {
						t.Fatalf("%s: state %+v (%v), want controller_epoch 9", o, s, err)
					}
				}
			}
		})
	}
	// The producer-id block written is the last one handed out.
	ops := DiffOps(base, image(t, base, &metadata.ProducerIdsRecord{BrokerID: 2, BrokerEpoch: -1, NextProducerID: 3000}), 9)
	b, err := zk.DecodeProducerIDBlock(ops[0].Data)
	if err != nil || b.BlockStart != 2000 || b.BlockEnd != 2999 {
		t.Fatalf("block %+v: %v", b, err)
	}
	// A state write carries the new leader and epoch.
	ops = DiffOps(base, image(t, base, leader), 9)
	s, err := zk.DecodePartitionState(ops[0].Data)
	if err != nil || s.Leader != 1 || s.LeaderEpoch != fooT.Partitions[1].LeaderEpoch+1 {
		t.Fatalf("state %+v: %v", s, err)
	}
}

func TestLoadRecords(t *testing.T) {
	tree := zk.NewTree()
	for i, name := range []string{"a", "b", "c"} {
		tn := &zk.TopicNode{ZNode: zk.TopicZNode{TopicID: metadata.RandomUuid(), Partitions: map[int32][]int32{}}, States: map[int32]zk.StateNode{}}
		for p := int32(0); p < int32(i+1); p++ {
			tn.ZNode.Partitions[p] = []int32{1, 2, 7}
			tn.States[p] = zk.StateNode{State: zk.PartitionState{Leader: 1, LeaderEpoch: 4, ISR: []int32{1, 2}}, ZkVersion: 6}
		}
		tree.Topics[name] = tn
	}
	tree.Topics["incomplete"] = &zk.TopicNode{ZNode: zk.TopicZNode{Partitions: map[int32][]int32{0: {1}}}, States: map[int32]zk.StateNode{}}
	tree.Brokers[1] = zk.BrokerNode{Czxid: 5}
	tree.Configs[zk.ConfigEntity{Type: zk.ConfigTopics, Name: "b"}] = map[string]string{"retention.ms": "1"}
	tree.ProducerIDs = &zk.ProducerIDBlock{Broker: 1, BlockStart: 0, BlockEnd: 999}
	for _, size := range []int{1, 3, 100} {
		batches := LoadRecords(tree, nil, size)
		var all []metadata.Record
		for _, b := range batches {
			if len(b) == 0 || len(b) > size {
				t.Fatalf("size %d: batch of %d", size, len(b))
			}
			all = append(all, b...)
		}
		// 3 topics + 6 partitions + the completed topic and its partition
		// + 1 config + producer ids + state; no broker.
		if len(all) != 14 {
			t.Fatalf("size %d: %d records", size, len(all))
		}
		last := all[len(all)-1].(*metadata.ZkMigrationStateRecord)
		if last.ZkMigrationState != metadata.ZkMigrationMigration {
			t.Fatalf("last record %+v", last)
		}
		img := image(t, metadata.EmptyImage(), all...)
		if img.BrokerCount() != 0 || img.TopicCount() != 4 || img.PartitionCount() != 7 || img.NextProducerID() != 1000 {
			t.Fatalf("image: %d brokers %d topics %d partitions next pid %d", img.BrokerCount(), img.TopicCount(), img.PartitionCount(), img.NextProducerID())
		}
		c, _ := img.Topic("c")
		if p := c.Partitions[2]; p.PartitionEpoch != 6 || p.LeaderEpoch != 4 {
			t.Fatalf("partition %+v", p)
		}
		// The incomplete topic (no id, no state) is completed as the
		// ZooKeeper controller would: a new id, leader = first live replica.
		inc, ok := img.Topic("incomplete")
		if !ok || inc.ID == metadata.ZeroUuid || inc.Partitions[0].Leader != 1 || !slices.Equal(inc.Partitions[0].ISR, []int32{1}) {
			t.Fatalf("incomplete topic after the load: %v %+v", ok, inc)
		}
		// Only what the load added goes to ZooKeeper: the topic znode (now
		// with its id) and the missing partition and state znodes.
		ops := CompletionOps(tree, nil, img, 9)
		want := []string{"set " + zk.TopicPath("incomplete"), "create " + zk.PartitionsPath("incomplete"),
			"create " + zk.PartitionPath("incomplete", 0), "create " + zk.PartitionStatePath("incomplete", 0)}
		if got := opPaths(ops); !slices.Equal(got, want) {
			t.Fatalf("completion ops %q, want %q", got, want)
		}
		if tz, err := zk.DecodeTopic(ops[0].Data); err != nil || tz.TopicID != inc.ID {
			t.Fatalf("topic znode written %+v (%v), want id %v", tz, err, inc.ID)
		}
		if st, err := zk.DecodePartitionState(ops[3].Data); err != nil || st.Leader != 1 || st.ControllerEpoch != 9 {
			t.Fatalf("state written %+v (%v)", st, err)
		}
	}
	if got := AssignedBrokers(tree, nil); !slices.Equal(got, []int32{1, 2, 7}) {
		t.Fatalf("assigned brokers %v", got)
	}
}

// TestLoadRecordsSecurity: the load carries /config/users SCRAM
// credentials and /kafka-acl ACLs (it used to drop them), before the
// migration state record, and SyncOps from that tree to the log's image
// writes nothing for them.
func TestLoadRecordsSecurity(t *testing.T) {
	tree := zk.NewTree()
	cred := &metadata.ScramCredential{Salt: []byte{1}, StoredKey: []byte{2}, ServerKey: []byte{3}, Iterations: 4096}
	tree.Scram["alice"] = map[metadata.ScramMechanism]*metadata.ScramCredential{metadata.ScramSHA256: cred, metadata.ScramSHA512: cred}
	read := zk.AclZNodeEntry{Principal: "User:alice", Permission: metadata.AclPermissionAllow, Operation: metadata.AclOpRead, Host: "*"}
	tree.Acls[zk.AclResource{Type: metadata.AclResourceTopic, Name: "orders", Pattern: metadata.AclPatternLiteral}] = []zk.AclZNodeEntry{read}
	tree.Acls[zk.AclResource{Type: metadata.AclResourceGroup, Name: "app-", Pattern: metadata.AclPatternPrefixed}] = []zk.AclZNodeEntry{read}
	tree.Quotas["clients/app"] = map[string]float64{"producer_byte_rate": 1024}
	var all []metadata.Record
	for _, b := range LoadRecords(tree, nil, 2) {
		all = append(all, b...)
	}
	var kinds []string
	for _, r := range all {
		kinds = append(kinds, r.Type().String())
	}
	want := []string{"UserScramCredentialRecord", "UserScramCredentialRecord", "AccessControlEntryRecord",
		"AccessControlEntryRecord", "ClientQuotaRecord", "ZkMigrationStateRecord"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("load records %v", kinds)
	}
	img := image(t, metadata.EmptyImage(), all...)
	if img.ScramCount() != 2 || img.AclCount() != 2 || img.ClientQuotaCount() != 1 {
		t.Fatalf("image: %d credentials %d acls", img.ScramCount(), img.AclCount())
	}
	ops, err := SyncOps(tree, nil, img, 3)
	if err != nil || len(ops) != 0 {
		t.Fatalf("SyncOps %v %v", opPaths(ops), err)
	}
	// The reverse export (and a resync of an emptied tree) writes them back.
	ops, err = SyncOps(zk.NewTree(), nil, img, 3)
	if err != nil {
		t.Fatal(err)
	}
	wantOps := []string{"create /config/users/alice", "create /config/changes/config_change_",
		"create /kafka-acl", "create /kafka-acl/Topic", "create /kafka-acl/Topic/orders",
		"create /kafka-acl-changes", "create /kafka-acl-changes/acl_changes_",
		"create /kafka-acl-extended", "create /kafka-acl-extended/prefixed", "create /kafka-acl-extended/prefixed/Group",
		"create /kafka-acl-extended/prefixed/Group/app-", "create /kafka-acl-extended-changes",
		"create /kafka-acl-extended-changes/acl_changes_"}
	wantOps = append([]string{"create /config/clients/app", "create /config/changes/config_change_"}, wantOps...)
	if got := opPaths(ops); !slices.Equal(got, wantOps) {
		t.Fatalf("export ops\n got %q\nwant %q", got, wantOps)
	}
}

// TestPendingDeletions: topics queued in /admin/delete_topics that the
// ZooKeeper controller had not deleted (KAFKA-15605) are not resurrected:
// the load removes a complete one (RemoveTopicRecord after every topic) and
// skips an incomplete one, and the ZooKeeper writes after the load (or a
// resync after a failover) delete their znodes and queue entries.
func TestPendingDeletions(t *testing.T) {
	keepID, doomedID := metadata.RandomUuid(), metadata.RandomUuid()
	topic := func(id metadata.Uuid, replicas []int32, withState bool) *zk.TopicNode {
		tn := &zk.TopicNode{ZNode: zk.TopicZNode{TopicID: id, Partitions: map[int32][]int32{0: replicas}}, States: map[int32]zk.StateNode{}}
		if withState {
			tn.States[0] = zk.StateNode{State: zk.PartitionState{Leader: replicas[0], ISR: replicas}, ZkVersion: 2}
		}
		return tn
	}
	tree := zk.NewTree()
	tree.Topics["keep"] = topic(keepID, []int32{1, 2}, true)
	tree.Topics["doomed"] = topic(doomedID, []int32{1, 9}, true) // broker 9 is gone for good
	tree.Topics["half"] = topic(metadata.ZeroUuid, []int32{1}, false)
	tree.Brokers[1] = zk.BrokerNode{Czxid: 5}
	tree.Configs[zk.ConfigEntity{Type: zk.ConfigTopics, Name: "doomed"}] = map[string]string{"retention.ms": "1"}
	deleting := map[string]bool{"doomed": true, "half": true, "ghost": true}

	var all []metadata.Record
	for _, b := range LoadRecords(tree, deleting, 2) {
		all = append(all, b...)
	}
	var removes []metadata.Uuid
	for i, r := range all {
		switch r := r.(type) {
		case *metadata.RemoveTopicRecord:
			removes = append(removes, r.TopicID)
			if _, ok := all[i+1].(*metadata.RemoveTopicRecord); !ok {
				if _, ok := all[i+1].(*metadata.ZkMigrationStateRecord); !ok {
					t.Fatalf("record after the removals: %T", all[i+1])
				}
			}
		case *metadata.ConfigRecord:
			t.Fatalf("config of a topic being deleted loaded: %+v", r)
		case *metadata.TopicRecord:
			if r.Name == "half" {
				t.Fatal("incomplete topic being deleted was completed")
			}
		}
	}
	if !slices.Equal(removes, []metadata.Uuid{doomedID}) {
		t.Fatalf("removed %v, want [%v]", removes, doomedID)
	}
	img := image(t, metadata.EmptyImage(), all...)
	if names := slices.Sorted(maps.Keys(topicSet(img))); !slices.Equal(names, []string{"keep"}) {
		t.Fatalf("topics after the load: %v", names)
	}
	if len(img.Configs(metadata.TopicResource, "doomed")) != 0 {
		t.Fatal("configs of the deleted topic in the image")
	}
	if got := AssignedBrokers(tree, deleting); !slices.Equal(got, []int32{1, 2}) {
		t.Fatalf("assigned brokers %v: a topic being deleted must not hold up the migration", got)
	}

	doomedZnodes := []string{"delete " + zk.PartitionStatePath("doomed", 0), "delete " + zk.PartitionPath("doomed", 0),
		"delete " + zk.PartitionsPath("doomed"), "delete " + zk.TopicPath("doomed")}
	halfZnodes := []string{"delete " + zk.PartitionStatePath("half", 0), "delete " + zk.PartitionPath("half", 0),
		"delete " + zk.PartitionsPath("half"), "delete " + zk.TopicPath("half"), "delete " + zk.TopicConfigPath("half")}
	queue := func(name string) string { return "delete " + zk.DeleteTopicPath(name) }
	tests := []struct {
		name string
		ops  func() ([]zk.Op, error)
		want []string
	}{
		{"after the load", func() ([]zk.Op, error) { return CompletionOps(tree, deleting, img, 4), nil },
			slices.Concat(doomedZnodes, []string{"delete " + zk.TopicConfigPath("doomed"), queue("doomed"), queue("ghost")}, halfZnodes, []string{queue("half")})},
		{"resync after a failover", func() ([]zk.Op, error) { return SyncOps(tree, deleting, img, 4) },
			// DiffOps deletes the complete topic, the rest follows in name order.
			slices.Concat(doomedZnodes, []string{"delete " + zk.TopicConfigPath("doomed"), queue("doomed"), queue("ghost")}, halfZnodes, []string{queue("half")})},
		{"nothing queued, nothing to sync", func() ([]zk.Op, error) {
			synced := zk.NewTree()
			synced.Topics["keep"] = tree.Topics["keep"]
			return SyncOps(synced, nil, img, 4)
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ops, err := tc.ops()
			if err != nil {
				t.Fatal(err)
			}
			if got := opPaths(ops); !slices.Equal(got, tc.want) {
				t.Fatalf("ops\n%q\nwant\n%q", got, tc.want)
			}
			for _, o := range ops {
				if !o.Tolerant || o.Version != -1 {
					t.Fatalf("op %s is not replay-tolerant", o)
				}
			}
		})
	}
}

func topicSet(img *metadata.Image) map[string]bool {
	out := map[string]bool{}
	for _, t := range img.Topics() {
		out[t.Name] = true
	}
	return out
}

func TestReplayLog(t *testing.T) {
	foo := metadata.RandomUuid()
	entry := func(off int64, recs ...metadata.Record) LogEntry {
		return LogEntry{Offset: off, Data: metadata.AppendBatch(nil, recs)}
	}
	entries := []LogEntry{
		entry(1, &metadata.ZkMigrationStateRecord{ZkMigrationState: metadata.ZkMigrationPreMigration}),
		entry(2, &metadata.RegisterBrokerRecord{BrokerID: 1, BrokerEpoch: -1, IsMigratingZkBroker: true}),
		entry(3, &metadata.BeginTransactionRecord{Name: str("other")}),
		entry(4, &metadata.AbortTransactionRecord{}),
		entry(5, &metadata.BeginTransactionRecord{Name: str(MigrationTransactionName)}, &metadata.TopicRecord{Name: "foo", TopicID: foo}),
		entry(6, &metadata.PartitionRecord{TopicID: foo, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}),
	}
	_, st, err := ReplayLog(nil, entries)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != metadata.ZkMigrationPreMigration || st.LoadInProgress != 2 || st.Topics != 0 || !slices.Equal(st.RegisteredBrokers, []int32{1}) {
		t.Fatalf("open load: %+v", st)
	}
	entries = append(entries, entry(7, &metadata.ZkMigrationStateRecord{ZkMigrationState: metadata.ZkMigrationMigration}, &metadata.EndTransactionRecord{}),
		entry(8, &metadata.RegisterBrokerRecord{BrokerID: 2, BrokerEpoch: -1}))
	img, st, err := ReplayLog(nil, entries)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != metadata.ZkMigrationMigration || st.RecordsLoaded != 3 || st.LoadOffset != 7 || st.LoadInProgress != 0 ||
		st.Topics != 1 || !slices.Equal(st.KRaftBrokers, []int32{2}) || st.Offset != 8 {
		t.Fatalf("loaded: %+v", st)
	}
	if b, _ := img.Broker(2); b.Epoch != 8 {
		t.Fatalf("broker 2 epoch %d, want the entry's offset 8", b.Epoch)
	}
	if _, _, err := ReplayLog(nil, []LogEntry{{Offset: 1, Data: []byte{9, 9}}}); err == nil {
		t.Fatal("garbage entry replayed")
	}
}

// FuzzReplayLog: no entry bytes make ReplayLog panic.
func FuzzReplayLog(f *testing.F) {
	f.Add(metadata.AppendBatch(nil, []metadata.Record{&metadata.BeginTransactionRecord{Name: str(MigrationTransactionName)}}))
	f.Add(metadata.AppendBatch(nil, []metadata.Record{&metadata.EndTransactionRecord{}}))
	f.Add([]byte{0, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = ReplayLog(nil, []LogEntry{{Offset: 1, Data: b}, {Offset: 2, Data: b}})
	})
}
