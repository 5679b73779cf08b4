package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkraft/zkraft/metadata"
)

// The gauges below are computed at scrape time from the node's state (its
// metadata image, the raft node, the ZooKeeper session) rather than kept
// up to date on hot paths: a scrape walks the image once per collector.

// BrokerState is where a broker's scrape-time gauges come from. Image is
// required; the other funcs may be nil. They are called from the scrape
// goroutine, concurrently with everything else, so they must be safe for
// that (an atomic image load, a locked snapshot).
type BrokerState struct {
	NodeID int32
	// MinInsyncReplicas is the broker's min.insync.replicas, which a
	// topic's min.insync.replicas config overrides.
	MinInsyncReplicas int32
	Image             func() *metadata.Image
	// Groups is the group coordinator's view: groups per state (Kafka's
	// GroupState names) and rebalances completed since start.
	Groups func() (byState map[string]int, rebalances int64)
	// Logs calls yield once per local partition log.
	Logs func(yield func(LogStats))
}

// LogStats is one local partition log.
type LogStats struct {
	Topic                  string
	Partition              int32
	Size                   int64
	StartOffset, EndOffset int64
}

// ControllerState is where a controller's gauges come from: a quorum
// voter, or in ZooKeeper mode a broker (each is a controller candidate).
// As in Kafka, only the active controller reports the cluster-wide counts;
// the others report 0.
type ControllerState struct {
	Image  func() *metadata.Image
	Active func() bool
	// MigrationState, when set, overrides the image's KIP-866 state: a
	// ZooKeeper-mode controller reports ZK (4), as Kafka's does.
	MigrationState func() int8
}

// RaftStats is one voter's view of the metadata log (hashicorp/raft's
// Stats, in Kafka's terms: offsets are raft indexes).
type RaftStats struct {
	State                  string // Leader, Follower, Candidate, Shutdown
	Term                   uint64
	Leader                 int32 // -1 unknown
	CommitIndex, LastIndex uint64
	AppliedIndex           uint64
	// Replicas is, on the leader only, each voter's and observer's (a
	// broker following the log) log end offset as last heard.
	Replicas []RaftReplica
}

// RaftReplica is one node the leader tracks.
type RaftReplica struct {
	ID     int32
	Voter  bool
	LogEnd int64 // -1 unknown
}

