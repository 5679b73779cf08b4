package metadata

import (
	"slices"
	"testing"
)

// TestUncleanElection: brokers 1,2,3; partition [1,2,3] whose ISR shrank to
// {1,2} (broker 3 lagged). Fencing 2 then 1 leaves no usable ISR member:
// with unclean.leader.election.enable (cluster default or topic config)
// broker 3 leads with ISR {3} and LeaderRecoveryState RECOVERING; without
// it the partition stays offline with ISR {1}. Unfencing an out-of-sync
// replica of an offline partition elects it the same way. The leader's
// first ISR change marks the partition RECOVERED.
func TestUncleanElection(t *testing.T) {
	id := testID(0x80)
	base := func(topicCfg string, fenced ...int32) *Image {
		img := replayAll(t, cluster(t, 4), &TopicRecord{Name: "t", TopicID: id}, part(id, 0, 1, 1, 2, 3),
			&PartitionChangeRecord{TopicID: id, PartitionID: 0, ISR: []int32{1, 2}, Leader: NoLeaderChange, LeaderRecoveryState: NoLeaderRecoveryStateChange})
		if topicCfg != "" {
			v := topicCfg
			img = replayAll(t, img, &ConfigRecord{ResourceType: TopicResource, ResourceName: "t", Name: UncleanLeaderElectionKey, Value: &v})
		}
		for _, b := range fenced {
			img = replayAll(t, img, &BrokerRegistrationChangeRecord{BrokerID: b, BrokerEpoch: int64(100 + b), Fenced: FenceFence})
		}
		return img
	}
	for _, tc := range []struct {
		name       string
		clusterDef bool
		topicCfg   string
		fenced     []int32 // before fencing 2 then 1
		wantLeader int32
		wantISR    []int32
	}{
		{name: "disabled: offline", wantLeader: NoLeader, wantISR: []int32{1}},
		{name: "cluster default", clusterDef: true, wantLeader: 3, wantISR: []int32{3}},
		{name: "topic config", topicCfg: "true", wantLeader: 3, wantISR: []int32{3}},
		{name: "topic overrides default", clusterDef: true, topicCfg: "false", wantLeader: NoLeader, wantISR: []int32{1}},
		{name: "no usable replica", clusterDef: true, fenced: []int32{3}, wantLeader: NoLeader, wantISR: []int32{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ControllerConfig{UncleanLeaderElection: tc.clusterDef}
			img := base(tc.topicCfg, tc.fenced...)
			img = replayAll(t, img, FenceBrokerWith(img, 2, cfg)...)
			if p := img.mustPartition(t, "t", 0); p.Leader != 1 || p.LeaderRecoveryState != LeaderRecovered {
				t.Fatalf("after fencing 2: %+v (ISR member 1 must lead cleanly)", p)
			}
			recs := FenceBrokerWith(img, 1, cfg)
			img = replayAll(t, img, recs...)
			p := img.mustPartition(t, "t", 0)
			if p.Leader != tc.wantLeader || !slices.Equal(p.ISR, tc.wantISR) {
				t.Fatalf("after fencing 1: leader %d ISR %v, want %d %v", p.Leader, p.ISR, tc.wantLeader, tc.wantISR)
			}
			unclean := UncleanElections(recs)
			if wantUnclean := tc.wantLeader != NoLeader; (len(unclean) == 1) != wantUnclean ||
				(wantUnclean && (p.LeaderRecoveryState != LeaderRecovering || unclean[0].Leader != tc.wantLeader)) {
				t.Fatalf("unclean elections %v, state %d", unclean, p.LeaderRecoveryState)
			}
		})
	}

	t.Run("unfence of an out-of-sync replica", func(t *testing.T) {
		// Broker 3 is fenced too while 2 and 1 go: nobody can lead. When
		// 3 returns it leads uncleanly; without the config it stays a
		// follower of an offline partition.
		for _, enabled := range []bool{false, true} {
			cfg := ControllerConfig{UncleanLeaderElection: enabled}
			img := base("", 3)
			img = replayAll(t, img, FenceBrokerWith(img, 2, cfg)...)
			img = replayAll(t, img, FenceBrokerWith(img, 1, cfg)...)
			if p := img.mustPartition(t, "t", 0); p.Leader != NoLeader {
				t.Fatalf("enabled=%v: leader %d with every replica fenced", enabled, p.Leader)
			}
			recs, err := UnfenceBrokerWith(img, 3, 103, cfg)
			if err != nil {
				t.Fatal(err)
			}
			img = replayAll(t, img, recs...)
			p := img.mustPartition(t, "t", 0)
			if enabled != (p.Leader == 3 && slices.Equal(p.ISR, []int32{3}) && len(UncleanElections(recs)) == 1) {
				t.Fatalf("enabled=%v: after unfencing 3: %+v", enabled, p)
			}
			if !enabled {
				if p.Leader != NoLeader || !slices.Equal(p.ISR, []int32{1}) {
					t.Fatalf("clean: %+v", p)
				}
				continue
			}
			// The new leader brings 1 back (after unfencing it): RECOVERED.
			img = replayAll(t, img, &BrokerRegistrationChangeRecord{BrokerID: 1, BrokerEpoch: 101, Fenced: FenceUnfence})
			next, recs, err := AlterPartition(img, AlterPartitionRequest{BrokerID: 3, BrokerEpoch: 103, TopicID: id,
				LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, NewISR: []int32{3, 1}})
			if err != nil {
				t.Fatal(err)
			}
			img = replayAll(t, img, recs...)
			if got := img.mustPartition(t, "t", 0); !got.Equal(next) || got.LeaderRecoveryState != LeaderRecovered {
				t.Fatalf("after ISR expansion %+v (answer %+v)", got, next)
			}
		}
	})
}

func TestUncleanEnabled(t *testing.T) {
	for _, tc := range []struct {
		value string // "" = unset
		def   bool
		want  bool
	}{
		{"", false, false}, {"", true, true}, {"true", false, true}, {"TRUE", false, true},
		{"false", true, false}, {" False ", true, false}, {"bogus", true, true},
	} {
		img := EmptyImage()
		if tc.value != "" {
			v := tc.value
			img = replayAll(t, img, &ConfigRecord{ResourceType: TopicResource, ResourceName: "t", Name: UncleanLeaderElectionKey, Value: &v})
		}
		if got := UncleanEnabled(img, "t", tc.def); got != tc.want {
			t.Errorf("value %q default %v: %v, want %v", tc.value, tc.def, got, tc.want)
		}
	}
}
