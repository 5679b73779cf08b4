package broker

// ApiVersions (key 18), versions 0-3.
//
// Answers the table of API keys and version ranges this broker implements
// (apiRanges below, which is also what Versions hands the network server so
// it can refuse anything else before a handler sees it). A request newer
// than v3 never reaches this handler: the network server answers it with
// UNSUPPORTED_VERSION and the key list at v0, as KIP-511 prescribes, and the
// client retries at the version we name. The ranges were chosen so that
// librdkafka 2.0 (kcat 1.7) and franz-go v1.22 negotiate a version every
// handler here implements; each is at most kmsg's MaxVersion for the key.
//
// v3+ answers carry the features (KIP-584): SupportedFeatures
// transaction.version 0-2, and FinalizedFeatures transaction.version at
// zkraft.transaction.version when that is above 0 (Kafka lists no feature
// at level 0), with FinalizedFeaturesEpoch 0 (the level is configuration,
// not a metadata record, so it has no history; franz-go reads the
// finalized features only when the epoch is not -1). As in Kafka 4.0 the
// KIP-890 part 2 versions (Produce v12, EndTxn v5, TxnOffsetCommit v5) are
// listed whatever the level: the request's version picks the protocol,
// and clients use them only when the finalized level is 2.

import (
	"context"
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

// apiRanges: key -> [min, max]. Add a key only together with its handler.
var apiRanges = map[int16][2]int16{
	0:  {3, 12}, // Produce: v3 is the first with record batches; v12 = KIP-890 part 2 (implicit add), v13 topic ids
	1:  {4, 13}, // Fetch: v4 is the first with record batches; v13 = topic ids
	2:  {1, 7},  // ListOffsets: v8+ adds tiered-storage timestamps
	3:  {1, 12}, // Metadata: v13 adds a top-level error code only
	7:  {1, 3},  // ControlledShutdown (ZooKeeper mode only, see servesKey): v0 has a non-standard header
	8:  {0, 8},  // OffsetCommit: v9+ = KIP-848 member epochs
	9:  {0, 8},  // OffsetFetch: v9+ = KIP-848 member epochs
	10: {0, 4},  // FindCoordinator: v5+ = KIP-890 / share groups
	11: {0, 9},  // JoinGroup
	12: {0, 4},  // Heartbeat
	13: {0, 5},  // LeaveGroup
	14: {0, 5},  // SyncGroup
	15: {0, 5},  // DescribeGroups: v6 adds an error message only
	16: {0, 5},  // ListGroups
	18: {0, 3},  // ApiVersions
	19: {2, 7},  // CreateTopics
	20: {1, 6},  // DeleteTopics
	21: {0, 2},  // DeleteRecords (on the partition leader)
	22: {0, 4},  // InitProducerId: v5 = KIP-890 txns
	23: {2, 4},  // OffsetForLeaderEpoch: v2 = current leader epoch (KIP-320), v3 = replica id
	24: {0, 5},  // AddPartitionsToTxn: v4+ batched, broker-to-broker (KIP-890 verification)
	25: {0, 4},  // AddOffsetsToTxn
	26: {0, 5},  // EndTxn: v5 = KIP-890 part 2 (epoch bump per transaction)
	27: {0, 1},  // WriteTxnMarkers: v2 = KIP-890 transaction version
	28: {0, 5},  // TxnOffsetCommit: v5 = KIP-890 part 2 (implicit AddOffsetsToTxn)
	29: {0, 3},  // DescribeAcls
	30: {0, 3},  // CreateAcls (with a SecurityController, see servesKey)
	31: {0, 3},  // DeleteAcls (with a SecurityController)
	32: {1, 4},  // DescribeConfigs
	33: {0, 2},  // AlterConfigs (with a ConfigController)
	35: {1, 4},  // DescribeLogDirs: v0 is 1.x's, v4 adds the directory's bytes
	37: {0, 3},  // CreatePartitions (with a PartitionController)
	42: {0, 2},  // DeleteGroups
	44: {0, 1},  // IncrementalAlterConfigs (with a ConfigController)
	43: {0, 2},  // ElectLeaders (with a PartitionController)
	45: {0, 0},  // AlterPartitionReassignments (with a ReassignController)
	46: {0, 0},  // ListPartitionReassignments (with a ReassignController)
	47: {0, 0},  // OffsetDelete
	48: {0, 1},  // DescribeClientQuotas
	49: {0, 1},  // AlterClientQuotas (with a QuotaController)
	50: {0, 0},  // DescribeUserScramCredentials
	51: {0, 0},  // AlterUserScramCredentials (with a SecurityController)
	60: {0, 1},  // DescribeCluster: v2 (include fenced brokers) is Kafka 4.0's
	61: {0, 0},  // DescribeProducers (KIP-664)
	65: {0, 0},  // DescribeTransactions
	66: {0, 1},  // ListTransactions: v1 = duration filter (KIP-994), v2 = id pattern
}

// TransactionVersionFeature is Kafka's feature name for the transaction
// protocol level (KIP-890 part 2 at 2); MaxTransactionVersion the highest
// level this broker supports.
const (
	TransactionVersionFeature       = "transaction.version"
	MaxTransactionVersion     int16 = 2
)

var _ network.Versioner = (*Broker)(nil)

// Versions implements network.Versioner: the api keys this broker serves
// and the [min, max] version range of each. The map is a fresh copy.
func (b *Broker) Versions() map[int16][2]int16 {
	out := make(map[int16][2]int16, len(apiRanges))
	for k, v := range apiRanges {
		if b.servesKey(k) {
			out[k] = v
		}
	}
	return out
}

// servesKey: every key of apiRanges, except ControlledShutdown (7) unless
// the controller implements ControlledShutdowner (ZooKeeper mode), and the
// security writes (30, 31, 51) unless it implements SecurityController,
// AlterClientQuotas (49) unless it implements QuotaController,
// AlterConfigs / IncrementalAlterConfigs (33, 44) unless it implements
// ConfigController, the reassignment keys (45, 46) unless it implements
// ReassignController, and CreatePartitions (37) and ElectLeaders (43)
// unless it implements PartitionController.
func (b *Broker) servesKey(key int16) bool {
	if _, ok := apiRanges[key]; !ok {
		return false
	}
	switch key {
	case 7:
		_, ok := b.ctrl.(ControlledShutdowner)
		return ok
	case 30, 31, 51:
		_, ok := b.ctrl.(SecurityController)
		return ok
	case 49:
		_, ok := b.ctrl.(QuotaController)
		return ok
	case 33, 44:
		_, ok := b.ctrl.(ConfigController)
		return ok
	case 45, 46:
		_, ok := b.ctrl.(ReassignController)
		return ok
	case 37, 43:
		_, ok := b.ctrl.(PartitionController)
		return ok
	}
	return true
}

// versionRange reports the range this broker serves for key.
func (b *Broker) versionRange(key int16) (lo, hi int16, ok bool) {
	r := apiRanges[key]
	return r[0], r[1], b.servesKey(key)
}

func (b *Broker) handleApiVersions(_ context.Context, _ *network.Request, req *kmsg.ApiVersionsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	keys := make([]int16, 0, len(apiRanges))
	for k := range apiRanges {
		if b.servesKey(k) {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, k := range keys {
		ak := kmsg.NewApiVersionsResponseApiKey()
		ak.ApiKey, ak.MinVersion, ak.MaxVersion = k, apiRanges[k][0], apiRanges[k][1]
		resp.ApiKeys = append(resp.ApiKeys, ak)
	}
	if req.Version >= 3 {
		sf := kmsg.NewApiVersionsResponseSupportedFeature()
		sf.Name, sf.MinVersion, sf.MaxVersion = TransactionVersionFeature, 0, MaxTransactionVersion
		resp.SupportedFeatures = append(resp.SupportedFeatures, sf)
		resp.FinalizedFeaturesEpoch = 0
		if lvl := b.cfg.TransactionVersion; lvl > 0 {
			ff := kmsg.NewApiVersionsResponseFinalizedFeature()
			ff.Name, ff.MinVersionLevel, ff.MaxVersionLevel = TransactionVersionFeature, lvl, lvl
			resp.FinalizedFeatures = append(resp.FinalizedFeatures, ff)
		}
	}
	return resp, nil
}