// ZooKeeperState is a ZooKeeper-mode node's session.
type ZooKeeperState struct {
	// SessionState is go-zookeeper's state name (StateHasSession,
	// StateDisconnected, StateExpired, ...).
	SessionState func() string
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	underReplicated = desc("kafka_server_replicamanager_underreplicatedpartitions",
		"Partitions this broker leads whose ISR is smaller than their replica set (ReplicaManager UnderReplicatedPartitions).")
	underMinISR = desc("kafka_server_replicamanager_underminisrpartitioncount",
		"Partitions this broker leads whose ISR is below min.insync.replicas: acks=all produce fails (ReplicaManager UnderMinIsrPartitionCount).")
	atMinISR = desc("kafka_server_replicamanager_atminisrpartitioncount",
		"Partitions this broker leads whose ISR is exactly min.insync.replicas (ReplicaManager AtMinIsrPartitionCount).")
	leaderCount = desc("kafka_server_replicamanager_leadercount",
		"Partitions this broker leads (ReplicaManager LeaderCount).")
	partitionCount = desc("kafka_server_replicamanager_partitioncount",
		"Partitions this broker holds a replica of (ReplicaManager PartitionCount).")
	brokerMetadataOffset = desc("kafka_server_broker_metadata_metrics_last_applied_record_offset",
		"Offset of the last metadata record in this broker's image (broker-metadata-metrics last-applied-record-offset); in ZooKeeper mode the image's own counter.")
	brokerFenced = desc("kafka_server_kafkaserver_fenced",
		"1 while this broker's registration is fenced or missing from its image.")
	numGroups = desc("kafka_coordinator_group_groupmetadatamanager_numgroups",
		"Groups this broker coordinates (GroupMetadataManager NumGroups).")
	numGroupsState = map[string]*prometheus.Desc{}
	rebalances     = desc("kafka_server_group_coordinator_metrics_group_completed_rebalance_total",
		"Rebalances completed by groups this broker coordinates (group-coordinator-metrics group-completed-rebalance-count).")
	logSize  = desc("kafka_log_log_size", "Bytes of a local partition log (Log Size).", "topic", "partition")
	logStart = desc("kafka_log_log_logstartoffset", "Log start offset of a local partition log (Log LogStartOffset).", "topic", "partition")
	logEnd   = desc("kafka_log_log_logendoffset", "Log end offset of a local partition log (Log LogEndOffset).", "topic", "partition")

	activeController = desc("kafka_controller_kafkacontroller_activecontrollercount",
		"1 on the active controller, 0 elsewhere (KafkaController ActiveControllerCount); the cluster sum must be 1.")
	offlinePartitions = desc("kafka_controller_kafkacontroller_offlinepartitionscount",
		"Partitions without a leader, on the active controller (KafkaController OfflinePartitionsCount).")
	globalTopics = desc("kafka_controller_kafkacontroller_globaltopiccount",
		"Topics in the cluster, on the active controller (KafkaController GlobalTopicCount).")
	globalPartitions = desc("kafka_controller_kafkacontroller_globalpartitioncount",
		"Partitions in the cluster, on the active controller (KafkaController GlobalPartitionCount).")
	activeBrokers = desc("kafka_controller_kafkacontroller_activebrokercount",
		"Registered unfenced brokers, on the active controller (KafkaController ActiveBrokerCount).")
	fencedBrokers = desc("kafka_controller_kafkacontroller_fencedbrokercount",
		"Registered fenced brokers, on the active controller (KafkaController FencedBrokerCount).")
	migrationState = desc("kafka_controller_kafkacontroller_zkmigrationstate",
		"KIP-866 ZkMigrationState of the metadata: 0 NONE, 1 MIGRATION, 2 PRE_MIGRATION, 3 POST_MIGRATION, 4 ZK (ZooKeeper mode), 5 REVERSE_MIGRATION (zkraft's).")

	raftEpoch     = desc("kafka_server_raftmetrics_current_epoch", "Raft term (raft-metrics current-epoch).")
	raftLeader    = desc("kafka_server_raftmetrics_current_leader", "Node id of the raft leader, -1 unknown (raft-metrics current-leader).")
	raftState     = desc("kafka_server_raftmetrics_current_state", "1 for this voter's raft state (raft-metrics current-state).", "state")
	raftHW        = desc("kafka_server_raftmetrics_high_watermark", "Metadata log high watermark: commit index + 1 (raft-metrics high-watermark).")
	raftLogEnd    = desc("kafka_server_raftmetrics_log_end_offset", "Metadata log end offset: last index + 1 (raft-metrics log-end-offset).")
	lastApplied   = desc("kafka_controller_kafkacontroller_lastappliedrecordoffset", "Last metadata log index this controller applied (KafkaController LastAppliedRecordOffset).")
	lastCommitted = desc("kafka_controller_kafkacontroller_lastcommittedrecordoffset", "Last committed metadata log index (KafkaController LastCommittedRecordOffset).")
	replicaLogEnd = desc("kafka_server_raftmetrics_replica_log_end_offset",
		"On the raft leader: each voter's and observer's metadata log end offset as last heard (DescribeQuorum LogEndOffset).", "node", "role")
	replicaLag = desc("kafka_server_raftmetrics_replica_lag",
		"On the raft leader: records each voter and observer is behind the high watermark (kafka-metadata-quorum.sh --replication Lag).", "node", "role")

	zkSession = desc("kafka_server_sessionexpirelistener_sessionstate",
		"1 for the ZooKeeper session's state (SessionExpireListener SessionState).", "state")
)

