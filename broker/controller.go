package broker

import (
	"context"

	"github.com/zkraft/zkraft/metadata"
)

// Controller is the broker's view of the active controller: the small set of
// writes a broker forwards on behalf of clients. It is implemented by the
// quorum (its client, in process.roles=broker) and by the ZooKeeper backend
// (metadata/zk); the broker never imports them.
//
// Contract:
//   - Every method may block on the network and must return once ctx is done.
//   - CreateTopics and DeleteTopics return one error per input, in input
//     order (nil = success). They return only after the resulting records
//     have been applied to this node's image, so a Metadata request that
//     follows sees the change. Errors are typed metadata errors (wrapped with
//     %w) or a *kerr.Error the implementation chose; anything else becomes
//     UNKNOWN_SERVER_ERROR at the handler edge.
//   - validateOnly = true runs every check and writes nothing.
//   - AllocateProducerIDs hands this broker a fresh block [first, first+count)
//     of producer ids that no other broker will ever receive.
//   - Safe for concurrent use.
type Controller interface {
	CreateTopics(ctx context.Context, specs []metadata.CreateTopicSpec, validateOnly bool) []error
	DeleteTopics(ctx context.Context, names []string) []error
	AllocateProducerIDs(ctx context.Context, brokerID int32) (first int64, count int64, err error)
}

// ControlledShutdowner is the optional half of Controller that a
// ZooKeeper-mode controller implements: Kafka's ControlledShutdown (api key
// 7), which a broker sends to the controller before it stops. In quorum
// mode controlled shutdown rides on heartbeats instead, so the key is only
// served (and advertised by ApiVersions) when the controller implements it.
//
// Contract:
//   - ControlledShutdown moves leadership of every partition brokerID leads
//     (with another usable ISR member) to that member and takes brokerID out
//     of the ISRs it follows in, then returns the partitions it still leads.
//     It returns once those writes are done; the broker asks again until
//     nothing remains or it gives up.
//   - Errors wrap metadata.ErrNotController (this broker is not the
//     controller), metadata.ErrUnknownBroker / ErrStaleBrokerEpoch (brokerID
//     is not registered with brokerEpoch), or the write's error.
//   - Must return once ctx is done; safe for concurrent use.
type ControlledShutdowner interface {
	ControlledShutdown(ctx context.Context, brokerID int32, brokerEpoch int64) ([]metadata.TopicPartition, error)
}

// SecurityController is the optional part of Controller that writes
// security metadata: ACLs and SCRAM credentials (CreateAcls 30, DeleteAcls
// 31, AlterUserScramCredentials 51). A quorum-mode broker forwards them to
// the active controller, a ZooKeeper-mode broker writes the znodes itself,
// a migrating broker forwards to the quorum once it took over. The keys are
// served (and advertised by ApiVersions) only when the controller
// implements it.
//
// Contract:
//   - Each method validates with metadata's pure logic (CreateAcls,
//     DeleteAcls, AlterScramCredentials) against the controller's view and
//     returns once the resulting records have reached this node's image, so
//     a Describe that follows sees the change.
//   - CreateAcls returns one error per binding, in input order (nil =
//     created or already present).
//   - DeleteAcls returns one result per filter, in input order: the ACLs it
//     matched (ids may be zero when the controller does not report them) or
//     its error.
//   - AlterScramCredentials returns one result per user named, in the order
//     metadata.ScramUsers gives (deletions first, then upsertions).
//   - A failed call (controller unreachable, ctx done) reports its error in
//     every result. Must return once ctx is done; safe for concurrent use.
type SecurityController interface {
	CreateAcls(ctx context.Context, bindings []metadata.AclBinding) []error
	DeleteAcls(ctx context.Context, filters []metadata.AclFilter) []metadata.DeleteAclsResult
	AlterScramCredentials(ctx context.Context, deletions []metadata.ScramDeletion, upsertions []metadata.ScramUpsertion) []metadata.ScramAlterResult
}

// QuotaController is the optional part of Controller that writes client
// quotas (AlterClientQuotas, key 49), routed as SecurityController's
// writes: the quorum's controller writes ClientQuotaRecords, a
// ZooKeeper-mode broker the entity's /config/<type>/<name> znode with a
// /config/changes notification. Key 49 is served only when the
// controller implements it.
//
// Contract: AlterClientQuotas validates each entry with
// metadata.AlterClientQuotas (validateOnly: nothing is written) and
// returns one error per entry, in input order, once this node's image
// shows the result; a failed call reports its error for every entry.
// Must return once ctx is done; safe for concurrent use.
type QuotaController interface {
	AlterClientQuotas(ctx context.Context, alts []metadata.QuotaAlteration, validateOnly bool) []error
}

// ConfigController is the optional part of Controller that writes topic
// and broker configs (IncrementalAlterConfigs 44, AlterConfigs 33),
// routed as QuotaController's writes: the quorum's active controller
// writes ConfigRecords, a ZooKeeper-mode broker /config/topics/<t> or
// /config/brokers/<id|<default>> with a /config/changes notification.
// Keys 33 and 44 are served only when the controller implements it.
//
// Contract: AlterConfigs validates each alteration with
// metadata.AlterConfigs (validateOnly: nothing is written) and returns
// one error per alteration, in input order, once this node's image shows
// the result; a failed call reports its error for every alteration.
// Must return once ctx is done; safe for concurrent use.
type ConfigController interface {
	AlterConfigs(ctx context.Context, alts []metadata.ConfigAlteration, validateOnly bool) []error
}

// PartitionController is the optional part of Controller that changes
// partitions: CreatePartitions (37) and ElectLeaders (43). A quorum-mode
// broker forwards both to the active controller (PartitionRecords,
// PartitionChangeRecords); a ZooKeeper-mode broker rewrites
// /brokers/topics/<t> (the controller creates the new states) and hands
// elections to the ZooKeeper controller (/admin/preferred_replica_election,
// or the controller broker for UNCLEAN); a migrating broker routes them as
// its other writes. The keys are served only when the controller
// implements it.
//
// Contract:
//   - CreatePartitions validates each spec with metadata.CreatePartitions
//     against the controller's view, returns one error per spec in input
//     order, and (unless validateOnly, which writes nothing) returns once
//     this node's image holds the new partitions.
//   - ElectLeaders runs metadata.ElectLeaders (parts nil = every
//     partition; those needing no election are then left out) and returns
//     one result per partition once this node's image shows the new
//     leaders; a failed call reports its error in every result.
//   - Must return once ctx is done; safe for concurrent use.
type PartitionController interface {
	CreatePartitions(ctx context.Context, specs []metadata.CreatePartitionsSpec, validateOnly bool) []error
	ElectLeaders(ctx context.Context, typ metadata.ElectionType, parts []metadata.TopicPartition) []metadata.ElectionResult
}
