package metadata

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// cluster returns an image with brokers 0..n-1, the given ones fenced.
func cluster(t testing.TB, n int32, fenced ...int32) *Image {
	var recs []Record
	for id := int32(0); id < n; id++ {
		recs = append(recs, broker(id, slices.Contains(fenced, id)))
	}
	return replayAll(t, EmptyImage(), recs...)
}

// fixedIDs returns an id source giving ids whose first 8 bytes are zero
// (placement start index 0, shift 0), numbered from 1.
func fixedIDs() func() Uuid {
	n := byte(0)
	return func() Uuid {
		n++
		return Uuid{15: n, 14: 0x77}
	}
}

func TestValidateTopicName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"foo", true}, {"a.b_c-D9", true}, {strings.Repeat("x", 249), true}, {"...", true},
		{"", false}, {".", false}, {"..", false}, {strings.Repeat("x", 250), false},
		{"a b", false}, {"a/b", false}, {"é", false}, {"a\x00", false},
	}
	for _, tt := range tests {
		err := ValidateTopicName(tt.name)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalidTopic)) {
			t.Errorf("ValidateTopicName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestValidateTopicConfigs(t *testing.T) {
	tests := []struct {
		cfgs    map[string]string
		wantKey string // "" = valid
	}{
		{map[string]string{}, ""},
		{map[string]string{"cleanup.policy": "compact,delete", "retention.ms": "-1", "retention.bytes": "-1",
			"segment.bytes": "1048576", "segment.ms": "1000", "min.insync.replicas": "2", "max.message.bytes": "1000000",
			"message.timestamp.type": "LogAppendTime", "unclean.leader.election.enable": "TRUE",
			"compression.type": "zstd", "flush.messages": "1", "flush.ms": "0", "delete.retention.ms": "0",
			"min.compaction.lag.ms": "0", "min.cleanable.dirty.ratio": "0.5"}, ""},
		{map[string]string{"retention.ms": "1000", "bogus.key": "1"}, "bogus.key"},
		{map[string]string{"cleanup.policy": "shred"}, "cleanup.policy"},
		{map[string]string{"retention.ms": "-2"}, "retention.ms"},
		{map[string]string{"retention.ms": "soon"}, "retention.ms"},
		{map[string]string{"segment.bytes": "13"}, "segment.bytes"},
		{map[string]string{"segment.bytes": "3000000000"}, "segment.bytes"}, // not an int32
		{map[string]string{"min.insync.replicas": "0"}, "min.insync.replicas"},
		{map[string]string{"message.timestamp.type": "createtime"}, "message.timestamp.type"},
		{map[string]string{"unclean.leader.election.enable": "yes"}, "unclean.leader.election.enable"},
		{map[string]string{"compression.type": "brotli"}, "compression.type"},
		{map[string]string{"min.cleanable.dirty.ratio": "1.5"}, "min.cleanable.dirty.ratio"},
		{map[string]string{"flush.messages": "0"}, "flush.messages"},
	}
	for _, tt := range tests {
		err := ValidateTopicConfigs(tt.cfgs)
		if tt.wantKey == "" {
			if err != nil {
				t.Errorf("ValidateTopicConfigs(%v) = %v", tt.cfgs, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.wantKey) {
			t.Errorf("ValidateTopicConfigs(%v) = %v, want ErrInvalidConfig naming %s", tt.cfgs, err, tt.wantKey)
		}
	}
}

func TestAssignReplicasMatchesKafka(t *testing.T) {
	// The example in Kafka's AdminUtils.assignReplicasToBrokers doc comment:
	// 5 brokers, 10 partitions, RF 3, start index 0, shift 0.
	got := AssignReplicas([]int32{0, 1, 2, 3, 4}, 10, 3, 0, 0)
	want := [][]int32{
		{0, 1, 2}, {1, 2, 3}, {2, 3, 4}, {3, 4, 0}, {4, 0, 1},
		{0, 2, 3}, {1, 3, 4}, {2, 4, 0}, {3, 0, 1}, {4, 1, 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("assignment\n got %v\nwant %v", got, want)
	}
	// Leaders spread evenly: every broker leads 2 of 10, every broker holds 6 replicas.
	leaders, replicas := map[int32]int{}, map[int32]int{}
	for _, r := range got {
		leaders[r[0]]++
		for _, b := range r {
			replicas[b]++
		}
	}
	for b := int32(0); b < 5; b++ {
		if leaders[b] != 2 || replicas[b] != 6 {
			t.Fatalf("broker %d: %d leaders %d replicas", b, leaders[b], replicas[b])
		}
	}
}

func TestCreateTopic(t *testing.T) {
	img := cluster(t, 4, 2) // brokers 0,1,3 usable; 2 fenced
	cfg := ControllerConfig{DefaultNumPartitions: 2, DefaultReplicationFactor: 2, NewUuid: fixedIDs()}
	recs, err := CreateTopic(img, CreateTopicSpec{Name: "orders", NumPartitions: 3, ReplicationFactor: 3,
		Configs: map[string]string{"retention.ms": "5", "cleanup.policy": "compact"}}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	id := Uuid{15: 1, 14: 0x77}
	want := []Record{
		&TopicRecord{Name: "orders", TopicID: id},
		&PartitionRecord{PartitionID: 0, TopicID: id, Replicas: []int32{0, 1, 3}, ISR: []int32{0, 1, 3}, Leader: 0},
		&PartitionRecord{PartitionID: 1, TopicID: id, Replicas: []int32{1, 3, 0}, ISR: []int32{1, 3, 0}, Leader: 1},
		&PartitionRecord{PartitionID: 2, TopicID: id, Replicas: []int32{3, 0, 1}, ISR: []int32{3, 0, 1}, Leader: 3},
		&ConfigRecord{ResourceType: TopicResource, ResourceName: "orders", Name: "cleanup.policy", Value: strp("compact")},
		&ConfigRecord{ResourceType: TopicResource, ResourceName: "orders", Name: "retention.ms", Value: strp("5")},
	}
	if !reflect.DeepEqual(recs, want) {
		t.Fatalf("records\n got %v\nwant %v", WriteImage(replayAll(t, img, recs...)), want)
	}
	next := replayAll(t, img, recs...)
	if !maps.Equal(next.Configs(TopicResource, "orders"), map[string]string{"retention.ms": "5", "cleanup.policy": "compact"}) {
		t.Fatal("configs")
	}

	// Defaults.
	recs, err = CreateTopic(next, CreateTopicSpec{Name: "d", NumPartitions: -1, ReplicationFactor: -1}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := replayAll(t, next, recs...).mustPartition(t, "d", 1)
	if len(d.Replicas) != 2 || d.Leader != d.Replicas[0] || !slices.Equal(d.ISR, d.Replicas) || d.LeaderEpoch != 0 || d.PartitionEpoch != 0 {
		t.Fatalf("default partition %+v", d)
	}
	if n, _ := replayAll(t, next, recs...).Topic("d"); n.NumPartitions() != 2 {
		t.Fatal("default partitions")
	}
}

func TestCreateTopicErrors(t *testing.T) {
	img := replayAll(t, cluster(t, 3, 2), &TopicRecord{Name: "taken", TopicID: testID(9)},
		&TopicRecord{Name: "my.topic", TopicID: testID(10)})
	cfg := ControllerConfig{DefaultNumPartitions: 1, DefaultReplicationFactor: 1, NewUuid: fixedIDs()}
	tests := []struct {
		name string
		spec CreateTopicSpec
		want error
	}{
		{"bad name", CreateTopicSpec{Name: "a b", NumPartitions: 1, ReplicationFactor: 1}, ErrInvalidTopic},
		{"exists", CreateTopicSpec{Name: "taken", NumPartitions: 1, ReplicationFactor: 1}, ErrTopicExists},
		{"collides", CreateTopicSpec{Name: "my_topic", NumPartitions: 1, ReplicationFactor: 1}, ErrInvalidTopic},
		{"zero partitions", CreateTopicSpec{Name: "x", NumPartitions: 0, ReplicationFactor: 1}, ErrInvalidPartitions},
		{"-2 partitions", CreateTopicSpec{Name: "x", NumPartitions: -2, ReplicationFactor: 1}, ErrInvalidPartitions},
		{"too many partitions", CreateTopicSpec{Name: "x", NumPartitions: MaxCreatePartitions + 1, ReplicationFactor: 1}, ErrInvalidPartitions},
		{"rf 0", CreateTopicSpec{Name: "x", NumPartitions: 1, ReplicationFactor: 0}, ErrInvalidReplicationFactor},
		{"rf > live brokers", CreateTopicSpec{Name: "x", NumPartitions: 1, ReplicationFactor: 3}, ErrInvalidReplicationFactor},
		{"bad config", CreateTopicSpec{Name: "x", NumPartitions: 1, ReplicationFactor: 1, Configs: map[string]string{"nope": "1"}}, ErrInvalidConfig},
		{"assignment with rf", CreateTopicSpec{Name: "x", NumPartitions: -1, ReplicationFactor: 1,
			Assignments: map[int32][]int32{0: {0}}}, ErrInvalidRequest},
		{"assignment gap", CreateTopicSpec{Name: "x", NumPartitions: -1, ReplicationFactor: -1,
			Assignments: map[int32][]int32{0: {0}, 2: {1}}}, ErrInvalidReplicaAssignment},
		{"assignment duplicate broker", CreateTopicSpec{Name: "x", NumPartitions: -1, ReplicationFactor: -1,
			Assignments: map[int32][]int32{0: {0, 0}}}, ErrInvalidReplicaAssignment},
		{"assignment unknown broker", CreateTopicSpec{Name: "x", NumPartitions: -1, ReplicationFactor: -1,
			Assignments: map[int32][]int32{0: {7}}}, ErrInvalidReplicaAssignment},
		{"assignment uneven rf", CreateTopicSpec{Name: "x", NumPartitions: -1, ReplicationFactor: -1,
			Assignments: map[int32][]int32{0: {0, 1}, 1: {1}}}, ErrInvalidReplicaAssignment},
		{"assignment only fenced", CreateTopicSpec{Name: "x", NumPartitions: -1, ReplicationFactor: -1,
			Assignments: map[int32][]int32{0: {2}}}, ErrInvalidReplicaAssignment},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := CreateTopic(img, tt.spec, cfg)
			if !errors.Is(err, tt.want) || recs != nil {
				t.Fatalf("CreateTopic = %v, %v; want %v", recs, err, tt.want)
			}
		})
	}
	if _, err := CreateTopic(EmptyImage(), CreateTopicSpec{Name: "x", NumPartitions: 1, ReplicationFactor: 1}, cfg); !errors.Is(err, ErrInvalidReplicationFactor) {
		t.Fatalf("no brokers: %v", err)
	}
}

func TestCreateTopicManualAssignment(t *testing.T) {
	img := cluster(t, 3, 1)
	recs, err := CreateTopic(img, CreateTopicSpec{Name: "m", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: map[int32][]int32{0: {1, 2}, 1: {2, 0}}}, ControllerConfig{NewUuid: fixedIDs()})
	if err != nil {
		t.Fatal(err)
	}
	next := replayAll(t, img, recs...)
	p0 := next.mustPartition(t, "m", 0)
	p1 := next.mustPartition(t, "m", 1)
	// Fenced broker 1 is a replica but not in the ISR and not the leader.
	if !slices.Equal(p0.Replicas, []int32{1, 2}) || !slices.Equal(p0.ISR, []int32{2}) || p0.Leader != 2 {
		t.Fatalf("p0 %+v", p0)
	}
	if !slices.Equal(p1.ISR, []int32{2, 0}) || p1.Leader != 2 {
		t.Fatalf("p1 %+v", p1)
	}
}

func TestDeleteTopic(t *testing.T) {
	img := image1(t)
	recs, err := DeleteTopic(img, "a")
	if err != nil || !reflect.DeepEqual(recs, []Record{&RemoveTopicRecord{TopicID: testID(0xa0)}}) {
		t.Fatalf("DeleteTopic = %v, %v", recs, err)
	}
	next := replayAll(t, img, recs...)
	if _, ok := next.Topic("a"); ok || next.PartitionCount() != 1 || len(next.Configs(TopicResource, "a")) != 0 {
		t.Fatal("topic a not fully removed")
	}
	if _, err := DeleteTopic(img, "zz"); !errors.Is(err, ErrUnknownTopic) {
		t.Fatalf("unknown: %v", err)
	}
}

func TestBrokerLifecycle(t *testing.T) {
	inc := testID(0x55)
	reg := BrokerRegistration{ID: 4, Epoch: 7, IncarnationID: inc, Rack: "r1",
		Endpoints: []Endpoint{{Name: "PLAINTEXT", Host: "h", Port: 9092}}}
	recs, err := RegisterBroker(EmptyImage(), reg, false)
	if err != nil {
		t.Fatal(err)
	}
	img := replayAll(t, EmptyImage(), recs...)
	b, ok := img.Broker(4)
	if !ok || !b.Fenced || b.Epoch != 7 || b.Rack != "r1" || b.IncarnationID != inc {
		t.Fatalf("registered %+v", b)
	}
	if ep, ok := b.Endpoint("PLAINTEXT"); !ok || ep.Port != 9092 {
		t.Fatal("endpoint")
	}
	// Unfence: wrong epoch, unknown broker, then success, then idempotent.
	if _, err := UnfenceBroker(img, 4, 8); !errors.Is(err, ErrStaleBrokerEpoch) {
		t.Fatalf("stale: %v", err)
	}
	if _, err := UnfenceBroker(img, 5, 7); !errors.Is(err, ErrUnknownBroker) {
		t.Fatalf("unknown: %v", err)
	}
	recs, err = UnfenceBroker(img, 4, 7)
	if err != nil || !reflect.DeepEqual(recs, []Record{&BrokerRegistrationChangeRecord{BrokerID: 4, BrokerEpoch: 7, Fenced: FenceUnfence}}) {
		t.Fatalf("unfence %v %v", recs, err)
	}
	img = replayAll(t, img, recs...)
	if b, _ := img.Broker(4); b.Fenced {
		t.Fatal("still fenced")
	}
	if recs, err := UnfenceBroker(img, 4, 7); err != nil || len(recs) != 0 {
		t.Fatalf("second unfence %v %v", recs, err)
	}
	// A new incarnation while the old one's session is live is a duplicate.
	reg2 := reg
	reg2.IncarnationID = testID(0x66)
	if _, err := RegisterBroker(img, reg2, true); !errors.Is(err, ErrDuplicateBrokerRegistration) {
		t.Fatalf("duplicate: %v", err)
	}
	// The same incarnation re-registering keeps its epoch.
	reg3 := reg
	reg3.Epoch = 99
	recs, err = RegisterBroker(img, reg3, false)
	if err != nil || recs[0].(*RegisterBrokerRecord).BrokerEpoch != 7 || !recs[0].(*RegisterBrokerRecord).Fenced {
		t.Fatalf("re-register %v %v", recs, err)
	}
	// Once the old session has expired (fenced), a new incarnation may register.
	img = replayAll(t, img, FenceBroker(img, 4)...)
	if _, err := RegisterBroker(img, reg2, false); err != nil {
		t.Fatalf("after fence: %v", err)
	}
	if _, err := RegisterBroker(img, BrokerRegistration{ID: -1}, false); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("negative id: %v", err)
	}
}

func TestFenceBroker(t *testing.T) {
	// Brokers 1,2,3 unfenced. Topic t: p0 [1,2,3] leader 1; p1 [2,1] leader 2;
	// p2 [1] leader 1 (sole ISR); p3 [3,2] leader 3 (broker 1 not involved).
	img := cluster(t, 4) // 0..3
	id := testID(0x70)
	img = replayAll(t, img, &TopicRecord{Name: "t", TopicID: id},
		part(id, 0, 1, 1, 2, 3), part(id, 1, 2, 2, 1), part(id, 2, 1, 1), part(id, 3, 3, 3, 2))
	// Make broker 3 fenced too, so it cannot be elected.
	img = replayAll(t, img, &BrokerRegistrationChangeRecord{BrokerID: 3, BrokerEpoch: 103, Fenced: FenceFence})

	recs := FenceBroker(img, 1)
	want := []Record{
		&BrokerRegistrationChangeRecord{BrokerID: 1, BrokerEpoch: 101, Fenced: FenceFence},
		&PartitionChangeRecord{PartitionID: 0, TopicID: id, ISR: []int32{2, 3}, Leader: 2, LeaderRecoveryState: -1},
		&PartitionChangeRecord{PartitionID: 1, TopicID: id, ISR: []int32{2}, Leader: 2, LeaderRecoveryState: -1},
		&PartitionChangeRecord{PartitionID: 2, TopicID: id, Leader: -1, LeaderRecoveryState: -1},
	}
	if !reflect.DeepEqual(recs, want) {
		t.Fatalf("FenceBroker\n got %#v\nwant %#v", recs, want)
	}
	next := replayAll(t, img, recs...)
	for p, wantReg := range map[int32]PartitionRegistration{
		0: {Replicas: []int32{1, 2, 3}, ISR: []int32{2, 3}, Leader: 2, LeaderEpoch: 1, PartitionEpoch: 1},
		1: {Replicas: []int32{2, 1}, ISR: []int32{2}, Leader: 2, LeaderEpoch: 1, PartitionEpoch: 1},
		2: {Replicas: []int32{1}, ISR: []int32{1}, Leader: -1, LeaderEpoch: 1, PartitionEpoch: 1},
		3: {Replicas: []int32{3, 2}, ISR: []int32{3, 2}, Leader: 3},
	} {
		if got := next.mustPartition(t, "t", p); !got.Equal(&wantReg) {
			t.Errorf("p%d = %+v, want %+v", p, got, wantReg)
		}
	}
	// Fencing again changes nothing.
	if again := FenceBroker(next, 1); len(again) != 0 {
		t.Fatalf("second fence %v", again)
	}
	if FenceBroker(next, 42) != nil {
		t.Fatal("unknown broker")
	}
	// Unfencing broker 1 makes it leader of the leaderless p2 again.
	recs, err := UnfenceBroker(next, 1, 101)
	if err != nil {
		t.Fatal(err)
	}
	back := replayAll(t, next, recs...)
	if p := back.mustPartition(t, "t", 2); p.Leader != 1 || p.LeaderEpoch != 2 {
		t.Fatalf("p2 after unfence %+v", p)
	}
	// LocalChanges for broker 1 at the fence: leadership of p0 lost (follower), p2 leaderless.
	d := NewDelta(img)
	for _, r := range FenceBroker(img, 1) {
		if err := d.Replay(r); err != nil {
			t.Fatal(err)
		}
	}
	if lc := d.LocalChanges(1); len(lc.Leaders) != 0 || len(lc.Followers) != 3 {
		t.Fatalf("local changes %+v", lc)
	}
}

func TestControlledShutdown(t *testing.T) {
	img := cluster(t, 3)
	id := testID(0x71)
	img = replayAll(t, img, &TopicRecord{Name: "t", TopicID: id}, part(id, 0, 1, 1, 2))
	recs, err := ControlledShutdown(img, 1, 101)
	if err != nil {
		t.Fatal(err)
	}
	next := replayAll(t, img, recs...)
	b, _ := next.Broker(1)
	if !b.InControlledShutdown || b.Fenced {
		t.Fatalf("broker %+v", b)
	}
	if p := next.mustPartition(t, "t", 0); p.Leader != 2 || !slices.Equal(p.ISR, []int32{2}) {
		t.Fatalf("partition %+v", p)
	}
	// Where the broker only follows, the ISR shrinks and the leader keeps
	// its leader epoch (KAFKA-15021): its clients are not fenced.
	img = replayAll(t, img, part(id, 1, 2, 2, 1))
	before := img.mustPartition(t, "t", 1)
	recs, err = ControlledShutdown(img, 1, 101)
	if err != nil {
		t.Fatal(err)
	}
	next = replayAll(t, img, recs...)
	if p := next.mustPartition(t, "t", 1); p.Leader != 2 || p.LeaderEpoch != before.LeaderEpoch ||
		p.PartitionEpoch != before.PartitionEpoch+1 || !slices.Equal(p.ISR, []int32{2}) {
		t.Fatalf("followed partition %+v, was %+v", p, before)
	}
	if _, err := ControlledShutdown(img, 1, 1); !errors.Is(err, ErrStaleBrokerEpoch) {
		t.Fatal(err)
	}
}

func TestAllocateProducerIDs(t *testing.T) {
	img := EmptyImage()
	var firsts []int64
	for i := 0; i < 3; i++ {
		first, count, recs := AllocateProducerIDs(img, 1, 5)
		if count != ProducerIDBlockSize || len(recs) != 1 {
			t.Fatalf("count %d recs %v", count, recs)
		}
		firsts = append(firsts, first)
		img = replayAll(t, img, recs...)
	}
	if !slices.Equal(firsts, []int64{0, 1000, 2000}) || img.NextProducerID() != 3000 {
		t.Fatalf("firsts %v next %d", firsts, img.NextProducerID())
	}
	exhausted := replayAll(t, EmptyImage(), &ProducerIdsRecord{NextProducerID: 1<<63 - 500})
	if _, count, recs := AllocateProducerIDs(exhausted, 1, 5); count != 0 || recs != nil {
		t.Fatal("exhausted id space handed out a block")
	}
}

func TestAlterPartition(t *testing.T) {
	img := cluster(t, 4, 3)
	id := testID(0x72)
	img = replayAll(t, img, &TopicRecord{Name: "t", TopicID: id}, part(id, 0, 1, 1, 2, 3),
		&PartitionChangeRecord{TopicID: id, ISR: []int32{1}, Leader: -2, LeaderRecoveryState: -1})
	// Now: replicas [1,2,3], ISR [1], leader 1, leader epoch 0, partition epoch 1.
	base := AlterPartitionRequest{BrokerID: 1, BrokerEpoch: 101, TopicID: id, Partition: 0, LeaderEpoch: 0,
		NewISR: []int32{1, 2}, PartitionEpoch: 1}
	reg, recs, err := AlterPartition(img, base)
	if err != nil || len(recs) != 1 || !slices.Equal(reg.ISR, []int32{1, 2}) || reg.PartitionEpoch != 2 {
		t.Fatalf("expand: %+v %v %v", reg, recs, err)
	}
	next := replayAll(t, img, recs...)
	if got := next.mustPartition(t, "t", 0); !got.Equal(reg) {
		t.Fatalf("image %+v vs response %+v", got, reg)
	}
	tests := []struct {
		name string
		mod  func(r *AlterPartitionRequest)
		want error
	}{
		{"stale broker epoch", func(r *AlterPartitionRequest) { r.BrokerEpoch = 1 }, ErrStaleBrokerEpoch},
		{"unknown partition", func(r *AlterPartitionRequest) { r.Partition = 5 }, ErrUnknownPartition},
		{"not leader", func(r *AlterPartitionRequest) { r.BrokerID, r.BrokerEpoch = 2, 102 }, ErrNotLeader},
		{"fenced leader epoch", func(r *AlterPartitionRequest) { r.LeaderEpoch = 3 }, ErrFencedLeaderEpoch},
		{"stale partition epoch", func(r *AlterPartitionRequest) { r.PartitionEpoch = 0 }, ErrInvalidUpdateEpoch},
		{"fenced member", func(r *AlterPartitionRequest) { r.NewISR = []int32{1, 3} }, ErrIneligibleReplica},
		{"not a replica", func(r *AlterPartitionRequest) { r.NewISR = []int32{1, 0} }, ErrIneligibleReplica},
		{"no leader in isr", func(r *AlterPartitionRequest) { r.NewISR = []int32{2} }, ErrInvalidRequest},
	}
	for _, tt := range tests {
		req := base
		tt.mod(&req)
		if _, _, err := AlterPartition(img, req); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	// Same ISR with a stale partition epoch: answered with current state.
	req := base
	req.NewISR, req.PartitionEpoch = []int32{1}, 0
	if reg, recs, err := AlterPartition(img, req); err != nil || recs != nil || reg.PartitionEpoch != 1 {
		t.Fatalf("idempotent: %+v %v %v", reg, recs, err)
	}
}

func TestControllerConfigValidate(t *testing.T) {
	if err := DefaultControllerConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	err := ControllerConfig{DefaultNumPartitions: 0, DefaultReplicationFactor: 1}.Validate()
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "num.partitions") {
		t.Fatal(err)
	}
	err = ControllerConfig{DefaultNumPartitions: 1}.Validate()
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "default.replication.factor") {
		t.Fatal(err)
	}
}