// groupStates are Kafka's GroupState names, in NumGroups<State> metric order.
var groupStates = []string{"PreparingRebalance", "CompletingRebalance", "Stable", "Dead", "Empty"}

func init() {
	for _, s := range groupStates {
		numGroupsState[s] = desc("kafka_coordinator_group_groupmetadatamanager_numgroups"+lower(s),
			"Groups in state "+s+" (GroupMetadataManager NumGroups"+s+").")
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// collector adapts describe/collect funcs to prometheus.Collector.
type collector struct {
	descs   []*prometheus.Desc
	collect func(ch chan<- prometheus.Metric)
}

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

// AddBroker registers the broker gauges of s. Fetch responses that name
// topics by id only are counted under the name s.Image gives them.
func (r *Registry) AddBroker(s BrokerState) error {
	r.images.Store(&s.Image)
	descs := []*prometheus.Desc{underReplicated, underMinISR, atMinISR, leaderCount, partitionCount,
		brokerMetadataOffset, brokerFenced, numGroups, rebalances, logSize, logStart, logEnd}
	for _, s := range groupStates {
		descs = append(descs, numGroupsState[s])
	}
	return r.reg.Register(collector{descs, func(ch chan<- prometheus.Metric) { collectBroker(ch, s) }})
}

func collectBroker(ch chan<- prometheus.Metric, s BrokerState) {
	img := s.Image()
	p := PartitionCounts(img, s.NodeID, s.MinInsyncReplicas)
	gauge(ch, underReplicated, float64(p.UnderReplicated))
	gauge(ch, underMinISR, float64(p.UnderMinISR))
	gauge(ch, atMinISR, float64(p.AtMinISR))
	gauge(ch, leaderCount, float64(p.Leaders))
	gauge(ch, partitionCount, float64(p.Replicas))
	gauge(ch, brokerMetadataOffset, float64(img.Offset()))
	fenced := 1.0
	if reg, ok := img.Broker(s.NodeID); ok && !reg.Fenced {
		fenced = 0
	}
	gauge(ch, brokerFenced, fenced)
	if s.Groups != nil {
		byState, n := s.Groups()
		total := 0
		for _, c := range byState {
			total += c
		}
		gauge(ch, numGroups, float64(total))
		for _, st := range groupStates {
			gauge(ch, numGroupsState[st], float64(byState[st]))
		}
		ch <- prometheus.MustNewConstMetric(rebalances, prometheus.CounterValue, float64(n))
	}
	if s.Logs != nil {
		s.Logs(func(l LogStats) {
			part := strconv.Itoa(int(l.Partition))
			gauge(ch, logSize, float64(l.Size), l.Topic, part)
			gauge(ch, logStart, float64(l.StartOffset), l.Topic, part)
			gauge(ch, logEnd, float64(l.EndOffset), l.Topic, part)
		})
	}
}

// Partitions are the per-broker partition counts of PartitionCounts.
type Partitions struct {
	Leaders, Replicas                      int
	UnderReplicated, UnderMinISR, AtMinISR int
}

// PartitionCounts counts, in img, the partitions node holds a replica of
// and those it leads, and of those it leads the ones with an ISR smaller
// than the replica set, below and at min.insync.replicas (the topic's
// config, else the dynamic broker value, else minISR).
func PartitionCounts(img *metadata.Image, node, minISR int32) Partitions {
	var p Partitions
	if v, _, ok := metadata.BrokerConfigValue(img, node, "min.insync.replicas"); ok {
		if n, err := strconv.ParseInt(v, 10, 32); err == nil && n > 0 {
			minISR = int32(n)
		}
	}
	for _, t := range img.Topics() {
		min := minISR
		if v, ok := img.Configs(metadata.TopicResource, t.Name)["min.insync.replicas"]; ok {
			if n, err := strconv.ParseInt(v, 10, 32); err == nil && n > 0 {
				min = int32(n)
			}
		}
		for _, reg := range t.Partitions {
			if reg.HasReplica(node) {
				p.Replicas++
			}
			if reg.Leader != node {
				continue
			}
			p.Leaders++
			isr := int32(len(reg.ISR))
			if len(reg.ISR) < len(reg.Replicas) {
				p.UnderReplicated++
			}
			switch {
			case isr < min:
				p.UnderMinISR++
			case isr == min:
				p.AtMinISR++
			}
		}
	}
	return p
}

// ZkMigrationZK is KIP-866's ZkMigrationState of a ZooKeeper-mode
// controller (not in the metadata records, which stop at 3 in Kafka).
const ZkMigrationZK int8 = 4

// AddController registers the controller gauges of s.
func (r *Registry) AddController(s ControllerState) error {
	descs := []*prometheus.Desc{activeController, offlinePartitions, globalTopics, globalPartitions,
		activeBrokers, fencedBrokers, migrationState}
	return r.reg.Register(collector{descs, func(ch chan<- prometheus.Metric) {
		img := s.Image()
		state := img.ZkMigrationState()
		if s.MigrationState != nil {
			state = s.MigrationState()
		}
		gauge(ch, migrationState, float64(state))
		if !s.Active() {
			for _, d := range descs[:len(descs)-1] {
				gauge(ch, d, 0)
			}
			return
		}
		gauge(ch, activeController, 1)
		offline, active, fenced := 0, 0, 0
		for _, t := range img.Topics() {
			for _, reg := range t.Partitions {
				if reg.Leader < 0 {
					offline++
				}
			}
		}
		for _, b := range img.Brokers() {
			if b.Fenced {
				fenced++
			} else {
				active++
			}
		}
		gauge(ch, offlinePartitions, float64(offline))
		gauge(ch, globalTopics, float64(img.TopicCount()))
		gauge(ch, globalPartitions, float64(img.PartitionCount()))
		gauge(ch, activeBrokers, float64(active))
		gauge(ch, fencedBrokers, float64(fenced))
	}})
}

// AddRaft registers the metadata log gauges of a voter; stats is called
// once per scrape.
func (r *Registry) AddRaft(stats func() RaftStats) error {
	descs := []*prometheus.Desc{raftEpoch, raftLeader, raftState, raftHW, raftLogEnd, lastApplied, lastCommitted,
		replicaLogEnd, replicaLag}
	return r.reg.Register(collector{descs, func(ch chan<- prometheus.Metric) {
		s := stats()
		gauge(ch, raftEpoch, float64(s.Term))
		gauge(ch, raftLeader, float64(s.Leader))
		gauge(ch, raftState, 1, s.State)
		hw := int64(s.CommitIndex) + 1
		gauge(ch, raftHW, float64(hw))
		gauge(ch, raftLogEnd, float64(s.LastIndex+1))
		gauge(ch, lastApplied, float64(s.AppliedIndex))
		gauge(ch, lastCommitted, float64(s.CommitIndex))
		for _, rep := range s.Replicas {
			node, role := strconv.Itoa(int(rep.ID)), "observer"
			if rep.Voter {
				role = "voter"
			}
			gauge(ch, replicaLogEnd, float64(rep.LogEnd), node, role)
			if rep.LogEnd >= 0 {
				gauge(ch, replicaLag, float64(max(hw-rep.LogEnd, 0)), node, role)
			}
		}
	}})
}

// AddZooKeeper registers the ZooKeeper session gauge of s.
func (r *Registry) AddZooKeeper(s ZooKeeperState) error {
	return r.reg.Register(collector{[]*prometheus.Desc{zkSession}, func(ch chan<- prometheus.Metric) {
		gauge(ch, zkSession, 1, s.SessionState())
	}})
}
